"""Fixtures for CLI tests: a config path in tmp and a file keyring in tmp."""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.core
import pytest
from click.testing import CliRunner, Result
from keyrings.alt.file import PlaintextKeyring

from localgate.cli import main


@pytest.fixture
def keyring_file(tmp_path, monkeypatch) -> PlaintextKeyring:
    """A plaintext keyring whose file lives in tmp; the real keyring is never touched."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # restored after the test
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def config_path(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("LOCALGATE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    return tmp_path / "cfg" / "config.toml"


@pytest.fixture
def cli(config_path, keyring_file):
    """Run `LOCALGATE_CONFIG=<tmp> localgate ARGS…`; returns the click Result.

    The variable, not --config: the file need not exist yet (--config naming a
    missing file is an error).
    """

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        # Wide enough that rich does not fold table cells mid-word.
        environ = {"COLUMNS": "200", "LOCALGATE_CONFIG": str(config_path), **(env or {})}
        return CliRunner(env=environ).invoke(main, list(args), input=input)

    return run
