"""`localgate config init | edit | example`, and --config naming a missing file."""

from __future__ import annotations

import stat

from click.testing import CliRunner

from localgate.cli import main
from localgate.config import load_config


def test_example_prints_every_documented_key(cli):
    result = cli("config", "example")
    assert result.exit_code == 0
    for key in ("strategy =", "shutdown_grace =", "[timeouts]", "key_env =", "proxy =", "rpm ="):
        assert key in result.output


def test_init_writes_a_commented_starter_that_loads_as_the_defaults(cli, config_path):
    result = cli("config", "init")
    assert result.exit_code == 0, result.output
    text = config_path.read_text()
    assert "# port = 8080" in text and "# strategy = " in text
    assert load_config(config_path).accounts == ()  # everything commented out
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    again = cli("config", "init")
    assert again.exit_code == 1 and "already exists" in again.output
    assert cli("config", "init", "--force").exit_code == 0


def test_edit_keeps_a_valid_change(cli, config_path):
    cli("config", "init")
    result = cli(
        "config", "edit", env={"VISUAL": "", "EDITOR": "sed -i 's/^# port = 8080/port = 9191/'"}
    )
    assert result.exit_code == 0, result.output
    assert "saved" in result.output
    assert load_config(config_path).server.port == 9191


def test_edit_refuses_an_invalid_change_and_keeps_the_file(cli, config_path):
    cli("config", "init")
    before = config_path.read_text()
    editor = 'sed -i \'s/^# strategy = "sticky"/strategy = "fastest"/\''
    result = cli("config", "edit", env={"VISUAL": "", "EDITOR": editor}, input="n\n")
    assert result.exit_code == 1
    assert "not saved:" in result.output and "server.strategy" in result.output
    assert "left as it was" in result.output
    assert config_path.read_text() == before


def test_edit_without_a_change_writes_nothing(cli, config_path):
    result = cli("config", "edit", env={"VISUAL": "", "EDITOR": "true"})
    assert result.exit_code == 0 and "no change" in result.output
    assert not config_path.exists()


def test_config_flag_naming_a_missing_file_is_an_error(tmp_path):
    missing = tmp_path / "typo.toml"
    result = CliRunner().invoke(main, ["--config", str(missing), "accounts", "list"])
    assert result.exit_code == 1
    assert f"{missing}: no such config file" in result.output and "config init" in result.output
    created = CliRunner().invoke(main, ["--config", str(missing), "config", "init"])
    assert created.exit_code == 0 and missing.exists()
    assert CliRunner().invoke(main, ["--config", str(missing), "accounts", "list"]).exit_code == 0


def test_help_version_and_bare_command():
    runner = CliRunner()
    bare = runner.invoke(main, [])
    assert bare.exit_code == 0 and "Usage:" in bare.output and "connect" in bare.output
    assert runner.invoke(main, ["-h"]).output == runner.invoke(main, ["--help"]).output
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("localgate, version ")
    config_help = runner.invoke(main, ["config", "--help"]).output
    assert "localgate config example" in config_help and "source tree" not in config_help
