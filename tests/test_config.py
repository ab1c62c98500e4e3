"""Config loading, validation messages and atomic editing."""

from __future__ import annotations

from pathlib import Path

import pytest

from localgate import providers
from localgate.config import (
    AccountConfig,
    Alias,
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
    assert gcp.model_patterns == providers.info("vertex").default_models  # the default
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
    (ACCOUNT + "api_key = 'sk'", "accounts[0].api_key: keys do not belong in the config file"),
    (ACCOUNT + "key_env = 'sk-ant-api03-abcdefgh'", "accounts[0].key_env: this value is not an"),
    (ACCOUNT + "proxy = 'socks://x'", "accounts[0].proxy: 'socks://x' must be an http:// proxy"),
    (ACCOUNT + 'project = "p"', "accounts[0].project: only accepted for vertex accounts"),
    (ACCOUNT + 'api = "chat"', "accounts[0].api: only accepted for openai accounts"),
    (
        '[[accounts]]\nname = "o"\nprovider = "openai"\napi = "completions"',
        "accounts[0].api: must be one of 'chat', 'responses', not 'completions'",
    ),
    ("[server]\nresponse_store_days = 0", "server.response_store_days: must be at least 1"),
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


@pytest.mark.parametrize("where", ["huge", "/dev/zero"])
def test_a_path_that_is_no_config_file_is_not_read_whole(tmp_path, where):
    """A --config naming a disk image or a device by mistake: a clear error, at once."""
    path = Path(where)
    if where == "huge":
        path = tmp_path / "config.toml"
        path.write_text("# " + "x" * (2 << 20) + "\n")  # valid TOML, 2 MB of comment
    with pytest.raises(ConfigError, match="holds more than 1 MB, which no config file does"):
        load_config(path)


def test_a_non_utf8_config_is_a_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'state_dir = "\xff"\n')
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(path)
