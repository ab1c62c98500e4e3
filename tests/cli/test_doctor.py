"""`localgate doctor`: each check, its fix, the exit code, --json."""

from __future__ import annotations

import json
import os

import keyring

from localgate.config import default_state_dir
from localgate.secrets import store_secret
from tests.cli.test_lifecycle import localgate
from tests.support import write_config


def checks(result) -> dict[str, list[dict]]:
    by_name: dict[str, list[dict]] = {}
    for check in json.loads(result.output):
        by_name.setdefault(check["name"], []).append(check)
    return by_name


def test_problems_each_with_a_fix(cli, config_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
    monkeypatch.delenv("MISSING_KEY", raising=False)
    monkeypatch.setenv("TWO_LINES", "sk-one\nsk-two")
    config_path.parent.mkdir(parents=True)
    write_config(
        config_path,
        [
            {"name": "nokey", "provider": "anthropic"},
            {"name": "env", "provider": "anthropic", "key_env": "MISSING_KEY"},
            {"name": "oai", "provider": "openai", "base_url": "https://openrouter.ai/api"},
            {"name": "pasted", "provider": "openai"},
            {"name": "envpasted", "provider": "openai", "key_env": "TWO_LINES"},
        ],
        server={"port": 1},  # nothing listens there
    )
    store_secret("oai", "sk-x")
    keyring.set_password("localgate", "pasted", "sk-one\nsk-two")  # set outside localgate
    claude = tmp_path / "home" / ".claude" / "settings.json"
    claude.parent.mkdir(parents=True)
    claude.write_text('{"env": {"ANTHROPIC_BASE_URL": "https://elsewhere.example"}}')

    result = cli("doctor", "--json")
    assert result.exit_code == 1
    found = checks(result)
    nokey = found["account nokey"][0]
    assert nokey["status"] == "fail" and nokey["fix"] == "localgate accounts edit nokey --key"
    assert (
        found["account env"][0]["status"] == "warn"
        and "MISSING_KEY" in found["account env"][0]["detail"]
    )
    for name, fix in [
        ("pasted", "localgate accounts edit pasted --key"),
        ("envpasted", "export TWO_LINES=… on one line"),
    ]:
        (check,) = found[f"account {name}"]
        assert check["status"] == "fail" and check["fix"] == fix
        assert "line break" in check["detail"] and "sk-one" not in check["detail"]
    oai = found["account oai"]
    assert [c["status"] for c in oai] == ["ok", "warn"] and oai[1]["fix"].endswith("/api/v1")
    assert found["daemon"][0]["status"] == "warn" and "localgate start" in found["daemon"][0]["fix"]
    assert found["client claude-code"][0]["status"] == "warn"
    assert "elsewhere.example" in found["client claude-code"][0]["detail"]
    assert found["$ANTHROPIC_BASE_URL"][0]["status"] == "warn"
    backend = found["keyring"][0]
    assert backend["status"] == "note" and "plaintext file" in backend["detail"]
    assert found["state dir"][0]["status"] == "ok"

    text = cli("doctor")
    assert "✗ account nokey: no key stored in the keyring" in text.output
    assert "    fix: localgate accounts edit nokey --key" in text.output


def test_broken_config_fails(cli, config_path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text("[server]\nstrategy = 'fastest'\n")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    assert checks(result)["config"][0]["status"] == "fail"


def test_plaintext_keyring_loose_modes_are_a_problem(cli, keyring_file):
    store_secret("x", "k")  # creates the file, then keeps it 0600 in a 0700 dir
    path = keyring_file.file_path
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == "0o700"
    os.chmod(path, 0o644)
    keyring = checks(cli("doctor", "--json"))["keyring"][0]
    assert keyring["status"] == "warn" and "chmod 600" in keyring["fix"]


def test_running_daemon_and_port_mismatch(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    write_config(
        config, [{"name": "oai", "provider": "openai", "base_url": "http://127.0.0.1:9/v1"}]
    )
    store_secret("oai", "sk-x")
    monkeypatch.setenv("LOCALGATE_CONFIG", str(config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    localgate("start", "--port", "0", check=True)
    try:
        done = localgate("doctor", "--json")
        found = {c["name"]: c for c in json.loads(done.stdout)}
        assert found["daemon"]["status"] == "ok" and "1 ok" in found["daemon"]["detail"]
        assert found["port"]["status"] == "warn"  # port 0 picked another than the config's
        assert done.returncode == 1
    finally:
        localgate("stop", check=True)
    assert not (default_state_dir() / "daemon.json").exists()
