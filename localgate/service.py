"""Running the daemon at login: a systemd user unit on Linux, a launchd agent on macOS.

Both run `python -m localgate serve` with the interpreter localgate is
installed in (a venv or pipx install keeps working), the config file named
explicitly, and restart it when it fails. The init system is driven through
its own command (`systemctl --user`, `launchctl`), found on PATH.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from localgate.errors import DaemonError

UNIT_NAME = "localgate.service"
AGENT_LABEL = "io.localgate.daemon"
# Passed on to the service when set here: they decide which keyring it opens.
PASSED_ENV = ("PYTHON_KEYRING_BACKEND",)


@dataclass(frozen=True)
class ServiceState:
    """What the init system says about the service."""

    system: str  # "systemd" | "launchd"
    path: Path  # the unit or plist file
    installed: bool
    enabled: str  # the init system's word: "enabled", "disabled", "loaded", "not loaded"…
    active: str  # "active", "inactive", "failed", "running", "not running"…


def init_system() -> str:
    """ "systemd" or "launchd"; DaemonError saying what to do on other systems."""
    if sys.platform == "darwin":
        return "launchd"
    if sys.platform.startswith("linux") and shutil.which("systemctl"):
        return "systemd"
    raise DaemonError(
        f"no supported service manager here ({sys.platform}"
        + (", no systemctl on PATH" if sys.platform.startswith("linux") else "")
        + "): run `localgate start` from your login script instead "
        "(on Windows, a Task Scheduler task running `localgate start` at log on)"
    )


def service_command() -> list[str]:
    """The daemon's command line: the interpreter localgate is installed in."""
    return [sys.executable, "-m", "localgate", "serve"]


def service_env(config_path: Path) -> dict[str, str]:
    """The config file, named explicitly, and the keyring choice of this shell."""
    passed = {name: os.environ[name] for name in PASSED_ENV if os.environ.get(name)}
    return {"LOCALGATE_CONFIG": str(config_path), **passed}


def unit_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user" / UNIT_NAME


def agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist"


def unit_text(config_path: Path) -> str:
    """The systemd user unit: restarts on failure, started with the user's session."""
    command = " ".join(_systemd_quote(part) for part in service_command())
    environment = "".join(
        f"Environment={_systemd_quote(f'{k}={v}')}\n" for k, v in service_env(config_path).items()
    )
    return (
        "[Unit]\n"
        "Description=localgate, a local LLM gateway\n"
        "Documentation=https://pypi.org/project/localgate/\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={command}\n"
        f"{environment}"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "# SIGTERM lets running streams finish ([server] shutdown_grace)\n"
        "TimeoutStopSec=60\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def agent_plist(config_path: Path, output: Path) -> bytes:
    """The launchd agent: started at login, restarted when it exits with a failure."""
    agent = {
        "Label": AGENT_LABEL,
        "ProgramArguments": service_command(),
        "EnvironmentVariables": service_env(config_path),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "StandardOutPath": str(output),
        "StandardErrorPath": str(output),
    }
    return plistlib.dumps(agent)


def install(config_path: Path, state_dir: Path) -> tuple[Path, list[str]]:
    """Write the unit/agent and start it; (its path, the commands run)."""
    system = init_system()
    if system == "systemd":
        path = unit_path()
        _write(path, unit_text(config_path).encode())
        commands = [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", UNIT_NAME],
        ]
    else:
        path = agent_path()
        _write(path, agent_plist(config_path, Path(state_dir) / "launchd.out"))
        domain = f"gui/{os.getuid()}"
        # bootout first: bootstrap refuses a label that is already loaded.
        _run(["launchctl", "bootout", f"{domain}/{AGENT_LABEL}"], check=False)
        commands = [["launchctl", "bootstrap", domain, str(path)]]
    for command in commands:
        _run(command)
    return path, [" ".join(c) for c in commands]


def uninstall() -> tuple[Path, bool]:
    """Stop and remove the unit/agent; (its path, whether it existed)."""
    system = init_system()
    path = unit_path() if system == "systemd" else agent_path()
    existed = path.exists()
    if system == "systemd":
        _run(["systemctl", "--user", "disable", "--now", UNIT_NAME], check=False)
        path.unlink(missing_ok=True)
        _run(["systemctl", "--user", "daemon-reload"], check=False)
    else:
        _run(["launchctl", "bootout", f"gui/{os.getuid()}/{AGENT_LABEL}"], check=False)
        path.unlink(missing_ok=True)
    return path, existed


def state() -> ServiceState:
    """Ask the init system about the service."""
    system = init_system()
    if system == "systemd":
        path = unit_path()
        enabled = _run(["systemctl", "--user", "is-enabled", UNIT_NAME], check=False)
        active = _run(["systemctl", "--user", "is-active", UNIT_NAME], check=False)
        return ServiceState(
            system, path, path.exists(), enabled.stdout.strip() or "unknown",
            active.stdout.strip() or "unknown",
        )  # fmt: skip
    path = agent_path()
    printed = _run(["launchctl", "print", f"gui/{os.getuid()}/{AGENT_LABEL}"], check=False)
    if printed.returncode != 0:
        return ServiceState(system, path, path.exists(), "not loaded", "not running")
    fields = dict(
        line.strip().split(" = ", 1) for line in printed.stdout.splitlines() if " = " in line
    )
    running = fields.get("state", "unknown")
    pid = f" (pid {fields['pid']})" if "pid" in fields else ""
    return ServiceState(system, path, path.exists(), "loaded", running + pid)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _run(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DaemonError(f"`{' '.join(command)}` could not run: {exc}") from exc
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip()
        raise DaemonError(f"`{' '.join(command)}` failed ({done.returncode}): {said}")
    return done


def _systemd_quote(word: str) -> str:
    if word and all(c.isalnum() or c in "/._-=:+@" for c in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
