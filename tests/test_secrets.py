"""Secrets: keyring round trips, key_env, and the errors that say how to fix things."""

from __future__ import annotations

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

from localgate.config import AccountConfig
from localgate.errors import KeyringUnavailable, SecretError
from localgate.secrets import delete_secret, get_secret, resolve_secret, store_secret

SECRET = "sk-ant-very-secret-value"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict, so tests never reach the real one."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class BrokenKeyring(MemoryKeyring):
    """Every operation fails the way a locked Secret Service does."""

    def __init__(self, error: Exception):
        super().__init__()
        self.error = error

    def get_password(self, service, username, *password):
        raise self.error

    set_password = delete_password = get_password


def use_backend(monkeypatch, backend):
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # restored after the test
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def memory(monkeypatch):
    return use_backend(monkeypatch, MemoryKeyring())


def work(**kw) -> AccountConfig:
    return AccountConfig("work", "anthropic", **kw)


def test_store_resolve_delete(memory):
    store_secret("work", SECRET)
    assert memory.entries == {("localgate", "work"): SECRET}
    assert resolve_secret(work()) == SECRET
    delete_secret("work")
    assert get_secret("work") is None
    delete_secret("work")  # missing is fine


def test_missing_key_names_the_fix(memory):
    with pytest.raises(SecretError) as info:
        resolve_secret(work())
    assert str(info.value) == (
        "no key stored for account 'work': run localgate accounts edit work --key"
    )


def test_empty_key_is_refused(memory):
    with pytest.raises(SecretError, match="empty key"):
        store_secret("work", "")
    assert memory.entries == {}


@pytest.mark.parametrize("key", ["sk-one\nsk-two", "sk-ant\r", "sk-\x00ant", "sk-\x7fant"])
def test_a_key_a_header_cannot_carry_is_refused_when_stored(memory, key):
    with pytest.raises(SecretError, match="line break or another control character"):
        store_secret("work", key)
    assert memory.entries == {}


@pytest.mark.parametrize("key_env", [None, "WORK_KEY"])
def test_a_key_set_elsewhere_with_a_line_break_is_refused_with_the_fix(
    memory, monkeypatch, key_env
):
    # Set outside localgate (`keyring set`, an exported file's contents): the
    # account is refused where it is built, never in a request's header.
    memory.set_password("localgate", "work", "sk-one\nsk-two")
    monkeypatch.setenv("WORK_KEY", "sk-one\nsk-two")
    with pytest.raises(SecretError) as info:
        resolve_secret(work(key_env=key_env))
    message = str(info.value)
    assert "holds a line break" in message and "sk-one" not in message
    fix = "export WORK_KEY=..." if key_env else "localgate accounts edit work --key"
    assert fix in message


def test_a_key_with_a_tab_or_unicode_is_kept(memory):
    store_secret("work", "sk-\tkey-é")
    assert resolve_secret(work()) == "sk-\tkey-é"


def test_key_env_takes_the_environment_and_skips_the_keyring(monkeypatch):
    use_backend(monkeypatch, fail.Keyring())  # the keyring must not even be asked
    monkeypatch.setenv("WORK_KEY", SECRET)
    assert resolve_secret(work(key_env="WORK_KEY")) == SECRET


@pytest.mark.parametrize("value", [None, ""])
def test_key_env_missing_names_the_variable(memory, monkeypatch, value):
    memory.set_password("localgate", "work", "stored-but-not-used")
    if value is None:
        monkeypatch.delenv("WORK_KEY", raising=False)
    else:
        monkeypatch.setenv("WORK_KEY", value)
    with pytest.raises(SecretError) as info:
        resolve_secret(work(key_env="WORK_KEY"))
    message = str(info.value)
    assert "WORK_KEY" in message and "export WORK_KEY=" in message
    assert "stored-but-not-used" not in message


def chainer_without_backends(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    return chainer.ChainerBackend()


@pytest.mark.parametrize(
    "make_backend",
    [
        lambda mp: fail.Keyring(),
        chainer_without_backends,
        lambda mp: BrokenKeyring(NoKeyringError("no backend")),
    ],
    ids=["fail", "empty-chainer", "raises-NoKeyringError"],
)
@pytest.mark.parametrize(
    "operation",
    [
        lambda: store_secret("work", SECRET),
        lambda: resolve_secret(work()),
        lambda: delete_secret("work"),
    ],
    ids=["store", "resolve", "delete"],
)
def test_no_usable_backend_says_how_to_fix_it(monkeypatch, make_backend, operation):
    use_backend(monkeypatch, make_backend(monkeypatch))
    with pytest.raises(KeyringUnavailable) as info:
        operation()
    message = str(info.value)
    assert "no usable keyring backend" in message
    assert "pip install keyrings.alt" in message
    assert "Secret Service" in message
    assert "PYTHON_KEYRING_BACKEND" in message
    assert "key_env" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "error", [KeyringError("the collection is locked"), OSError("disk on fire")]
)
def test_other_keyring_errors_name_their_type_never_their_text(monkeypatch, error):
    # A backend's text may quote what it read (a corrupt file keyring's error
    # carried a key's base64); the type says enough to act on.
    use_backend(monkeypatch, BrokenKeyring(error))
    with pytest.raises(SecretError) as info:
        store_secret("work", SECRET)
    assert not isinstance(info.value, KeyringUnavailable)
    assert type(error).__name__ in str(info.value)
    assert str(error) not in str(info.value)
    assert "account 'work'" in str(info.value)
    assert SECRET not in str(info.value)
    with pytest.raises(SecretError, match=type(error).__name__):
        resolve_secret(work())


def test_delete_failure_of_a_present_entry_is_an_error(memory, monkeypatch):
    memory.set_password("localgate", "work", SECRET)

    def refuse(service, username):
        raise PasswordDeleteError("permission denied")

    monkeypatch.setattr(memory, "delete_password", refuse)
    with pytest.raises(SecretError, match="PasswordDeleteError"):
        delete_secret("work")
