"""ConfigFile: editing the config from the CLI, saved atomically with mode 0600."""

from __future__ import annotations

import os
import stat
import tomllib

import pytest

from localgate.cli.config_file import FILE_HEADER, ConfigFile, dumps_toml
from localgate.config import load_config
from localgate.errors import ConfigError

ACCOUNT = '[[accounts]]\nname = "a"\nprovider = "anthropic"\n'


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_file_edit_and_save(tmp_path):
    path = tmp_path / "new" / "dir" / "config.toml"
    cf = ConfigFile.load(path)
    assert cf.data == {}
    assert cf.put_account({"name": "a", "provider": "anthropic"}) is False
    assert cf.put_account({"name": "b", "provider": "openai", "priority": 2}) is False
    config = cf.save()
    assert [a.name for a in config.accounts] == ["a", "b"]

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert text.startswith(FILE_HEADER) and "NOT preserved" in text
    assert os.listdir(path.parent) == ["config.toml"]  # no temp file left behind

    cf = ConfigFile.load(path)
    assert cf.put_account({"name": "a", "provider": "gemini"}) is True
    cf.update_account("b", enabled=False, priority=None)
    assert cf.remove_account("nope") is False
    cf.save()
    config = load_config(path)
    assert config.account("a").provider == "gemini"
    assert config.account("b").enabled is False and config.account("b").priority == 0

    cf = ConfigFile.load(path)
    assert cf.remove_account("a") is True
    cf.save()
    assert [a.name for a in load_config(path).accounts] == ["b"]


def test_save_keeps_existing_dir_mode(tmp_path):
    tmp_path.chmod(0o755)  # a directory the user chose is not ours to tighten
    cf = ConfigFile(tmp_path / "c.toml", {})
    cf.save()
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "c.toml").stat().st_mode) == 0o600


def test_invalid_edit_is_not_written(tmp_path):
    path = write(tmp_path, ACCOUNT)
    before = path.read_text()
    cf = ConfigFile.load(path)
    cf.put_account({"name": "b", "provider": "nope"})
    with pytest.raises(ConfigError, match=r"accounts\[1\]\.provider: 'nope' is not a provider"):
        cf.save()
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["config.toml"]


def test_update_unknown_account(tmp_path):
    cf = ConfigFile.load(tmp_path / "c.toml")
    with pytest.raises(ConfigError, match="no account named 'x'"):
        cf.update_account("x", enabled=False)


def test_refuses_to_edit_a_broken_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 0")
    with pytest.raises(ConfigError, match="server.port"):
        ConfigFile.load(path)


def test_dumps_toml_writes_account_tables_and_notes():
    data = {
        "state_dir": "/s",
        "server": {"port": 1},
        "aliases": {"x-*": ["a"]},
        "accounts": [
            {"name": "a", "provider": "openai"},
            {"name": "g", "provider": "vertex", "project": "p", "model_ids": {"m": "n"}},
        ],
    }
    text = dumps_toml(data, {"g": "key: keyring"})
    assert tomllib.loads(text) == data
    assert text.count("[[accounts]]") == 2 and "accounts = [" not in text
    assert '[[accounts]]\n# key: keyring\nname = "g"' in text
    assert text.index("[[accounts]]") < text.index("[aliases]")
