"""Names that end up in URLs, headers and log lines: accounts, Vertex project and region."""

from __future__ import annotations

import pytest

from localgate.config import parse_config
from localgate.errors import ConfigError


def vertex(**keys) -> dict:
    return {"accounts": [{"name": "g", "provider": "vertex", "project": "proj", **keys}]}


@pytest.mark.parametrize("name", ["work\n", "work\r\nx-evil: 1", "wo rk", "", "a/b", "work\x00"])
def test_account_names_are_matched_in_full(name, tmp_path):
    data = {"accounts": [{"name": name, "provider": "anthropic"}]}
    with pytest.raises(ConfigError, match="name"):
        parse_config(data, tmp_path / "c.toml")


def test_key_env_is_matched_in_full(tmp_path):
    data = {"accounts": [{"name": "a", "provider": "anthropic", "key_env": "KEY\n"}]}
    with pytest.raises(ConfigError, match="key_env"):
        parse_config(data, tmp_path / "c.toml")


@pytest.mark.parametrize(
    "keys",
    [
        {"region": "evil.example/#"},
        {"region": "us-central1.evil.example"},
        {"region": "us-central1\n"},
        {"region": "US-CENTRAL1"},
        {"region": "a@b"},
        {"project": "evil.example/#"},
        {"project": "proj/../../x"},
        {"project": "proj\n"},
        {"project": "Proj"},
        {"project": "x" * 40},
        {"project": 7},
    ],
)
def test_vertex_region_and_project_are_what_google_allows(keys, tmp_path):
    with pytest.raises(ConfigError, match="region|project"):
        parse_config(vertex(**keys), tmp_path / "c.toml")


@pytest.mark.parametrize(
    "keys",
    [
        {"region": "us-central1"},
        {"region": "europe-west4"},
        {"region": "northamerica-northeast1"},
        {"region": "global"},
        {"region": "us"},
        {"project": "my-project-123"},
        {"project": "example.com:my-project"},
    ],
)
def test_real_vertex_regions_and_projects_pass(keys, tmp_path):
    account = parse_config(vertex(**keys), tmp_path / "c.toml").accounts[0]
    for key, value in keys.items():
        assert account.extra[key] == value


def test_vertex_cli_refuses_a_region_that_moves_the_host(tmp_path):
    from click.testing import CliRunner

    from localgate.cli import main

    config = tmp_path / "c.toml"
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "accounts", "add", "g", "--provider", "vertex",
         "--project", "proj", "--region", "evil.example/#", "--adc"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "region" in result.output and not config.exists()
