"""Config loading, validation messages and atomic editing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from localgate.config import (
    FILE_HEADER,
    AccountConfig,
    Alias,
    ConfigFile,
    ServerConfig,
    Timeouts,
    default_config_path,
    load_config,
)
from localgate.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = load_config(tmp_path / "nope.toml")
    assert config.path == tmp_path / "nope.toml"
    assert config.server == ServerConfig()
    assert config.server.host == "127.0.0.1" and config.server.port == 8080
    assert config.timeouts == Timeouts()
    assert config.accounts == () and config.aliases == ()
    assert config.state_dir == tmp_path / "state" / "localgate"


def test_default_config_path_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "localgate" / "config.toml"


def test_example_file_is_valid():
    config = load_config(EXAMPLE)
    assert [a.name for a in config.accounts] == ["work", "openrouter"]
    assert config.aliases == (
        Alias("claude-*-haiku-*", ("claude-haiku-4-5", "openai:gpt-4o-mini")),
    )
    assert "NOT preserve comments" in EXAMPLE.read_text()


def test_full_config(tmp_path):
    path = write(
        tmp_path,
        """
        state_dir = "state"
        [server]
        host = "::1"
        port = 9000
        strategy = "fill-first"
        max_wait = 0
        max_body_mb = 1
        allowed_origins = ["http://localhost:3000"]
        [timeouts]
        connect = 1
        idle = 2.5
        [[accounts]]
        name = "work.main_1-a"
        provider = "anthropic"
        base_url = "http://127.0.0.1:9999"
        models = ["claude-*", "x"]
        key_env = "MY_KEY"
        priority = 5
        enabled = false
        [[accounts]]
        name = "gcp"
        provider = "vertex"
        project = "p"
        region = "us-east5"
        [aliases]
        "gpt-*" = ["work:claude-haiku-4-5", "gpt-4o-mini"]
        """,
    )
    config = load_config(path)
    assert config.server == ServerConfig(
        "::1", 9000, "fill-first", 0.0, 1.0, ("http://localhost:3000",)
    )
    assert config.timeouts == Timeouts(connect=1.0, idle=2.5)
    assert isinstance(config.timeouts.connect, float)
    work, gcp = config.accounts
    assert work == AccountConfig(
        "work.main_1-a", "anthropic", "http://127.0.0.1:9999", ("claude-*", "x"), "MY_KEY", 5, False
    )
    assert work.model_patterns == ("claude-*", "x")
    assert dict(gcp.extra) == {"project": "p", "region": "us-east5"}
    assert gcp.model_patterns == ("gemini-*", "claude-*")  # the provider default
    with pytest.raises(TypeError):
        gcp.extra["project"] = "other"  # read-only
    hash(gcp)  # usable as a dict key although extra is a mapping
    assert config.account("gcp") is gcp and config.account("nope") is None
    assert config.state_dir == tmp_path / "state"  # relative to the file
    assert config.aliases == (Alias("gpt-*", ("work:claude-haiku-4-5", "gpt-4o-mini")),)


def test_state_dir_expands_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(write(tmp_path, 'state_dir = "~/st"'))
    assert config.state_dir == tmp_path / "st"


ACCOUNT = '[[accounts]]\nname = "a"\nprovider = "anthropic"\n'

# (config text, the message after "<path>: ")
ERRORS = [
    ('[server]\nport = \nhost = "x"', "invalid TOML: Invalid value (at line 2, column 8)"),
    ("colour = 1", "colour: unknown key (allowed: server, timeouts, accounts, aliases, state_dir)"),
    ("acounts = []", "acounts: unknown key (did you mean 'accounts'?)"),
    ("[server]\nprot = 1", "server.prot: unknown key (did you mean 'port'?)"),
    ("[timeouts]\nread = 1", "timeouts.read: unknown key (allowed: connect, first_byte, idle, "),
    ("server = 1", "server: must be a table ([server]), not int 1"),
    ('[server]\nport = "80"', "server.port: must be an integer, not str '80'"),
    ("[server]\nport = true", "server.port: must be an integer, not boolean true"),
    ("[server]\nport = 70000", "server.port: must be between 1 and 65535, not 70000"),
    ("[server]\nport = 0", "server.port: must be between 1 and 65535, not 0"),
    ('[server]\nhost = ""', "server.host: must not be empty"),
    (
        '[server]\nstrategy = "random"',
        "server.strategy: 'random' is not one of sticky, round-robin, least-used, fill-first",
    ),
    ("[server]\nmax_wait = -1", "server.max_wait: must not be negative"),
    ("[server]\nmax_body_mb = 0", "server.max_body_mb: must be greater than 0, not 0"),
    ('[server]\nallowed_origins = "x"', "server.allowed_origins: must be a list of non-empty"),
    ('[timeouts]\nidle = "1s"', "timeouts.idle: must be a number, not str '1s'"),
    ("[timeouts]\nconnect = -2", "timeouts.connect: must be greater than 0, not -2"),
    ("accounts = 1", "accounts: must be an array of tables ([[accounts]])"),
    ("accounts = [1]", "accounts[0]: must be a table ([[accounts]]), not int 1"),
    ('[[accounts]]\nprovider = "openai"', "accounts[0].name: is required"),
    ('[[accounts]]\nname = "a"', "accounts[0].provider: is required"),
    (
        ACCOUNT + '[[accounts]]\nname = "b"\nprovider = "antropic"',
        "accounts[1].provider: 'antropic' is not a provider (anthropic, openai, gemini, vertex)",
    ),
    (ACCOUNT + ACCOUNT, "accounts[1].name: duplicate account name 'a'"),
    (
        '[[accounts]]\nname = "my work"\nprovider = "openai"',
        "accounts[0].name: 'my work' may only use letters, digits, '-', '_' and '.'",
    ),
    ('[[accounts]]\nname = 3\nprovider = "openai"', "accounts[0].name: must be a string, not int"),
    (ACCOUNT + "modles = []", "accounts[0].modles: unknown key (did you mean 'models'?)"),
    (ACCOUNT + "api_key = 'sk'", "accounts[0].api_key: unknown key (allowed: name, provider, "),
    (ACCOUNT + 'project = "p"', "accounts[0].project: only accepted for vertex accounts"),
    (
        ACCOUNT + 'base_url = "ftp://x"',
        "accounts[0].base_url: 'ftp://x' must be an http:// or https:// URL",
    ),
    (
        ACCOUNT + 'base_url = "api.openai.com"',
        "accounts[0].base_url: 'api.openai.com' must be an http:// or https:// URL",
    ),
    (ACCOUNT + 'models = "claude-*"', "accounts[0].models: must be a list of non-empty strings"),
    (ACCOUNT + "models = []", "accounts[0].models: must list at least one pattern"),
    (ACCOUNT + 'key_env = "MY-KEY"', "accounts[0].key_env: 'MY-KEY' is not an environment"),
    (ACCOUNT + "priority = 1.5", "accounts[0].priority: must be an integer, not float 1.5"),
    (ACCOUNT + 'enabled = "no"', "accounts[0].enabled: must be true or false, not str 'no'"),
    ("aliases = []", "aliases: must be a table ([aliases]), not a list"),
    (
        '[aliases]\n"claude-*" = "gpt-4o"',
        'aliases."claude-*": must be a non-empty list of model names, not str',
    ),
    ("[aliases]\nfast = []", "aliases.fast: must be a non-empty list of model names, not a list"),
    ('[aliases]\nfast = ["a", 1]', "aliases.fast: must be a list of non-empty strings"),
    ("state_dir = 1", "state_dir: must be a string, not int 1"),
]


@pytest.mark.parametrize("text, message", ERRORS, ids=[m.split(":")[0] for _, m in ERRORS])
def test_validation_errors_name_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_unreadable_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path)  # a directory


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
