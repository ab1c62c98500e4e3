"""A keyring backend whose process dies as it is made (a crash in a native library).

Named only in PYTHON_KEYRING_BACKEND for a child process (tests.keyrings.DYING):
never import it in the test process.
"""

from __future__ import annotations

import os

from tests.keyrings import FailingKeyring


class DyingKeyring(FailingKeyring):
    def __init__(self):
        os._exit(3)
