"""Where account secrets live: the OS keyring, or an environment variable.

Each account's secret is one keyring entry under service "localgate" with the
account name as username. An account with `key_env` reads the named
environment variable instead and never touches the keyring.

Nothing here logs or prints a secret, and no error message carries one.
`keyring` is imported on first use so that importing this module stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from localgate.errors import KeyringFailed, KeyringUnavailable, SecretError

if TYPE_CHECKING:
    from localgate.config import AccountConfig

SERVICE = "localgate"

NO_BACKEND_HELP = (
    "no usable keyring backend on this machine to keep account keys in. Fix it by one of: "
    "installing a backend (a desktop Secret Service such as gnome-keyring or KWallet; or "
    "keys in a plaintext file, 0600: `pipx inject localgate keyrings.alt` for a pipx "
    "install, `pip install keyrings.alt` otherwise); selecting one with the PYTHON_KEYRING_BACKEND "
    "environment variable; or setting `key_env` in the account to take its key from an "
    "environment variable (`localgate accounts add NAME --provider P --key-env VAR`)"
)

T = TypeVar("T")


def store_secret(name: str, value: str) -> None:
    """Keep `value` in the keyring as the secret of account `name`."""
    if not value:
        raise SecretError(f"refusing to store an empty key for account {name!r}")
    if not fits_a_header(value):
        raise SecretError(
            f"refusing to store the key of account {name!r}: it holds a line break or another "
            "control character (a paste of two lines?); give the key alone, on one line"
        )
    _call(f"store the key of account {name!r}", lambda kr: kr.set_password(SERVICE, name, value))
    protect_plaintext_keyring()


def plaintext_keyring_file() -> Path | None:
    """The file keys are kept in unencrypted (keyrings.alt's plaintext backend), or None.

    None for every backend that encrypts (Secret Service, KWallet, macOS
    Keychain, Windows Credential Locker).
    """
    import keyring
    from keyring.backends import chainer

    backend = keyring.get_keyring()
    candidates = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
    for candidate in candidates:
        if type(candidate).__name__ == "PlaintextKeyring" and getattr(candidate, "file_path", None):
            return Path(candidate.file_path)
    return None


def protect_plaintext_keyring() -> Path | None:
    """Keep a plaintext keyring file 0600 in a 0700 dir; its path (None: not plaintext)."""
    path = plaintext_keyring_file()
    if path is None:
        return None
    try:
        if path.exists():
            os.chmod(path, 0o600)
        if path.parent.exists():
            os.chmod(path.parent, 0o700)
    except OSError:  # not ours to change (another owner): doctor reports the modes
        pass
    return path


def keyring_description() -> str:
    """Where keys live, in words: the backend's name, or the plaintext file named plainly."""
    import keyring

    path = plaintext_keyring_file()
    if path is not None:
        return (
            f"a plaintext file, {path}: keys are NOT encrypted; the file is readable only by "
            "you (0600, in a 0700 dir) and by root. For encrypted storage use a Secret "
            "Service (gnome-keyring, KWallet) or your OS keychain"
        )
    backend = keyring.get_keyring()
    return f"the keyring backend {getattr(backend, 'name', type(backend).__name__)!r}"


def get_secret(name: str) -> str | None:
    """The keyring secret of account `name`, or None when none is stored."""
    return _call(f"read the key of account {name!r}", lambda kr: kr.get_password(SERVICE, name))


def delete_secret(name: str) -> None:
    """Forget the keyring secret of account `name` (a missing entry is fine)."""
    from keyring.errors import PasswordDeleteError

    def delete(kr) -> None:
        try:
            kr.delete_password(SERVICE, name)
        except PasswordDeleteError:
            # Backends raise this for "not found" too; only a still-present entry is a failure.
            if kr.get_password(SERVICE, name) is not None:
                raise

    _call(f"delete the key of account {name!r}", delete)


def resolve_secret(account: AccountConfig, read: Callable[[str], str | None] | None = None) -> str:
    """The secret of `account`, from its `key_env` variable or the keyring.

    `read(name)` reads the keyring entry (`get_secret` by default; the daemon's
    comes from `localgate.keyreader`). Raises SecretError naming the variable or
    the command that fixes it, and KeyringUnavailable when no keyring backend is
    usable.
    """
    if account.key_env:
        value = os.environ.get(account.key_env, "")
        if not value:
            raise SecretError(
                f"account {account.name!r} takes its key from the environment variable "
                f"{account.key_env}, which is not set or empty: export {account.key_env}=... "
                f"before starting localgate, or remove key_env from the account to use the "
                f"keyring (localgate accounts edit {account.name} --key)"
            )
    else:
        value = (read or get_secret)(account.name)
        if not value:
            raise SecretError(f"no key stored for account {account.name!r}: run {_fix(account)}")
    # A key goes out in a header: one set outside localgate (`keyring set`, an
    # exported variable read from a file) holding a line break would fail every
    # request, so the account is refused here, with the fix, instead.
    if unfit_key(account, value):
        where = f"the variable {account.key_env}" if account.key_env else "the keyring"
        raise SecretError(
            f"the key of account {account.name!r} in {where} holds a line break or another "
            f"control character: set it again, on one line ({_fix(account)})"
        )
    return value


def _fix(account: AccountConfig) -> str:
    """The command that sets the account's secret again."""
    if account.key_env:
        return f"export {account.key_env}=..."
    if account.provider == "vertex":  # its secret is a Google login, not a key
        from localgate.providers.vertex import relogin_command

        return relogin_command(account)
    return f"localgate accounts edit {account.name} --key"


def unfit_key(account: AccountConfig, value: str) -> bool:
    """True when `value`, the account's key, cannot go out in a header (a Vertex
    account's secret is a Google login, never sent as it is)."""
    return account.provider != "vertex" and not fits_a_header(value)


def fits_a_header(value: str) -> bool:
    """No control characters (tab aside), which an HTTP header value cannot carry."""
    return not any((ord(char) < 32 and char != "\t") or char == "\x7f" for char in value)


def _call(action: str, operation: Callable[..., T]) -> T:
    """Run `operation(backend)`, turning keyring failures into SecretErrors."""
    import keyring
    from keyring.errors import NoKeyringError

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a backend that cannot be loaded: a misnamed one, a broken import
        named = os.environ.get("PYTHON_KEYRING_BACKEND")
        if named:
            raise KeyringUnavailable(
                f"cannot load the keyring backend PYTHON_KEYRING_BACKEND names ({named!r}: "
                f"{type(exc).__name__}): correct the variable, or unset it to let keyring choose"
            ) from exc
        raise KeyringUnavailable(
            f"cannot load a keyring backend ({type(exc).__name__}): {NO_BACKEND_HELP}"
        ) from exc
    if not _usable(backend):
        raise KeyringUnavailable(NO_BACKEND_HELP)
    try:
        return operation(backend)
    except NoKeyringError as exc:
        raise KeyringUnavailable(NO_BACKEND_HELP) from exc
    except Exception as exc:  # KeyringError, and what backends leak (D-Bus, file I/O…)
        # The type only: a backend's text may quote what it read (a corrupt file
        # keyring's error carried a key's base64), and this text reaches the log.
        raise KeyringFailed(
            f"cannot {action} in the keyring: its backend failed ({type(exc).__name__}); "
            "check that the keyring is unlocked and readable"
        ) from exc


def _usable(backend) -> bool:
    """False for keyring's "fail" backend and for a chainer that chains nothing."""
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return False
    return True
