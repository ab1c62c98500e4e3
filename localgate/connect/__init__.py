"""Pointing a client (Claude Code, Codex, Gemini CLI) at localgate by editing its own config.

Each client module plans `FileEdit`s: a file's text before and after, and the
values it replaces that pointed elsewhere (conflicts). `apply` keeps a backup
of each file's original next to it (`<file>.localgate-backup`, once: a second
connect keeps the first backup) and records in the state dir what it wrote,
so `undo` puts back the original — or removes a file that did not exist — and
refuses to throw away changes made to the file since.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from localgate.bounded import read_config
from localgate.errors import ClientConfigError, InputTooLarge

BACKUP_SUFFIX = ".localgate-backup"
CLIENTS = ("claude-code", "codex", "gemini-cli")
NO_TOKEN_KEY = "localgate"  # the API key clients send when no proxy token is set: any value works


@dataclass(frozen=True)
class Target:
    """What a client is connected to: the daemon's base URL, and the token if one is set."""

    url: str  # http://127.0.0.1:8080, no trailing slash
    token: str | None = None
    model: str | None = None  # the model the client should ask for (Codex), when given

    @property
    def key(self) -> str:
        """The API key the client should send."""
        return self.token or NO_TOKEN_KEY


@dataclass
class FileEdit:
    """One client file: its text now (None: missing) and as it should be."""

    path: Path
    before: str | None
    after: str
    conflicts: list[str] = field(default_factory=list)  # "KEY = value (points elsewhere)"
    private: bool = False  # holds a token: written 0600

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self, secret: str | None = None) -> str:
        """A unified diff, with `secret` masked."""
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=str(self.path) if self.before is not None else "/dev/null",
            tofile=str(self.path),
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        return mask(text, secret)


def mask(text: str, secret: str | None) -> str:
    """`text` with `secret` shown as its first 6 characters and an ellipsis."""
    if not secret:
        return text
    return text.replace(secret, secret[:6] + "…")


def plan(client: str, target: Target, env: dict[str, str] | None = None) -> list[FileEdit]:
    """The edits that connect `client` to `target` (files read now, nothing written)."""
    env = dict(os.environ if env is None else env)
    if client == "claude-code":
        from localgate.connect import claude_code as module
    elif client == "codex":
        from localgate.connect import codex as module
    elif client == "gemini-cli":
        from localgate.connect import gemini_cli as module
    else:
        raise ClientConfigError(f"unknown client {client!r} (one of {', '.join(CLIENTS)})")
    return module.plan(target, env)


def read_text(path: Path) -> str | None:
    """The file's text, None when it does not exist; a ClientConfigError when unreadable."""
    try:
        return read_config(path)
    except InputTooLarge as exc:
        raise ClientConfigError(f"cannot read the client's config: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClientConfigError(f"cannot read {path}: {exc}") from exc


def apply(client: str, edits: list[FileEdit], state_dir: Path) -> list[Path]:
    """Back up and write every changed file; record it for `undo`. The files written."""
    record = _load_record(state_dir, client)
    written = []
    for edit in edits:
        if not edit.changed:
            continue
        key = str(edit.path)
        backup = edit.path.with_name(edit.path.name + BACKUP_SUFFIX)
        if key not in record:  # the first connect: what was there before localgate
            if edit.before is not None:
                _write(backup, edit.before, private=True)
            record[key] = {"existed": edit.before is not None, "backup": str(backup)}
        _write(edit.path, edit.after, private=edit.private)
        record[key]["written"] = _digest(edit.after)
        written.append(edit.path)
    _save_record(state_dir, client, record)
    return written


def undo(client: str, state_dir: Path, *, force: bool = False) -> list[str]:
    """Restore what `apply` changed for `client`; what was done, as lines for the user.

    A file changed since localgate wrote it is left alone (ClientConfigError)
    unless `force`.
    """
    record = _load_record(state_dir, client)
    if not record:
        raise ClientConfigError(f"{client} was not connected by localgate: nothing to undo")
    edited = [
        path
        for path, entry in record.items()
        if Path(path).exists() and _digest(read_text(Path(path)) or "") != entry.get("written")
    ]
    if edited and not force:
        raise ClientConfigError(
            "changed since `localgate connect` wrote it: "
            + ", ".join(edited)
            + ". Undoing would lose those changes; check the file, then `--undo --yes`"
        )
    done = []
    for path, entry in record.items():
        target, backup = Path(path), Path(entry["backup"])
        if entry["existed"]:
            if not backup.exists():
                raise ClientConfigError(f"the backup {backup} is gone: restore {target} by hand")
            os.replace(backup, target)
            done.append(f"restored {target} from {backup.name}")
        else:
            target.unlink(missing_ok=True)
            done.append(f"removed {target} (it did not exist before)")
    _record_path(state_dir, client).unlink(missing_ok=True)
    return done


def _write(path: Path, text: str, *, private: bool) -> None:
    """Replace `path` atomically, keeping its mode (0600 when it holds a token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    if private:
        mode = 0o600
    tmp = path.with_name(f".{path.name}.localgate-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _record_path(state_dir: Path, client: str) -> Path:
    return Path(state_dir) / "connected" / f"{client}.json"


def _load_record(state_dir: Path, client: str) -> dict:
    path = _record_path(state_dir, client)
    text = read_text(path)
    try:
        return json.loads(text) if text is not None else {}
    except ValueError as exc:
        raise ClientConfigError(f"cannot read {path}: {exc}") from exc


def _save_record(state_dir: Path, client: str, record: dict) -> None:
    from localgate.files import private_dir

    path = _record_path(state_dir, client)
    private_dir(path.parent)
    _write(path, json.dumps(record, indent=2), private=True)


def connected_clients(state_dir: Path) -> list[str]:
    """The clients `connect` has written and not undone."""
    return [c for c in CLIENTS if _record_path(state_dir, c).exists()]
