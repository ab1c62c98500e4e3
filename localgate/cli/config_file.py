"""Editing the config file from the command line.

`ConfigFile` keeps the raw TOML tables, validates the result with the same
rules as `load_config` before writing, and replaces the file atomically
(temp file in the same dir, fsync, rename) so a daemon that hot-reloads never
sees half a file. The file is written with mode 0600, in a 0700 dir when it
creates the dir. tomli-w cannot keep comments: the header says so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localgate.config import Config, parse_config, read_toml
from localgate.errors import ConfigError
from localgate.files import private_dir

# Written at the top of every file localgate saves: tomli-w cannot keep comments.
FILE_HEADER = """\
# localgate configuration, written by `localgate accounts ...`.
# localgate rewrites this whole file when you edit accounts from the command line,
# so comments you add here are NOT preserved. Every key is documented in
# config.example.toml. Secrets are never stored here: they live in the OS keyring
# (or in the environment variable an account names with key_env).

"""


class ConfigFile:
    """The config file as raw TOML tables, for commands that edit it.

    cf = ConfigFile.load(path)
    cf.put_account({"name": "work", "provider": "anthropic"})
    cf.save()          # validates, then replaces the file atomically (mode 0600)
    """

    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = Path(path)
        self.data = data

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        """The file at `path`, validated; a missing file starts empty."""
        data = read_toml(path)
        parse_config(data, path)  # refuse to edit a file that is already broken
        return cls(Path(path), data)

    def _accounts(self) -> list[dict[str, Any]]:
        return self.data.setdefault("accounts", [])

    def account(self, name: str) -> dict[str, Any] | None:
        """The raw table of account `name` (a live reference), or None."""
        for table in self.data.get("accounts", []):
            if table.get("name") == name:
                return table
        return None

    def put_account(self, table: dict[str, Any]) -> bool:
        """Add the account table, or replace the one with its name; True if replaced."""
        accounts = self._accounts()
        for index, existing in enumerate(accounts):
            if existing.get("name") == table["name"]:
                accounts[index] = table
                return True
        accounts.append(table)
        return False

    def update_account(self, name: str, **changes: Any) -> None:
        """Set keys of account `name`; a value of None removes the key."""
        table = self.account(name)
        if table is None:
            raise ConfigError(f"{self.path}: no account named {name!r}")
        for key, value in changes.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value

    def remove_account(self, name: str) -> bool:
        """Drop account `name`; False when there was none."""
        accounts = self.data.get("accounts", [])
        kept = [table for table in accounts if table.get("name") != name]
        if len(kept) == len(accounts):
            return False
        self.data["accounts"] = kept
        return True

    def validate(self) -> Config:
        """The Config these tables make (raises ConfigError, naming the key)."""
        return parse_config(self.data, self.path)

    def save(self) -> Config:
        """Validate, then write atomically: temp file in the same dir, fsync, replace."""
        config = self.validate()
        write_private(self.path, FILE_HEADER + dumps_toml(self.data))
        return config


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (temp file, fsync, rename), mode 0600 in a 0700 dir.

    A daemon that hot-reloads never sees half a file.
    """
    import tempfile

    directory = private_dir(path.parent)
    # mkstemp creates the file with mode 0600 whatever the umask.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(directory)


EXAMPLE_NAME = "config.example.toml"


def example_config() -> str:
    """The documented example config, from where localgate was installed (or its source)."""
    import site
    import sys
    import sysconfig

    places = [
        Path(sysconfig.get_path("data")) / "share" / "localgate",  # pip, pipx, a venv
        Path(sys.prefix) / "share" / "localgate",
        Path(site.getuserbase()) / "share" / "localgate",  # pip install --user
        Path(__file__).resolve().parents[2],  # a source checkout (editable install)
    ]
    for place in places:
        try:
            return (place / EXAMPLE_NAME).read_text(encoding="utf-8")
        except OSError:
            continue
    raise ConfigError(
        f"{EXAMPLE_NAME} is not installed here (looked in {', '.join(map(str, places))}); "
        "reinstall localgate"
    )


STARTER_HEADER = """\
# localgate configuration, written by `localgate config init`.
# Every key is below, commented out with its default: uncomment what you change.
# `localgate config edit` opens this file and checks it before keeping a change.
# Keys (secrets) never go here: `localgate accounts add NAME --provider P` keeps
# them in the keyring.

"""


def starter_config() -> str:
    """The example with every setting commented out: valid, and the defaults.

    Table headers ([server], [timeouts], [aliases]) stay, so a line uncommented
    under one lands in its table; account tables ([[accounts]]) are commented
    out whole, since an account without its keys is invalid.
    """
    lines = []
    for line in example_config().splitlines():
        stripped = line.strip()
        keep = not stripped or stripped.startswith("#") or _TABLE_HEADER.match(stripped)
        lines.append(line if keep else "# " + line)
    return STARTER_HEADER + "\n".join(lines) + "\n"


_TABLE_HEADER = re.compile(r"^\[[^\[\]]+\]\s*(#.*)?$")  # [server], not [[accounts]]


def dumps_toml(data: Mapping[str, Any], notes: Mapping[str, str] | None = None) -> str:
    """`data` as TOML, each account as an `[[accounts]]` table.

    tomli-w would write short accounts as inline tables in an `accounts = [...]`
    array; the `[[accounts]]` form is what people read and edit by hand.
    `notes` maps an account name to a comment written under its header.
    """
    import tomli_w

    # Accounts go between the settings and the aliases, as in config.example.toml.
    head = {k: v for k, v in data.items() if k not in ("accounts", "aliases")}
    if "accounts" in data and not data["accounts"]:
        # Said outright: a running daemon adopts "no accounts" only from a file
        # that says so, not from one that was emptied or cut short.
        head = {"accounts": [], **head}
    parts = [tomli_w.dumps(head)] if head else []
    for table in data.get("accounts", []):
        nested = {k: v for k, v in table.items() if _is_table(v)}
        flat = {k: v for k, v in table.items() if k not in nested}
        note = (notes or {}).get(table.get("name"))
        parts.append(
            "[[accounts]]\n"
            + (f"# {note}\n" if note else "")
            + tomli_w.dumps(flat)
            + (tomli_w.dumps({"accounts": nested}) if nested else "")
        )
    if "aliases" in data:
        parts.append(tomli_w.dumps({"aliases": data["aliases"]}))
    return "\n".join(part if part.endswith("\n") else part + "\n" for part in parts)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every OS allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
