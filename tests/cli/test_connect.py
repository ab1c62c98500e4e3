"""`localgate connect` against real client config files: write, diff, backup, conflict, undo."""

from __future__ import annotations

import json
import tomllib

import pytest

from localgate.proxytoken import rotate_proxy_token

URL = "http://127.0.0.1:8080"  # the configured daemon (none runs in these tests)


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "LOCALGATE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    return home


def test_claude_code_write_backup_conflict_undo(cli, home):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    original = '{"model": "opus", "env": {"ANTHROPIC_BASE_URL": "https://corp.example", "X": "1"}}'
    settings.write_text(original)

    shown = cli("connect", "claude-code", "--print")
    assert shown.exit_code == 0
    assert "points elsewhere now: env.ANTHROPIC_BASE_URL = 'https://corp.example'" in shown.output
    assert f'+    "ANTHROPIC_BASE_URL": "{URL}"' in shown.output
    assert settings.read_text() == original  # --print writes nothing

    refused = cli("connect", "claude-code", input="n\n")
    assert refused.exit_code == 1 and settings.read_text() == original

    done = cli("connect", "claude-code", "--yes")
    assert done.exit_code == 0, done.output
    env = json.loads(settings.read_text())["env"]
    assert env == {"ANTHROPIC_BASE_URL": URL, "X": "1", "ANTHROPIC_AUTH_TOKEN": "localgate"}
    assert json.loads(settings.read_text())["model"] == "opus"
    backup = settings.with_name("settings.json.localgate-backup")
    assert backup.read_text() == original

    assert "nothing to change" in cli("connect", "claude-code", "--yes").output
    undone = cli("connect", "claude-code", "--undo")
    assert undone.exit_code == 0 and "restored" in undone.output
    assert settings.read_text() == original and not backup.exists()
    assert "nothing to undo" in cli("connect", "claude-code", "--undo").output


def test_undo_removes_files_that_did_not_exist_and_keeps_later_edits(cli, home):
    assert cli("connect", "gemini-cli", "--yes").exit_code == 0
    dotenv = home / ".gemini" / ".env"
    assert dotenv.read_text() == f"GOOGLE_GEMINI_BASE_URL={URL}\nGEMINI_API_KEY=localgate\n"
    assert oct(dotenv.stat().st_mode & 0o777) == "0o600"
    dotenv.write_text(dotenv.read_text() + "MINE=1\n")  # the user edits it afterwards
    refused = cli("connect", "gemini-cli", "--undo")
    assert refused.exit_code == 1 and "changed since" in refused.output
    assert dotenv.exists()
    forced = cli("connect", "gemini-cli", "--undo", "--yes")
    assert forced.exit_code == 0 and "removed" in forced.output
    assert not dotenv.exists() and not (home / ".gemini" / "settings.json").exists()


def test_gemini_keeps_other_settings_and_lines(cli, home):
    directory = home / ".gemini"
    directory.mkdir()
    (directory / "settings.json").write_text(
        json.dumps({"security": {"auth": {"selectedType": "oauth-personal"}}, "theme": "x"})
    )
    (directory / ".env").write_text("# mine\nexport GOOGLE_GEMINI_BASE_URL=https://other\nA=b\n")
    result = cli("connect", "gemini-cli", "--yes")
    assert result.exit_code == 0
    assert "selectedType = 'oauth-personal'" in result.output
    assert "GOOGLE_GEMINI_BASE_URL=https://other" in result.output
    settings = json.loads((directory / "settings.json").read_text())
    assert settings == {"security": {"auth": {"selectedType": "gemini-api-key"}}, "theme": "x"}
    assert (directory / ".env").read_text() == (
        f"# mine\nGOOGLE_GEMINI_BASE_URL={URL}\nA=b\nGEMINI_API_KEY=localgate\n"
    )


def test_codex_provider_table_keeps_comments_and_other_tables(cli, home, monkeypatch):
    codex_home = home / "codex-home"
    codex_home.mkdir()
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    config = codex_home / "config.toml"
    config.write_text(
        '# my settings\nmodel = "gpt-5"\nmodel_provider = "openai"\n\n'
        '[model_providers.localgate]\nbase_url = "http://127.0.0.1:1/v1"\nenv_key = "K"\n'
        'request_max_retries = 2  # keep me\n\n[profiles.fast]\nmodel = "o3"\n'
    )
    result = cli("connect", "codex", "--yes")
    assert result.exit_code == 0, result.output
    assert "model_provider = 'openai'" in result.output  # the conflict is named
    text = config.read_text()
    assert text.startswith("# my settings\n") and "# keep me" in text
    parsed = tomllib.loads(text)
    assert parsed["model_provider"] == "localgate" and parsed["model"] == "gpt-5"
    assert parsed["profiles"] == {"fast": {"model": "o3"}}
    assert parsed["model_providers"]["localgate"] == {
        "name": "localgate",
        "base_url": f"{URL}/v1",
        "wire_api": "responses",
        "supports_websockets": False,
        "request_max_retries": 2,
    }
    assert cli("connect", "codex", "--undo").exit_code == 0
    assert 'model_provider = "openai"' in config.read_text()


def test_codex_new_file_and_proxy_token(cli, home):
    token = rotate_proxy_token()
    result = cli("connect", "codex", "--yes")
    assert result.exit_code == 0, result.output
    assert token not in result.output and token[:6] + "…" in result.output  # masked diff
    config = home / ".codex" / "config.toml"
    parsed = tomllib.loads(config.read_text())
    assert parsed["model_provider"] == "localgate"
    assert parsed["model_providers"]["localgate"]["experimental_bearer_token"] == token
    assert oct(config.stat().st_mode & 0o777) == "0o600"  # it holds the token


def test_codex_model_for_a_claude_only_user(cli, home):
    """Codex asks for its own GPT default: with a Claude account only, connect says so,
    and --model sets the model Codex asks for (replacing one that was there)."""
    assert (
        cli("accounts", "add", "work", "--provider", "anthropic", input="sk-ant-x\n").exit_code == 0
    )
    result = cli("connect", "codex", "--yes")
    assert result.exit_code == 0 and "--model claude-sonnet-4-5" in result.output
    config = home / ".codex" / "config.toml"
    config.write_text('model = "gpt-5-codex"\n' + config.read_text())
    result = cli("connect", "codex", "--yes", "--model", "claude-sonnet-4-5")
    assert result.exit_code == 0, result.output
    assert "model = 'gpt-5-codex' (replaced)" in result.output
    parsed = tomllib.loads(config.read_text())
    assert parsed["model"] == "claude-sonnet-4-5" and parsed["model_provider"] == "localgate"
    assert "--model" not in result.output.split("connected")[-1]  # no hint once a model is set
    config.write_text('model = "claude-sonnet-4-5"\n')  # the user's own choice, served
    again = cli("connect", "codex", "--yes")
    assert again.exit_code == 0 and "wrote" in again.output, again.output
    assert "--model" not in again.output  # Codex asks for the model its config names
    refused = cli("connect", "claude-code", "--model", "x")
    assert refused.exit_code == 2 and "--model is for codex" in refused.output


@pytest.mark.parametrize(
    ("client", "provider", "key", "alias"),
    [
        ("gemini-cli", "anthropic", "sk-ant-x", '"gemini-*" = ["claude-sonnet-4-5"]'),
        ("claude-code", "openai", "sk-x", '"claude-*" = ["gpt-4.1"]'),
    ],
)
def test_a_client_whose_models_no_account_serves_is_told_the_alias(
    cli, home, config_path, client, provider, key, alias
):
    """Gemini CLI and Claude Code ask for their own families only: with no account of
    that kind, connect names the alias that serves them, and is quiet once it is set."""
    assert cli("accounts", "add", "work", "--provider", provider, input=key + "\n").exit_code == 0
    result = cli("connect", client, "--yes")
    assert result.exit_code == 0 and alias in result.output, result.output
    config_path.write_text(config_path.read_text() + f"\n[aliases]\n{alias}\n")
    again = cli("connect", client, "--undo", "--yes")
    assert again.exit_code == 0, again.output
    result = cli("connect", client, "--yes")
    assert result.exit_code == 0 and "[aliases]" not in result.output, result.output


def test_claude_code_with_proxy_token(cli, home):
    token = rotate_proxy_token()
    assert cli("connect", "claude-code", "--yes").exit_code == 0
    settings = home / ".claude" / "settings.json"
    assert json.loads(settings.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == token
    assert oct(settings.stat().st_mode & 0o777) == "0o600"


def test_broken_client_file_is_refused_not_rewritten(cli, home):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{not json")
    result = cli("connect", "claude-code", "--yes")
    assert result.exit_code == 1 and "not valid JSON" in result.output
    assert settings.read_text() == "{not json"


def test_a_client_file_past_any_config_size_is_refused_not_read(cli, home):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"env": {}, "pad": "' + "x" * (2 << 20) + '"}')
    before = settings.stat().st_size
    result = cli("connect", "claude-code", "--yes")
    assert result.exit_code == 1
    assert "holds more than 1 MB, which no config file does" in result.output
    assert settings.stat().st_size == before


def test_connect_uses_the_running_daemons_url(cli, home):
    result = cli("--url", "http://127.0.0.1:9123", "connect", "claude-code", "--yes")
    assert result.exit_code == 0
    env = json.loads((home / ".claude" / "settings.json").read_text())["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9123"


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("bash", f"export OPENAI_BASE_URL='{URL}/v1'"),
        ("zsh", f"export ANTHROPIC_BASE_URL='{URL}'"),
        ("fish", f"set -gx GOOGLE_GEMINI_BASE_URL '{URL}'"),
        ("powershell", "$env:OPENAI_API_KEY = 'localgate'"),
    ],
)
def test_env_prints_each_shell(cli, shell, line):
    result = cli("env", "--shell", shell)
    assert result.exit_code == 0 and line in result.output.splitlines()
