"""`localgate config …`, `serve`, and the root command."""

from __future__ import annotations

import re
import subprocess
import sys
import types

import pytest
from click.testing import CliRunner

from localgate.cli import main
from localgate.config import load_config
from localgate.errors import ConfigError, SecretError

SECRET = "sk-proj-very-secret"


def test_config_path_from_option_env_and_default(cli, config_path, tmp_path, monkeypatch):
    assert cli("config", "path").output == f"{config_path}\n"
    runner = CliRunner()
    result = runner.invoke(main, ["config", "path"], env={"LOCALGATE_CONFIG": "/x/y.toml"})
    assert result.output == "/x/y.toml\n"
    result = runner.invoke(main, ["config", "path"])
    assert result.output == f"{tmp_path / 'xdg-config' / 'localgate' / 'config.toml'}\n"


def test_config_show_defaults(cli, config_path, tmp_path):
    result = cli("config", "show")
    assert result.exit_code == 0, result.output
    assert "(the file does not exist: defaults)" in result.output
    assert "port = 8080" in result.output and 'strategy = "sticky"' in result.output
    assert f'state_dir = "{tmp_path / "xdg-state" / "localgate"}"' in result.output


def test_config_show_never_prints_a_secret(cli, config_path, monkeypatch):
    monkeypatch.setenv("CI_KEY", SECRET)
    cli("accounts", "add", "work", "--provider", "anthropic", "--key-stdin", input=SECRET)
    cli("accounts", "add", "ci", "--provider", "openai", "--key-env", "CI_KEY", "--priority", "4")
    with config_path.open("a") as handle:
        handle.write('\n[aliases]\n"claude-*" = ["work:claude-haiku-4-5", "gpt-4o-mini"]\n')

    result = cli("config", "show")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    work, ci = result.output.split("[[accounts]]")[1:]
    assert work.startswith("\n# key: keyring\n")
    assert ci.startswith("\n# key: env CI_KEY\n")
    assert 'base_url = "https://api.anthropic.com"' in work  # defaults spelled out

    # What it prints is a config that means the same thing.
    shown = config_path.parent / "shown.toml"
    shown.write_text(result.output)
    before, after = load_config(config_path), load_config(shown)
    assert after.server == before.server and after.aliases == before.aliases
    assert [(a.name, a.model_patterns, a.key_env, a.priority) for a in after.accounts] == [
        (a.name, a.model_patterns, a.key_env, a.priority) for a in before.accounts
    ]


@pytest.fixture
def fake_server(monkeypatch):
    """Stand in for localgate.server (written elsewhere); records run() calls."""
    calls = []
    module = types.ModuleType("localgate.server")

    def run(config, *, host, port, log_format="text", log_to_stderr=True):
        calls.append((config, host, port))
        if getattr(module, "raise_", None):
            raise module.raise_

    module.run = run
    monkeypatch.setitem(sys.modules, "localgate.server", module)
    return module, calls


def test_serve_uses_config_then_options(cli, config_path, fake_server):
    module, calls = fake_server
    config_path.parent.mkdir(parents=True)
    config_path.write_text('[server]\nhost = "::1"\nport = 9001\n')
    assert cli("serve").exit_code == 0
    assert cli("serve", "--host", "127.0.0.2", "--port", "0").exit_code == 0
    (config, host, port), (_, host2, port2) = calls
    assert config.path == config_path
    assert (host, port) == ("::1", 9001)
    assert (host2, port2) == ("127.0.0.2", 0)


@pytest.mark.parametrize(
    "error, exit_code",
    [
        (SecretError("no key stored for account 'w': run localgate accounts add w"), 1),
        (ConfigError("/c.toml: server.port: bad"), 1),
        (KeyboardInterrupt(), 0),
    ],
)
def test_serve_errors_are_one_clean_line(cli, fake_server, error, exit_code):
    module, _ = fake_server
    module.raise_ = error
    result = cli("serve")
    assert result.exit_code == exit_code
    assert "Traceback" not in result.output
    if exit_code:
        assert result.output == f"Error: {error}\n"


def test_serve_refuses_a_broken_config(cli, config_path, fake_server):
    config_path.parent.mkdir(parents=True)
    config_path.write_text("[server]\nstrategy = 'random'\n")
    result = cli("serve")
    assert result.exit_code == 1 and "server.strategy: 'random' is not one of" in result.output
    assert fake_server[1] == []


def test_help_teaches_with_examples(cli):
    for args in (["--help"], ["accounts", "add", "--help"], ["accounts", "list", "--help"],
                 ["config", "show", "--help"], ["serve", "--help"]):  # fmt: skip
        result = cli(*args)
        assert result.exit_code == 0
        assert "localgate " in result.output and (
            "Example" in result.output or "Getting started" in result.output
        )


def test_getting_started_names_every_dialect_and_client(cli):
    """The first screen a newcomer reads names every door and every client
    `localgate connect` can point at localgate, as `connect` itself lists them."""
    listed = cli("--help").output
    for dialect in ("Anthropic Messages", "Chat Completions", "Responses", "Gemini"):
        assert dialect in listed
    clients = re.search(r"\{([a-z|-]+)\}", cli("connect", "--help").output).group(1)
    for client in clients.split("|"):
        assert client in listed


def modules_after(args: list[str], which: str) -> str:
    """`sorted(which)` as printed by a fresh interpreter once `localgate ARGS` ran;
    `which` is an expression over `sys.modules`."""
    code = (
        "import sys\n"
        "from localgate.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted({which}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return out.strip().splitlines()[-1]


def test_help_imports_nothing_heavy():
    heavy = "{'aiohttp', 'rich', 'keyring', 'google', 'anthropic', 'openai'}"
    assert modules_after(["--help"], f"{{m.split('.')[0] for m in sys.modules}} & {heavy}") == "[]"


def test_a_command_loads_only_its_own_module():
    """The daemon (`localgate serve`) carries no other command's code; help still lists all."""
    loaded = modules_after(
        ["serve", "--help"], "m for m in sys.modules if m.startswith('localgate.cli.')"
    )
    assert "localgate.cli.serve" in loaded
    for other in ("accounts", "accounts_edit", "connect", "doctor", "usage", "limits"):
        assert f"localgate.cli.{other}'" not in loaded


def test_every_command_is_listed_and_found(cli):
    listed = cli("--help").output
    for name in ("accounts", "config", "connect", "dashboard", "doctor", "env", "limits",
                 "logs", "models", "restart", "serve", "service", "start", "status", "stop",
                 "token", "usage"):  # fmt: skip
        assert f"\n  {name} " in listed
        assert cli(name, "--help").exit_code == 0
    assert "rename" in cli("accounts", "--help").output  # added by accounts_edit
