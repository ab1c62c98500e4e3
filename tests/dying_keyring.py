"""A keyring backend whose process dies as it is made (a crash in a native library).

Named only in PYTHON_KEYRING_BACKEND for a child process (tests.keyrings.DYING):
never import it in the test process.
"""

from __future__ import annotations

import os

import keyring.backend


class DyingKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self):
        os._exit(3)

    def get_password(self, service, username):
        raise AssertionError("unreachable")

    def set_password(self, service, username, password):
        raise AssertionError("unreachable")

    def delete_password(self, service, username):
        raise AssertionError("unreachable")
