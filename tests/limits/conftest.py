"""A fake clock for the quota tests: monotonic and wall time that move only when told."""

from __future__ import annotations

import pytest

from tests.pool.test_pool import Clock


@pytest.fixture
def clock():
    return Clock()
