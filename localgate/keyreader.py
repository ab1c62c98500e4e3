"""The daemon's keyring reads, made by a short-lived child process.

The daemon reads the keyring at start and when its accounts change: a few
times a day. Keyring's backends, once loaded, stay for the process's life: on
a Linux desktop the Secret Service backend brings D-Bus and cryptography,
~9 MB of a ~56 MB daemon (even the null backend ~1.9 MB). So the daemon asks
a child, `python -m localgate.keyreader`, which reads the named entries with
`localgate.secrets` (the CLI's own code, errors and all) and exits.

The child gets the names on stdin as a JSON list and answers on stdout:
`{"keys": {name: {"value": str | None} | {"error": kind, "message": str}},
"plaintext": path | null}`. An error comes back as the SecretError it was;
its message never carries a secret (`secrets._call` names the backend's
exception type only). The child also keeps a plaintext keyring file private
and says where it is, for the daemon's warning at start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from localgate.errors import KeyringFailed, KeyringUnavailable, SecretError

# A Secret Service may be locked and ask the user to unlock it: the read waits
# for them (as an in-process read did), but not for ever.
TIMEOUT = 120.0  # seconds
_ERRORS: dict[str, type[SecretError]] = {
    "unavailable": KeyringUnavailable,
    "failed": KeyringFailed,
    "secret": SecretError,
}


@dataclass
class Keys:
    """What the child read: each name's value or error, and the plaintext keyring file."""

    found: dict[str, str | None | SecretError] = field(default_factory=dict)
    plaintext: Path | None = None

    def get(self, name: str) -> str | None:
        """The secret stored for `name` (None: none), or the SecretError reading it raised."""
        value = self.found.get(name)
        if isinstance(value, SecretError):
            raise value.with_traceback(None)  # each raise its own traceback, not a growing one
        return value


def read_keys(names: Iterable[str]) -> Keys:
    """Read the keyring entries `names` (and whether the keyring is a plaintext file)
    in a child process. Blocking: call off the event loop. A child that fails or
    does not answer in time makes every name a KeyringFailed."""
    names = list(dict.fromkeys(names))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "localgate.keyreader"],
            input=json.dumps(names).encode(),
            capture_output=True,  # its stderr unread: a backend's text may quote a key
            timeout=TIMEOUT,
            check=False,
            # Windows: no console window flashing up for it (0 elsewhere).
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except subprocess.TimeoutExpired:
        return _failed(
            names,
            f"cannot read the keyring: no answer within {TIMEOUT:.0f}s (is it locked, "
            "waiting to be unlocked?)",
        )
    except (OSError, ValueError) as exc:
        return _failed(
            names,
            f"cannot read the keyring: its reader did not start or answer ({type(exc).__name__})",
        )
    if not isinstance(answer, dict) or not isinstance(answer.get("keys"), dict):
        return _failed(
            names, f"cannot read the keyring: its reader failed (exit status {done.returncode})"
        )
    keys = Keys(plaintext=Path(answer["plaintext"]) if answer.get("plaintext") else None)
    for name in names:
        keys.found[name] = _entry(answer["keys"].get(name))
    return keys


def _entry(entry) -> str | None | SecretError:
    if isinstance(entry, dict) and "value" in entry:
        value = entry["value"]
        return value if isinstance(value, str) and value else None
    if isinstance(entry, dict) and entry.get("error") in _ERRORS:
        return _ERRORS[entry["error"]](str(entry.get("message", "")))
    return KeyringFailed("cannot read the keyring: its reader answered nothing for this entry")


def _failed(names: list[str], message: str) -> Keys:
    return Keys({name: KeyringFailed(message) for name in names})


def _read(name: str) -> dict:
    from localgate.secrets import get_secret

    try:
        return {"value": get_secret(name)}
    except SecretError as exc:
        kind = next(k for k, cls in _ERRORS.items() if isinstance(exc, cls))  # most specific first
        return {"error": kind, "message": str(exc)}


def main() -> None:
    """The child: names on stdin, what the keyring holds for them on stdout."""
    from localgate.secrets import protect_plaintext_keyring

    names = json.load(sys.stdin)
    try:
        plaintext = protect_plaintext_keyring()
    except Exception:  # a broken keyring is reported per entry, by `_read`
        plaintext = None
    answer = {
        "keys": {name: _read(name) for name in names if isinstance(name, str)},
        "plaintext": str(plaintext) if plaintext else None,
    }
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
