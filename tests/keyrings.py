"""Keyring backends for tests, importable by name.

The daemon reads the keyring in a child process (localgate.keyreader), which
takes its backend from PYTHON_KEYRING_BACKEND: a test that wants the daemon's
keyring to fail names one of these there (`use_backend`).
"""

from __future__ import annotations

import keyring.backend

WORKING = "keyrings.alt.file.PlaintextKeyring"  # every test's (tests/conftest.py)
# A backend whose process dies as it is made. Its module is never imported by the
# test process itself: keyring makes every KeyringBackend subclass it has seen
# when it looks for backends, and this one would end the test run.
DYING = "tests.dying_keyring.DyingKeyring"


class FailingKeyring(keyring.backend.KeyringBackend):
    """A file keyring gone corrupt: its error quotes what it read."""

    priority = 1

    def get_password(self, service, username):
        raise ValueError("Incorrect padding in c2stYW50LWFwaTAzLUhBUkRFTklOR3NlY3JldA==")

    def set_password(self, service, username, password):
        raise ValueError("read-only")

    def delete_password(self, service, username):
        raise ValueError("read-only")


def use_backend(monkeypatch, backend: type | str) -> None:
    """Make `backend` (a class here, or a dotted name) the keyring of the processes
    the test starts from now on, the daemon's keyring reader among them."""
    name = backend if isinstance(backend, str) else f"{backend.__module__}.{backend.__name__}"
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
