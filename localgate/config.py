"""The config file: TOML read into frozen dataclasses, validated on load.

A config names *where* each account's secret lives (the keyring entry named
after the account, or an environment variable), never the secret itself.
A missing file is not an error: it reads as the defaults with no accounts.

`load_config` is for readers (the daemon, most commands); the commands that
edit the file use `localgate.cli.config_file.ConfigFile`, which validates with
`parse_config` before it writes.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from localgate.bounded import read_config
from localgate.errors import ConfigError, InputTooLarge
from localgate.providers import PROVIDERS

APP_NAME = "localgate"
CONFIG_FILENAME = "config.toml"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
STRATEGIES = ("sticky", "round-robin", "least-used", "fill-first")
DEFAULT_STRATEGY = "sticky"
DEFAULT_MAX_WAIT = 30.0
DEFAULT_MAX_BODY_MB = 32.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_SHUTDOWN_GRACE = 10.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_FIRST_BYTE_TIMEOUT = 60.0
DEFAULT_IDLE_TIMEOUT = 120.0
DEFAULT_RESPONSE_TIMEOUT = 600.0
DEFAULT_LEDGER_RETENTION_DAYS = 90
DEFAULT_MAX_EVENT_MB = 32.0
DEFAULT_MAX_RESPONSE_MB = 64.0
DEFAULT_RESPONSE_STORE_DAYS = 30
DEFAULT_RESPONSE_STORE_MB = 256.0
LIMIT_KEYS = ("rpm", "tpm", "rpd", "tpd")  # per-account limits localgate counts itself
# Provider-specific keys that take one of a few words.
EXTRA_CHOICES = {"api": ("chat", "responses")}

# Matched with fullmatch: `$` would also accept a trailing newline, which then
# reaches response headers (x-localgate-account) and splits them.
ACCOUNT_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
ENV_VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ServerConfig:
    """The `[server]` table: where the daemon listens and how it picks accounts."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    strategy: str = DEFAULT_STRATEGY  # sticky | round-robin | least-used | fill-first
    max_wait: float = DEFAULT_MAX_WAIT  # seconds a request may wait for a cooling account
    max_body_mb: float = DEFAULT_MAX_BODY_MB  # larger request bodies get 413
    allowed_origins: tuple[str, ...] = ()  # browser Origins allowed (CORS); none by default
    body_timeout: float = DEFAULT_BODY_TIMEOUT  # seconds to receive a whole request body
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE  # seconds in-flight requests get on SIGTERM
    ledger_retention_days: int = DEFAULT_LEDGER_RETENTION_DAYS  # usage rows older are deleted
    max_event_mb: float = DEFAULT_MAX_EVENT_MB  # one upstream stream event, at most
    max_response_mb: float = DEFAULT_MAX_RESPONSE_MB  # one non-stream upstream answer, at most
    # Responses kept for previous_response_id and GET /v1/responses/{id}: for so
    # many days, and in at most so much disk (the oldest go first).
    response_store_days: int = DEFAULT_RESPONSE_STORE_DAYS
    response_store_mb: float = DEFAULT_RESPONSE_STORE_MB


@dataclass(frozen=True)
class Timeouts:
    """The `[timeouts]` table, in seconds."""

    connect: float = DEFAULT_CONNECT_TIMEOUT  # TCP/TLS connect to an upstream
    first_byte: float = DEFAULT_FIRST_BYTE_TIMEOUT  # streaming: until the first body bytes
    idle: float = DEFAULT_IDLE_TIMEOUT  # streaming: longest silence between chunks
    response: float = DEFAULT_RESPONSE_TIMEOUT  # non-streaming: until the whole answer


@dataclass(frozen=True)
class AccountConfig:
    """One `[[accounts]]` table."""

    name: str
    provider: str  # a key of localgate.providers.PROVIDERS
    base_url: str | None = None
    models: tuple[str, ...] | None = None  # glob patterns; None = the provider's default
    key_env: str | None = None  # take the secret from this env var instead of the keyring
    priority: int = 0  # higher is preferred (fill-first order)
    enabled: bool = True
    rpm: int | None = None  # requests per minute localgate lets through (None: no limit)
    tpm: int | None = None  # tokens per minute
    rpd: int | None = None  # requests per rolling day
    tpd: int | None = None  # tokens per rolling day
    proxy: str | None = None  # "http://host:port", or "none"; None: HTTPS_PROXY & co.
    # Provider-specific keys (ProviderInfo.extra_keys), read-only. Left out of the
    # hash because its values (lists, tables) need not be hashable.
    extra: Mapping[str, Any] = field(default_factory=_empty_mapping, hash=False)

    @property
    def model_patterns(self) -> tuple[str, ...]:
        """The glob patterns this account serves: its own, or the provider's default."""
        if self.models is not None:
            return self.models
        return PROVIDERS[self.provider].default_models


@dataclass(frozen=True)
class Alias:
    """One `[aliases]` entry: a client model glob and its ordered targets."""

    pattern: str  # glob on the client's model name
    targets: tuple[str, ...]  # "model" or "provider-or-account:model"; later ones are fallbacks


@dataclass(frozen=True)
class Config:
    """The whole, validated configuration."""

    path: Path  # the file it came from (which may not exist)
    server: ServerConfig = field(default_factory=ServerConfig)
    timeouts: Timeouts = field(default_factory=Timeouts)
    accounts: tuple[AccountConfig, ...] = ()
    aliases: tuple[Alias, ...] = ()
    state_dir: Path = field(default_factory=lambda: default_state_dir())

    def account(self, name: str) -> AccountConfig | None:
        """The account called `name`, or None."""
        for account in self.accounts:
            if account.name == name:
                return account
        return None


def default_config_path() -> Path:
    """`config.toml` in platformdirs' user config dir (XDG_CONFIG_HOME on Linux)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / CONFIG_FILENAME


def default_state_dir() -> Path:
    """platformdirs' user state dir (XDG_STATE_HOME on Linux)."""
    from platformdirs import user_state_dir

    return Path(user_state_dir(APP_NAME))


def load_config(path: Path) -> Config:
    """Read and validate the config at `path`; a missing file gives the defaults."""
    return parse_config(read_toml(path), path)


def reload_config(current: Config) -> Config:
    """The config file again, for a daemon serving `current`.

    A file that is gone, empty, or cut short before its accounts would drop
    every account: that raises ConfigError (the daemon keeps `current`). A file
    without accounts is adopted when it says so (`accounts = []`, as
    `localgate accounts remove` writes it for the last one).
    """
    path = current.path
    data = read_toml(path)
    if current.accounts and "accounts" not in data:
        what = "is gone" if not path.exists() else "holds no accounts (emptied or cut short?)"
        raise ConfigError(
            f"{path} {what}; restore it. To remove every account on purpose, use "
            "`localgate accounts remove NAME` (or write `accounts = []`)"
        )
    return parse_config(data, path)


def read_toml(path: Path) -> dict[str, Any]:
    """The raw TOML tables of `path` ({} when it does not exist)."""
    path = Path(path)
    try:
        text = read_config(path)
    except InputTooLarge as exc:
        raise ConfigError(f"cannot read the config file: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message carries line and column
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate raw TOML tables into a Config; errors name `path` and the key."""
    check = _Checker(Path(path))
    check.keys(data, "", ("server", "timeouts", "accounts", "aliases", "state_dir"))
    server = _server(check, check.table(data, "server"))
    timeouts = _timeouts(check, check.table(data, "timeouts"))

    raw_accounts = data.get("accounts", [])
    if not isinstance(raw_accounts, list):
        check.fail("accounts", "must be an array of tables ([[accounts]])")
    accounts: list[AccountConfig] = []
    for index, raw in enumerate(raw_accounts):
        account = _account(check, raw, f"accounts[{index}]")
        if any(a.name == account.name for a in accounts):
            check.fail(f"accounts[{index}].name", f"duplicate account name {account.name!r}")
        accounts.append(account)

    aliases = _aliases(check, check.table(data, "aliases"))

    if "state_dir" in data:
        raw_dir = check.typed(data, "state_dir", "", str)
        state_dir = Path(raw_dir).expanduser()
        if not state_dir.is_absolute():  # relative to the config file, not the cwd
            state_dir = Path(path).parent / state_dir
    else:
        state_dir = default_state_dir()
    return Config(Path(path), server, timeouts, tuple(accounts), aliases, state_dir)


class _Checker:
    """Small helpers that turn bad values into ConfigErrors naming file and key."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str):
        raise ConfigError(f"{self.path}: {key}: {problem}")

    def keys(self, table: Mapping[str, Any], prefix: str, allowed) -> None:
        for key in table:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                why = f"did you mean {hint[0]!r}?" if hint else "allowed: " + ", ".join(allowed)
                self.fail(prefix + key, f"unknown key ({why})")

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, f"must be a table ([{key}]), not {_kind(value)}")
        return value

    def typed(self, table: Mapping[str, Any], key: str, prefix: str, kind: type):
        """table[key], checked to be of `kind` (ints count as floats, bools as nothing else)."""
        value = table[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
            self.fail(prefix + key, f"must be {names[kind]}, not {_kind(value)}")
        return value

    def positive(self, table: Mapping[str, Any], key: str, prefix: str) -> float:
        value = self.typed(table, key, prefix, float)
        if value <= 0:
            self.fail(prefix + key, f"must be greater than 0, not {value:g}")
        return value

    def strings(self, table: Mapping[str, Any], key: str, prefix: str) -> tuple[str, ...]:
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(prefix + key, f"must be a list of non-empty strings, not {value!r}")
        return tuple(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _toml_key(key: str) -> str:
    """`key` as it would be written in TOML: bare when it can be, quoted otherwise."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _server(check: _Checker, raw: Mapping[str, Any]) -> ServerConfig:
    p = "server."
    check.keys(
        raw,
        p,
        (
            "host",
            "port",
            "strategy",
            "max_wait",
            "max_body_mb",
            "allowed_origins",
            "body_timeout",
            "shutdown_grace",
            "ledger_retention_days",
            "max_event_mb",
            "max_response_mb",
            "response_store_days",
            "response_store_mb",
        ),
    )
    values: dict[str, Any] = {}
    if "host" in raw:
        values["host"] = check.typed(raw, "host", p, str)
        if not values["host"]:
            check.fail(p + "host", "must not be empty")
    if "port" in raw:
        values["port"] = check.typed(raw, "port", p, int)
        if not 1 <= values["port"] <= 65535:
            check.fail(p + "port", f"must be between 1 and 65535, not {values['port']}")
    if "strategy" in raw:
        values["strategy"] = check.typed(raw, "strategy", p, str)
        if values["strategy"] not in STRATEGIES:
            choices = ", ".join(STRATEGIES)
            check.fail(p + "strategy", f"{values['strategy']!r} is not one of {choices}")
    if "max_wait" in raw:
        values["max_wait"] = check.typed(raw, "max_wait", p, float)
        if values["max_wait"] < 0:
            check.fail(p + "max_wait", "must not be negative")
    if "max_body_mb" in raw:
        values["max_body_mb"] = check.positive(raw, "max_body_mb", p)
    for key in ("max_event_mb", "max_response_mb"):
        if key in raw:
            values[key] = check.positive(raw, key, p)
    if "allowed_origins" in raw:
        values["allowed_origins"] = check.strings(raw, "allowed_origins", p)
    if "body_timeout" in raw:
        values["body_timeout"] = check.positive(raw, "body_timeout", p)
    if "shutdown_grace" in raw:
        values["shutdown_grace"] = check.typed(raw, "shutdown_grace", p, float)
        if values["shutdown_grace"] < 0:
            check.fail(p + "shutdown_grace", "must not be negative")
    for key in ("ledger_retention_days", "response_store_days"):
        if key in raw:
            values[key] = check.typed(raw, key, p, int)
            if values[key] < 1:
                check.fail(p + key, "must be at least 1")
    if "response_store_mb" in raw:
        values["response_store_mb"] = check.positive(raw, "response_store_mb", p)
    return ServerConfig(**values)


def _timeouts(check: _Checker, raw: Mapping[str, Any]) -> Timeouts:
    p = "timeouts."
    names = ("connect", "first_byte", "idle", "response")
    check.keys(raw, p, names)
    return Timeouts(**{key: check.positive(raw, key, p) for key in names if key in raw})


_ACCOUNT_KEYS = (
    "name",
    "provider",
    "base_url",
    "models",
    "key_env",
    "priority",
    "enabled",
    "proxy",
    *LIMIT_KEYS,
)
# Keys people write when they paste a key into the file: refused with where keys belong.
SECRET_KEYS = ("key", "api_key", "apikey", "api-key", "secret", "token", "password")


def _account(check: _Checker, raw: Any, p: str) -> AccountConfig:
    if not isinstance(raw, dict):
        check.fail(p, f"must be a table ([[accounts]]), not {_kind(raw)}")
    for required in ("name", "provider"):
        if required not in raw:
            check.fail(f"{p}.{required}", "is required")
    name = check.typed(raw, "name", p + ".", str)
    if not ACCOUNT_NAME_RE.fullmatch(name):
        check.fail(f"{p}.name", f"{name!r} may only use letters, digits, '-', '_' and '.'")
    provider = check.typed(raw, "provider", p + ".", str)
    if provider not in PROVIDERS:
        check.fail(f"{p}.provider", f"{provider!r} is not a provider ({', '.join(PROVIDERS)})")
    extra_keys = PROVIDERS[provider].extra_keys
    for key in raw:
        if key in _ACCOUNT_KEYS or key in extra_keys:
            continue
        if key.lower() in SECRET_KEYS:
            check.fail(
                f"{p}.{key}",
                "keys do not belong in the config file (it is not encrypted, and gets copied "
                f"and shared). Delete this line, then store the key with `localgate accounts "
                f"edit {name} --key` (the keyring), or name an environment variable with "
                '`key_env = "VAR"`',
            )
        takers = [info.name for info in PROVIDERS.values() if key in info.extra_keys]
        if takers:
            check.fail(f"{p}.{key}", f"only accepted for {' and '.join(takers)} accounts")
        check.keys({key: None}, p + ".", _ACCOUNT_KEYS + extra_keys)

    values: dict[str, Any] = {"name": name, "provider": provider}
    if "base_url" in raw:
        url = check.typed(raw, "base_url", p + ".", str)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            check.fail(f"{p}.base_url", f"{url!r} must be an http:// or https:// URL")
        values["base_url"] = url
    if "models" in raw:
        values["models"] = check.strings(raw, "models", p + ".")
        if not values["models"]:
            check.fail(
                f"{p}.models",
                "must list at least one pattern (leave it out for the provider's default)",
            )
    if "key_env" in raw:
        values["key_env"] = check.typed(raw, "key_env", p + ".", str)
        if not ENV_VAR_RE.fullmatch(values["key_env"]):
            # Shown only when it cannot be a key: a pasted key must not reach a terminal.
            shown = repr(values["key_env"]) if len(values["key_env"]) < 16 else "this value"
            check.fail(
                f"{p}.key_env",
                f"{shown} is not an environment variable name. key_env names the variable "
                f'that holds the key (key_env = "ANTHROPIC_API_KEY"), not the key itself: '
                f"keys go in the keyring (`localgate accounts edit {name} --key`)",
            )
    if "proxy" in raw:
        values["proxy"] = check.typed(raw, "proxy", p + ".", str)
        parts = urlsplit(values["proxy"])
        if values["proxy"] != "none" and (
            parts.scheme not in ("http", "https") or not parts.netloc
        ):
            check.fail(
                f"{p}.proxy",
                f'{values["proxy"]!r} must be an http:// proxy URL, or "none" for a direct '
                "connection",
            )
    if "priority" in raw:
        values["priority"] = check.typed(raw, "priority", p + ".", int)
    if "enabled" in raw:
        values["enabled"] = check.typed(raw, "enabled", p + ".", bool)
    for key in LIMIT_KEYS:
        if key in raw:
            values[key] = check.typed(raw, key, p + ".", int)
            if values[key] < 1:
                check.fail(f"{p}.{key}", f"must be at least 1, not {values[key]}")
    for key, pattern, allowed in PROVIDERS[provider].extra_formats:
        if key in raw:
            value = check.typed(raw, key, p + ".", str)
            if not re.fullmatch(pattern, value):
                check.fail(f"{p}.{key}", f"{value!r} is not {allowed}")
    extra = {key: raw[key] for key in extra_keys if key in raw}
    for key, choices in EXTRA_CHOICES.items():
        if key in extra and extra[key] not in choices:
            words = ", ".join(map(repr, choices))
            check.fail(f"{p}.{key}", f"must be one of {words}, not {extra[key]!r}")
    return AccountConfig(**values, extra=MappingProxyType(extra))


def _aliases(check: _Checker, raw: Mapping[str, Any]) -> tuple[Alias, ...]:
    aliases = []
    for pattern, targets in raw.items():
        key = "aliases." + _toml_key(pattern)
        if not isinstance(targets, list) or not targets:
            check.fail(key, f"must be a non-empty list of model names, not {_kind(targets)}")
        if not all(isinstance(t, str) and t for t in targets):
            check.fail(key, f"must be a list of non-empty strings, not {targets!r}")
        aliases.append(Alias(pattern, tuple(targets)))
    return tuple(aliases)
