"""`localgate doctor`: every check a setup needs, each with what to do when it fails.

Checks run in order and never raise: each returns `Check`s. "fail" and "warn"
are problems (doctor exits non-zero); "ok" and "note" are not. Nothing here
calls an upstream: `localgate accounts test NAME` does that, on request.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from localgate.errors import LocalgateError

PROBLEMS = ("fail", "warn")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | note | warn | fail
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def run_checks(cli) -> list[Check]:
    """Every check, for the config and daemon `cli` (a CliContext) points at."""
    checks: list[Check] = []
    try:
        config = cli.load_config()
    except LocalgateError as exc:
        checks.append(Check("config", "fail", str(exc), "fix the key it names, then run doctor"))
        return checks + [check_keyring()]
    where = "exists" if config.path.exists() else "does not exist yet: defaults"
    checks.append(
        Check("config", "ok", f"{config.path} is valid ({where}; {len(config.accounts)} accounts)")
    )
    if not config.accounts:
        checks.append(
            Check(
                "accounts",
                "fail",
                "no accounts: localgate has nothing to serve with",
                "localgate accounts add NAME --provider anthropic",
            )
        )
    keyring = check_keyring()
    checks.append(keyring)
    for account in config.accounts:
        checks.append(check_secret(account, keyring.status != "fail"))
        checks.extend(check_base_url(account))
    daemon = cli.daemon(config)
    checks.extend(check_daemon(daemon, config))
    checks.extend(check_clients(daemon.url, config.state_dir))
    checks.append(check_state_dir(config.state_dir))
    checks.append(check_clock())
    return checks


def check_keyring() -> Check:
    from localgate.secrets import NO_BACKEND_HELP, _usable, keyring_description

    try:
        import keyring

        if not _usable(keyring.get_keyring()):
            return Check("keyring", "fail", "no usable keyring backend", NO_BACKEND_HELP)
        from localgate.secrets import plaintext_keyring_file

        path = plaintext_keyring_file()
        described = keyring_description()
    except Exception as exc:  # a broken backend raises its own errors
        return Check("keyring", "fail", f"the keyring cannot be used: {exc}", NO_BACKEND_HELP)
    if path is None:
        return Check("keyring", "ok", f"keys live in {described}")
    loose = _loose_modes(path)
    if loose:
        return Check(
            "keyring",
            "warn",
            f"keys live in {path}, a plaintext file, and {loose}",
            f"chmod 700 {path.parent} && chmod 600 {path}",
        )
    return Check("keyring", "note", f"keys live in {described}")


def check_secret(account, keyring_ok: bool) -> Check:
    from localgate.secrets import get_secret, unfit_key

    name = f"account {account.name}"
    unfit = Check(
        name,
        "fail",
        "its key holds a line break or another control character, which no header carries",
        f"export {account.key_env}=… on one line"
        if account.key_env
        else f"localgate accounts edit {account.name} --key",
    )
    if account.key_env:
        if os.environ.get(account.key_env):
            if unfit_key(account, os.environ[account.key_env]):
                return unfit
            return Check(name, "ok", f"key from ${account.key_env} (set in this shell)")
        return Check(
            name,
            "warn",
            f"takes its key from ${account.key_env}, which is not set in this shell "
            "(the daemon needs it in its own environment)",
            f"export {account.key_env}=…  before `localgate start`, or keep the key in the "
            f"keyring: localgate accounts edit {account.name} --key",
        )
    if not keyring_ok:
        return Check(name, "fail", "its key is in the keyring, which cannot be used")
    try:
        secret = get_secret(account.name)
    except LocalgateError as exc:
        return Check(name, "fail", f"its key cannot be read: {exc}")
    if secret and unfit_key(account, secret):
        return unfit
    if secret:
        return Check(name, "ok", f"{account.provider}; key present in the keyring")
    if account.provider == "vertex":
        from localgate.providers.vertex import relogin_command

        return Check(
            name, "fail", "no Google login stored in the keyring", relogin_command(account)
        )
    fix = f"localgate accounts edit {account.name} --key"
    return Check(name, "fail", "no key stored in the keyring", fix)


def check_base_url(account) -> list[Check]:
    """Base URLs that look wrong for their provider."""
    url = account.base_url
    if not url:
        return []
    path = urlsplit(url).path.rstrip("/")
    name = f"account {account.name}"
    if account.provider == "openai" and not path.endswith("/v1") and "/v1" not in path:
        return [
            Check(
                name,
                "warn",
                f"base_url {url} has no /v1: OpenAI-compatible services are usually "
                "reached at …/v1 (localgate appends /chat/completions)",
                f"localgate accounts edit {account.name} --base-url {url.rstrip('/')}/v1",
            )
        ]
    if account.provider == "anthropic" and path.endswith("/v1"):
        return [
            Check(
                name,
                "warn",
                f"base_url {url} ends in /v1, but localgate appends /v1/messages itself",
                f"localgate accounts edit {account.name} --base-url {url.rstrip('/')[:-3]}",
            )
        ]
    return []


def check_daemon(daemon, config) -> list[Check]:
    from localgate.cli.daemon import ask_daemon

    health, problem = ask_daemon(daemon.endpoint("/health"), timeout=2.0)
    if not isinstance(health, dict):
        return [
            Check(
                "daemon",
                "warn",
                f"{daemon.url} (from the {daemon.source}) {problem}",
                "localgate start   (or `localgate service install` to run it at login)",
            )
        ]
    states = health.get("states") or {}
    counts = ", ".join(f"{n} {s}" for s, n in states.items() if n) or "no accounts"
    checks = [
        Check("daemon", "ok", f"running at {daemon.url} (from the {daemon.source}): {counts}")
    ]
    port = int(urlsplit(daemon.url).port or 80)
    if port != config.server.port:
        checks.append(
            Check(
                "port",
                "warn",
                f"the daemon listens on {port}, the config says {config.server.port}: clients "
                f"set up with the config's port will not find it",
                "localgate restart (takes the config's port), or set [server] port",
            )
        )
    bad = {s: n for s, n in states.items() if s in ("invalid", "cooling") and n}
    if bad:
        checks.append(
            Check(
                "accounts",
                "warn",
                "the daemon has " + ", ".join(f"{n} {s}" for s, n in bad.items()) + " account(s)",
                "localgate limits (why), localgate accounts test NAME, accounts enable NAME",
            )
        )
    return checks


def check_clients(url: str, state_dir: Path) -> list[Check]:
    """Each client's config, and the SDK variables of this shell: pointing here or elsewhere."""
    from localgate import connect

    checks = []
    for client in connect.CLIENTS:
        try:
            edits = connect.plan(client, connect.Target(url, _token()))
        except LocalgateError as exc:
            checks.append(Check(f"client {client}", "warn", str(exc)))
            continue
        conflicts = [c for edit in edits for c in edit.conflicts]
        if not any(edit.changed for edit in edits):
            checks.append(Check(f"client {client}", "ok", f"uses localgate at {url}"))
        elif conflicts:
            checks.append(
                Check(
                    f"client {client}",
                    "warn",
                    "points elsewhere: " + "; ".join(conflicts),
                    f"localgate connect {client}",
                )
            )
        elif client in connect.connected_clients(state_dir):
            checks.append(
                Check(
                    f"client {client}",
                    "warn",
                    f"connected, but not to {url}",
                    f"localgate connect {client}",
                )  # fmt: skip
            )
        else:
            checks.append(
                Check(f"client {client}", "note", "not connected", f"localgate connect {client}")
            )
    for variable, expected in (
        ("ANTHROPIC_BASE_URL", url),
        ("OPENAI_BASE_URL", f"{url}/v1"),
        ("GOOGLE_GEMINI_BASE_URL", url),
    ):
        value = os.environ.get(variable)
        if value and value.rstrip("/") != expected:
            checks.append(
                Check(
                    f"${variable}",
                    "warn",
                    f"this shell sets {variable}={value}, not {expected}",
                    'eval "$(localgate env)"',
                )
            )
    return checks


def check_state_dir(state_dir: Path) -> Check:
    from localgate.files import private_dir

    try:
        private_dir(state_dir)
        probe = state_dir / f".doctor-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "state dir",
            "fail",
            f"{state_dir} is not writable: {exc}",
            "fix its owner or mode, or set state_dir in the config",
        )
    return Check("state dir", "ok", f"{state_dir} is writable")


def check_clock() -> Check:
    """Whether the clock is synchronised (Google tokens and rate-limit resets depend on it)."""
    if shutil.which("timedatectl"):
        try:
            done = subprocess.run(
                ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                capture_output=True, text=True, timeout=5, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None and done.stdout.strip() == "yes":
            return Check("clock", "ok", "synchronised (NTP)")
        if done is not None and done.stdout.strip() == "no":
            return Check(
                "clock",
                "warn",
                "not synchronised: Google logins and rate-limit resets go wrong when it is off",
                "sudo timedatectl set-ntp true",
            )
    now = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return Check("clock", "note", f"cannot tell whether it is synchronised; it says {now}")


def _token() -> str | None:
    from localgate.proxytoken import load_proxy_token

    try:
        return load_proxy_token()
    except LocalgateError:
        return None


def _loose_modes(path: Path) -> str | None:
    """What is too open about a plaintext keyring file and its dir, or None."""
    problems = []
    for target, wanted in ((path.parent, 0o700), (path, 0o600)):
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            problems.append(f"{target} is {oct(mode)[2:]} (want {oct(wanted)[2:]})")
    return "; ".join(problems) or None
