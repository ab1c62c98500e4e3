"""Cooldown durations: hints, quota, backoff growth and cap."""

from __future__ import annotations

import pytest

from localgate.pool.cooldown import MAX_HINT, QUOTA_COOLDOWN, backoff, cooldown_seconds
from localgate.pool.failures import Failure, FailureKind

NOW = 1_700_000_000.0
RL = FailureKind.RATE_LIMITED


@pytest.mark.parametrize(
    ("failure", "streak", "expected"),
    [
        (Failure(RL, "429", retry_after=7), 1, 7),
        (Failure(RL, "429", retry_after=7, until_wall=NOW + 30), 3, 30),  # until wins
        (Failure(RL, "429", until_wall=NOW - 5, retry_after=4), 1, 4),  # past reset ignored
        (Failure(RL, "429", until_wall=NOW - 5), 2, 2),  # → backoff
        (Failure(RL, "429", retry_after=0), 1, 1),  # zero hint → backoff
        (Failure(RL, "429", retry_after=10 * MAX_HINT), 1, MAX_HINT),  # capped at a day
        (Failure(RL, "429", until_wall=NOW + 10 * MAX_HINT), 1, MAX_HINT),
        (Failure(FailureKind.QUOTA_EXHAUSTED, "quota"), 1, QUOTA_COOLDOWN),
        (Failure(FailureKind.QUOTA_EXHAUSTED, "quota", retry_after=60), 1, 60),
        (Failure(FailureKind.SERVER_ERROR, "500"), 1, 1),
        (Failure(FailureKind.SERVER_ERROR, "500"), 4, 8),
        (Failure(FailureKind.CONNECTION, "refused", model_scoped=False), 20, 300),
    ],
)
def test_cooldown_seconds(failure, streak, expected):
    assert cooldown_seconds(failure, streak=streak, now_wall=NOW, base=1, cap=300) == expected


@pytest.mark.parametrize(
    ("streak", "base", "cap", "expected"),
    [
        (0, 1, 300, 1),
        (1, 1, 300, 1),
        (2, 1, 300, 2),
        (9, 1, 300, 256),
        (10, 1, 300, 300),
        (3, 0.5, 300, 2),
        (1, 5, 2, 2),
        (10_000, 1, 300, 300),
    ],
)
def test_backoff(streak, base, cap, expected):
    assert backoff(streak, base, cap) == expected
