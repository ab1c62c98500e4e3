"""`localgate accounts …` flows against a tmp config and a tmp keyring."""

from __future__ import annotations

import json
import socket
import stat
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from keyring.backends import fail

from localgate import providers
from localgate.config import load_config

SECRET = "sk-ant-api03-very-secret"


def stored(keyring_file, name: str) -> str | None:
    return keyring_file.get_password("localgate", name)


def test_add_prompts_for_a_hidden_key(cli, config_path, keyring_file):
    result = cli("accounts", "add", "work", "--provider", "anthropic", input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    # The test keyring is a plaintext file: the message names it and says so.
    assert "added account 'work' (anthropic); key stored in " in result.output
    assert "keyring_pass.cfg, a plaintext file (0600 in a 0700 dir; not encrypted" in result.output
    assert SECRET not in result.output  # hidden input is not echoed
    assert stored(keyring_file, "work") == SECRET
    config = load_config(config_path)
    assert [(a.name, a.provider, a.key_env) for a in config.accounts] == [
        ("work", "anthropic", None)
    ]
    assert SECRET not in config_path.read_text()
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_path.parent.stat().st_mode) == 0o700


def test_add_with_flags_and_key_on_stdin(cli, config_path, keyring_file):
    result = cli(
        "accounts", "add", "router", "--provider", "openai",
        "--base-url", "https://openrouter.ai/api/v1",
        "--models", "openrouter/*", "--models", "meta-llama/*",
        "--priority", "3", "--key-stdin",
        input=f"  {SECRET}\n\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stored(keyring_file, "router") == SECRET
    account = load_config(config_path).account("router")
    assert account.base_url == "https://openrouter.ai/api/v1"
    assert account.models == ("openrouter/*", "meta-llama/*")
    assert account.priority == 3


def test_add_with_key_env_stores_nothing_in_the_keyring(cli, config_path, keyring_file):
    result = cli("accounts", "add", "ci", "--provider", "anthropic", "--key-env", "CI_KEY")
    assert result.exit_code == 0, result.output
    assert "its key comes from $CI_KEY" in result.output
    assert "CI_KEY is not set in this shell" in result.stderr
    assert stored(keyring_file, "ci") is None
    assert load_config(config_path).account("ci").key_env == "CI_KEY"


def test_a_huge_key_on_stdin_is_refused_unread(cli, config_path, keyring_file):
    # A file piped in by mistake: not read past the bound, nothing stored.
    piped = "sk-" + "x" * (4 << 20)
    result = cli("accounts", "add", "work", "--provider", "openai", "--key-stdin", input=piped)
    assert result.exit_code == 1
    assert "more than 16 KB on standard input" in result.output
    assert "nothing stored" in result.output
    assert stored(keyring_file, "work") is None


def test_readding_is_refused_without_replace(cli, config_path, keyring_file):
    cli("accounts", "add", "work", "--provider", "anthropic", "--priority", "2", input="old\n")
    result = cli("accounts", "add", "work", "--provider", "openai", "--key-stdin", input="new")
    assert result.exit_code == 1
    assert "account 'work' already exists (anthropic)" in result.output
    assert "--replace" in result.output and "accounts edit work" in result.output
    assert stored(keyring_file, "work") == "old"
    assert load_config(config_path).account("work").provider == "anthropic"


def test_replace_starts_afresh(cli, config_path, keyring_file):
    cli("accounts", "add", "work", "--provider", "anthropic", "--priority", "2", input="old\n")
    cli("accounts", "disable", "work")
    result = cli(
        "accounts", "add", "work", "--provider", "openai", "--models", "gpt-*",
        "--key-stdin", "--replace", input="new",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "replaced account 'work'" in result.output
    assert stored(keyring_file, "work") == "new"
    account = load_config(config_path).account("work")
    assert (account.provider, account.models, account.priority, account.enabled) == (
        "openai",
        ("gpt-*",),
        0,
        True,
    )


def test_edit_changes_only_what_is_asked(cli, config_path, keyring_file):
    cli("accounts", "add", "work", "--provider", "openai", "--priority", "2", input="k1\n")
    result = cli("accounts", "edit", "work", "--models", "gpt-4o*", "--base-url",
                 "http://127.0.0.1:9/v1", "--proxy", "none")  # fmt: skip
    assert result.exit_code == 0, result.output
    account = load_config(config_path).account("work")
    assert (account.models, account.base_url, account.priority) == (
        ("gpt-4o*",),
        "http://127.0.0.1:9/v1",
        2,
    )
    assert account.proxy == "none"
    assert stored(keyring_file, "work") == "k1"  # no --key: no prompt, key untouched
    assert "API key" not in result.output


def test_edit_key_prompts_and_drops_key_env(cli, config_path, keyring_file):
    cli("accounts", "add", "ci", "--provider", "anthropic", "--key-env", "CI_KEY")
    result = cli("accounts", "edit", "ci", "--key", input="sk-new\n")
    assert result.exit_code == 0, result.output
    assert "sk-new" not in result.output and stored(keyring_file, "ci") == "sk-new"
    assert load_config(config_path).account("ci").key_env is None


def test_edit_refuses_bad_values_and_nothing(cli, config_path):
    cli("accounts", "add", "work", "--provider", "openai", input="k\n")
    assert "nothing to change" in cli("accounts", "edit", "work").output
    bad = cli("accounts", "edit", "work", "--base-url", "ftp://x")
    assert bad.exit_code == 1 and "must be an http:// or https:// URL" in bad.output
    assert cli("accounts", "edit", "nope", "--priority", "1").exit_code == 1


def test_rename_moves_the_key(cli, config_path, keyring_file):
    cli("accounts", "add", "work", "--provider", "anthropic", input="sk-1\n")
    cli("accounts", "add", "other", "--provider", "anthropic", input="sk-2\n")
    taken = cli("accounts", "rename", "work", "other")
    assert taken.exit_code == 1 and "already exists" in taken.output
    result = cli("accounts", "rename", "work", "work-2025")
    assert result.exit_code == 0 and "its key moved" in result.output
    assert stored(keyring_file, "work-2025") == "sk-1" and stored(keyring_file, "work") is None
    names = [a.name for a in load_config(config_path).accounts]
    assert names == ["work-2025", "other"]


def test_account_names_complete(cli, config_path, monkeypatch):
    from click.shell_completion import ShellComplete

    from localgate.cli import main

    cli("accounts", "add", "work", "--provider", "anthropic", input="k\n")
    cli("accounts", "add", "wild", "--provider", "anthropic", input="k\n")
    cli("accounts", "add", "other", "--provider", "anthropic", input="k\n")
    monkeypatch.setenv("LOCALGATE_CONFIG", str(config_path))
    complete = ShellComplete(main, {}, "localgate", "_LOCALGATE_COMPLETE")
    names = [item.value for item in complete.get_completions(["accounts", "test"], "w")]
    assert names == ["work", "wild"]
    names = [item.value for item in complete.get_completions(["accounts", "rename"], "")]
    assert names == ["work", "wild", "other"]


@pytest.mark.parametrize("key_input", ["\n", "   \n"])
def test_empty_key_is_refused_and_nothing_written(cli, config_path, keyring_file, key_input):
    result = cli("accounts", "add", "work", "--provider", "anthropic", input=key_input)
    assert result.exit_code == 1
    assert "empty key" in result.output
    assert not config_path.exists()
    assert stored(keyring_file, "work") is None


def test_multiline_stdin_is_refused(cli, config_path):
    result = cli("accounts", "add", "w", "--provider", "openai", "--key-stdin", input="a\nb\n")
    assert result.exit_code == 1 and "several lines" in result.output
    assert not config_path.exists()


def test_bad_flag_fails_before_the_key_is_stored(cli, config_path, keyring_file):
    result = cli(
        "accounts", "add", "work", "--provider", "openai", "--base-url", "ftp://x",
        "--key-stdin", input=SECRET,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "accounts[0].base_url: 'ftp://x' must be an http:// or https:// URL" in result.output
    assert "Traceback" not in result.output
    assert stored(keyring_file, "work") is None
    assert not config_path.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["w", "--provider", "vertex", "--project", "p"], "a vertex account needs a Google login"),
        (["w", "--provider", "anthropic", "--project", "p"], "--project applies only to"),
        (["w", "--provider", "anthropic", "--no-browser"], "--no-browser applies only to"),
        (["my work", "--provider", "anthropic"], "use letters, digits"),
        (["w", "--provider", "antropic"], "'antropic' is not one of"),
        (["w", "--provider", "openai", "--key-stdin", "--key-env", "K"], "not both"),
        (["w", "--provider", "openai", "--key-env", "1BAD"], "not an environment variable"),
    ],
)
def test_add_refuses(cli, config_path, args, message):
    result = cli("accounts", "add", *args, input="k\n")
    assert result.exit_code != 0
    assert message in result.output
    assert not config_path.exists()


def test_add_without_usable_keyring_says_how_to_fix(cli, config_path, keyring_file):
    import keyring

    keyring.set_keyring(fail.Keyring())
    result = cli("accounts", "add", "work", "--provider", "anthropic", input=SECRET + "\n")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for hint in ("pip install keyrings.alt", "PYTHON_KEYRING_BACKEND", "key_env"):
        assert hint in result.output
    assert not config_path.exists()  # no account without its key
    # --key-env needs no keyring at all
    result = cli("accounts", "add", "work", "--provider", "anthropic", "--key-env", "K")
    assert result.exit_code == 0, result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_accounts(config_path, port: int) -> None:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        f"""
        [server]
        port = {port}
        [[accounts]]
        name = "work"
        provider = "anthropic"
        [[accounts]]
        name = "ci"
        provider = "openai"
        key_env = "CI_KEY"
        priority = 2
        enabled = false
        """
    )


def test_list_without_daemon(cli, config_path):
    write_accounts(config_path, free_port())
    result = cli("accounts", "list")
    assert result.exit_code == 0, result.output
    for text in ("work", "anthropic", "https://api.anthropic.com", "claude-*", "ci", "no"):
        assert text in result.output
    assert "— daemon not running" in result.output


def test_list_empty(cli):
    result = cli("accounts", "list")
    assert result.exit_code == 0 and "no accounts yet" in result.output
    assert json.loads(cli("accounts", "list", "--json").output) == []


@pytest.fixture
def daemon():
    """A stand-in daemon on 127.0.0.1 answering GET /account-limits."""
    body = {
        "accounts": [
            {"name": "work", "state": "cooling", "reason": "429 rate limited"},
            {"name": "ci", "state": "disabled", "reason": None},
        ]
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            data = json.dumps(body).encode() if self.path == "/account-limits" else b"{}"
            self.send_response(200 if self.path == "/account-limits" else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_list_json_with_daemon_states(cli, config_path, daemon):
    write_accounts(config_path, daemon)
    result = cli("accounts", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "name": "work",
            "provider": "anthropic",
            "base_url": "https://api.anthropic.com",
            "models": ["claude-*"],
            "priority": 0,
            "enabled": True,
            "key_env": None,
            "state": "cooling",
            "reason": "429 rate limited",
        },
        {
            "name": "ci",
            "provider": "openai",
            "base_url": "https://api.openai.com/v1",
            "models": list(providers.info("openai").default_models),
            "priority": 2,
            "enabled": False,
            "key_env": "CI_KEY",
            "state": "disabled",
            "reason": None,
        },
    ]
    table = cli("accounts", "list").output
    assert "cooling: 429 rate limited" in table and "daemon not running" not in table


def test_list_json_without_daemon_has_null_state(cli, config_path):
    write_accounts(config_path, free_port())
    rows = json.loads(cli("accounts", "list", "--json").output)
    assert [(r["name"], r["state"]) for r in rows] == [("work", None), ("ci", None)]


def test_remove_deletes_config_entry_and_key(cli, config_path, keyring_file):
    cli("accounts", "add", "work", "--provider", "anthropic", input="k1\n")
    cli("accounts", "add", "home", "--provider", "anthropic", input="k2\n")
    result = cli("accounts", "remove", "work")
    assert result.exit_code == 0, result.output
    assert "removed account 'work'" in result.output
    assert [a.name for a in load_config(config_path).accounts] == ["home"]
    assert stored(keyring_file, "work") is None
    assert stored(keyring_file, "home") == "k2"

    result = cli("accounts", "remove", "work")
    assert result.exit_code == 1
    assert "no account named 'work'" in result.output and "(accounts: home)" in result.output


def test_remove_key_env_account_without_keyring(cli, config_path, keyring_file):
    import keyring

    cli("accounts", "add", "ci", "--provider", "openai", "--key-env", "K")
    keyring.set_keyring(fail.Keyring())
    result = cli("accounts", "remove", "ci")
    assert result.exit_code == 0, result.output
    assert load_config(config_path).accounts == ()


def test_enable_disable(cli, config_path):
    cli("accounts", "add", "work", "--provider", "anthropic", input="k\n")
    result = cli("accounts", "disable", "work")
    assert result.exit_code == 0 and "disabled account 'work'" in result.output
    assert load_config(config_path).account("work").enabled is False
    assert "already disabled" in cli("accounts", "disable", "work").output
    result = cli("accounts", "enable", "work")
    assert result.exit_code == 0 and "enabled account 'work'" in result.output
    assert load_config(config_path).account("work").enabled is True
    assert "enabled" not in config_path.read_text().split("[[accounts]]")[1]  # default dropped
    assert config_path.read_text().count("[[accounts]]") == 1
    result = cli("accounts", "enable", "nope")
    assert result.exit_code == 1 and "no account named 'nope'" in result.output


@pytest.fixture
def fake_check(monkeypatch):
    """Stand in for localgate.providers.check (written elsewhere) and record calls."""
    calls = []
    outcome = {}

    async def check_account(config, account):
        calls.append((config, account))
        return types.SimpleNamespace(**outcome)

    module = types.ModuleType("localgate.providers.check")
    module.check_account = check_account
    monkeypatch.setitem(sys.modules, "localgate.providers.check", module)
    return calls, outcome


def test_test_ok(cli, config_path, fake_check):
    calls, outcome = fake_check
    outcome.update(ok=True, detail="claude-haiku-4-5 answered", latency_ms=123.4)
    cli("accounts", "add", "work", "--provider", "anthropic", input="k\n")
    result = cli("accounts", "test", "work")
    assert result.exit_code == 0, result.output
    assert result.output == "ok (123 ms): claude-haiku-4-5 answered\n"
    (config, account), = calls  # fmt: skip
    assert config.path == config_path and account.name == "work"


def test_test_failure_exits_1(cli, fake_check):
    calls, outcome = fake_check
    outcome.update(ok=False, detail="401 invalid x-api-key", latency_ms=50.0)
    cli("accounts", "add", "work", "--provider", "anthropic", input="k\n")
    result = cli("accounts", "test", "work")
    assert result.exit_code == 1
    assert result.stderr == "failed: 401 invalid x-api-key\n"


def test_test_unknown_account(cli, fake_check):
    result = cli("accounts", "test", "nope")
    assert result.exit_code == 1 and "no account named 'nope'" in result.output
    assert fake_check[0] == []


def test_broken_config_is_one_clean_line(cli, config_path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text('[[accounts]]\nname = "a"\nprovider = "antropic"\n')
    result = cli("accounts", "list")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {config_path}: accounts[0].provider: 'antropic' is not a provider "
        "(anthropic, openai, gemini, vertex)\n"
    )
