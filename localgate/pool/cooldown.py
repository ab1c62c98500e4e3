"""How long an account (or one of its models) rests after a failure.

A provider's own hint wins (an absolute reset time, then a retry-after), capped
at a day so a garbled header cannot bench an account for a year. Without a
hint the wait grows per consecutive failure: base, 2×base, 4×base… up to
`backoff_max`. A quota that ran out rests an hour: retrying in seconds would
only burn requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from localgate.pool.failures import Failure, FailureKind

ALL_MODELS = "*"  # cooldown key for a failure that affects every model of an account
DEFAULT_BACKOFF_BASE = 1.0
DEFAULT_BACKOFF_MAX = 300.0
QUOTA_COOLDOWN = 3600.0
MAX_HINT = 86400.0


@dataclass
class Cooldown:
    """The resting state of one (account, model) pair.

    `until` is on the monotonic clock. `streak` counts consecutive failures
    and survives the end of the rest, so the next failure waits longer; a
    success (or a long quiet spell) resets it.
    """

    until: float
    reason: str
    streak: int = 0
    kind: str = ""  # the FailureKind value that started the rest ("" when unknown)

    def active(self, now: float) -> bool:
        return self.until > now

    def stale(self, now: float, backoff_max: float) -> bool:
        """True when the rest ended so long ago that the streak no longer means anything."""
        return now - self.until > backoff_max


def backoff(streak: int, base: float, cap: float) -> float:
    """The wait after the `streak`-th consecutive failure (1 → base)."""
    if streak <= 1:
        return min(base, cap)
    # Exponent bounded so a long streak cannot overflow the float.
    return min(base * 2.0 ** min(streak - 1, 64), cap)


def cooldown_seconds(
    failure: Failure, *, streak: int, now_wall: float, base: float, cap: float
) -> float:
    """How long to rest after `failure`, the `streak`-th in a row.

    A hint that is absent, already past or zero does not count: resting zero
    seconds would send the next request straight back to the same wall.
    """
    hint = None
    if failure.until_wall is not None and failure.until_wall - now_wall > 0:
        hint = failure.until_wall - now_wall
    elif failure.retry_after is not None and failure.retry_after > 0:
        hint = failure.retry_after
    if hint is not None:
        return min(hint, MAX_HINT)
    if failure.kind is FailureKind.QUOTA_EXHAUSTED:
        return QUOTA_COOLDOWN
    return backoff(streak, base, cap)
