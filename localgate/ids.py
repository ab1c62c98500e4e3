"""Identifiers for requests, messages and tool calls.

They must be unique, not secret: nothing is authorised by knowing one. So they
come from a per-process PRNG seeded from the OS once, not from `os.urandom`
per call (a syscall on every request; it showed in the benchmark's profile).
"""

from __future__ import annotations

import os
import random
from functools import cache


@cache
def _source() -> random.Random:
    return random.Random(os.urandom(16))


def new_id(prefix: str, hex_digits: int = 24) -> str:
    """`prefix` followed by `hex_digits` random hex digits, e.g. `msg_1f0c…`."""
    return f"{prefix}{_source().getrandbits(hex_digits * 4):0{hex_digits}x}"
