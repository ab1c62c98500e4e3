"""`localgate service`: the unit/agent written, and the init system driven, through fakes on PATH.

The fake `systemctl` and `launchctl` are shell scripts that append their
arguments to a file and answer status questions as the real ones do.
"""

from __future__ import annotations

import configparser
import plistlib
import sys

import pytest

FAKE_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$CALLS"
case "$2" in
  is-enabled) echo enabled ;;
  is-active) echo active ;;
esac
"""
FAKE_LAUNCHCTL = """#!/bin/sh
echo "launchctl $*" >> "$CALLS"
if [ "$1" = print ]; then
  printf 'gui/501/io.localgate.daemon = {\\n\\tstate = running\\n\\tpid = 4242\\n}\\n'
fi
"""


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("systemctl", FAKE_SYSTEMCTL), ("launchctl", FAKE_LAUNCHCTL)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def recorded() -> list[str]:
        return calls.read_text().splitlines() if calls.exists() else []

    return recorded


def test_systemd_install_status_uninstall(cli, config_path, fakes, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = cli("service", "install")
    assert result.exit_code == 0, result.output
    unit = tmp_path / "xdg" / "systemd" / "user" / "localgate.service"
    parsed = configparser.ConfigParser(interpolation=None, strict=False)
    parsed.read_string(unit.read_text())
    assert parsed["Service"]["ExecStart"] == f"{sys.executable} -m localgate serve"
    assert parsed["Service"]["Restart"] == "on-failure"
    assert f"Environment=LOCALGATE_CONFIG={config_path}\n" in unit.read_text()
    assert parsed["Install"]["WantedBy"] == "default.target"
    assert fakes() == [
        "systemctl --user daemon-reload",
        "systemctl --user enable --now localgate.service",
    ]
    status = cli("service", "status")
    assert "enabled: enabled" in status.output and "active:  active" in status.output
    removed = cli("service", "uninstall")
    assert removed.exit_code == 0 and "removed" in removed.output and not unit.exists()
    assert "systemctl --user disable --now localgate.service" in fakes()


def test_launchd_install_status_uninstall(cli, config_path, fakes, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "darwin")
    result = cli("service", "install")
    assert result.exit_code == 0, result.output
    plist = tmp_path / "home" / "Library" / "LaunchAgents" / "io.localgate.daemon.plist"
    agent = plistlib.loads(plist.read_bytes())
    assert agent["ProgramArguments"] == [sys.executable, "-m", "localgate", "serve"]
    assert agent["KeepAlive"] == {"SuccessfulExit": False} and agent["RunAtLoad"] is True
    assert agent["EnvironmentVariables"]["LOCALGATE_CONFIG"] == str(config_path)
    assert any(c.startswith("launchctl bootstrap gui/") and c.endswith(str(plist)) for c in fakes())
    status = cli("service", "status")
    assert "active:  running (pid 4242)" in status.output
    assert cli("service", "uninstall").exit_code == 0 and not plist.exists()
    assert any(c.startswith("launchctl bootout gui/") for c in fakes())


def test_elsewhere_says_what_to_do(cli, fakes, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    result = cli("service", "install")
    assert result.exit_code == 1 and "localgate start" in result.output
    assert fakes() == []


def test_failure_of_the_init_system_is_reported(cli, fakes, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    failing = tmp_path / "bin" / "systemctl"
    failing.write_text('#!/bin/sh\necho "Failed to connect to bus" >&2\nexit 1\n')
    result = cli("service", "install")
    assert result.exit_code == 1
    assert "systemctl --user daemon-reload` failed (1): Failed to connect to bus" in result.output
