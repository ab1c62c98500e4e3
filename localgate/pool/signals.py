"""Every limit signal in one upstream answer, read into `LimitSnapshot`s.

- Anthropic `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-*`
  and OpenAI `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` headers
  (parsed by `localgate.providers.ratelimit`);
- Google's `QuotaFailure` violations in a 429 body (Gemini, Vertex), each one
  a spent dimension named by its quota id, resetting when the provider's
  reading of the answer (`Failure.until_wall`, RetryInfo, `retry-after`) says;
- a bare `retry-after` on a 429 with nothing else: a `retry-after` dimension.

This runs on every upstream answer, so the common case (no rate-limit
headers, a 2xx) costs a few dictionary lookups. Nothing here raises on junk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from localgate.pool.failures import Failure, FailureKind
from localgate.providers.ratelimit import (
    ANTHROPIC_DIMENSIONS,
    MAX_COUNT,
    OPENAI_DIMENSIONS,
    LimitSnapshot,
    limit_snapshots,
    sane_reset,
)

# A snapshot needs a limit or a remaining figure: if none of these is present
# there is nothing to parse.
_HEADER_KEYS = (
    *(f"anthropic-ratelimit-{d}-{k}" for d in ANTHROPIC_DIMENSIONS for k in ("remaining", "limit")),
    *(f"x-ratelimit-{k}-{d}" for d in OPENAI_DIMENSIONS for k in ("remaining", "limit")),
)
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_SPENT = (FailureKind.RATE_LIMITED, FailureKind.QUOTA_EXHAUSTED)


def read_limits(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    failure: Failure | None,
    now_wall: float,
) -> list[LimitSnapshot]:
    """The limit figures of one answer (possibly none).

    `headers` as aiohttp hands them over (case-insensitive); `body` is only
    read for a rate-limit `failure`, as the provider's `classify` produced it.
    """
    try:
        present = any(key in headers for key in _HEADER_KEYS)
    except TypeError:
        present = False
    snapshots = limit_snapshots(headers, provider, now_wall) if present else []
    if failure is None or failure.kind not in _SPENT:
        return snapshots
    reset = _reset_at(failure, now_wall)
    for dimension, limit in google_quota_violations(body):
        # Without RetryInfo the quota id still says which window was spent.
        at = reset if reset is not None else quota_reset(dimension, now_wall)
        snapshots.append(LimitSnapshot(dimension, limit, 0, at, now_wall))
    if reset is not None and not any(s.remaining == 0 for s in snapshots):
        snapshots.append(LimitSnapshot("retry-after", None, 0, reset, now_wall))
    return snapshots


def _reset_at(failure: Failure, now_wall: float) -> float | None:
    if failure.until_wall is not None and failure.until_wall > now_wall:
        return sane_reset(failure.until_wall, now_wall)
    if failure.retry_after is not None and failure.retry_after > 0:
        return sane_reset(now_wall + failure.retry_after, now_wall)
    return None


def quota_window(quota_id: str) -> float | None:
    """Seconds a Google quota named `quota_id` (`…PerMinute…`, `…PerDay…`) spans, or None."""
    if "PerMinute" in quota_id:
        return 60.0
    if "PerDay" in quota_id:
        return 86400.0
    return None


def quota_reset(quota_id: str, now_wall: float) -> float | None:
    """When a Google quota named `quota_id` (`…PerMinute…`, `…PerDay…`) refills, or None.

    Google's daily quotas reset at midnight Pacific time; per-minute ones
    within the minute (counted from now: the window's start is unknown).
    """
    window = quota_window(quota_id)
    if window is None:
        return None
    return now_wall + window if window < 86400.0 else _next_pacific_midnight(now_wall)


def _next_pacific_midnight(now_wall: float) -> float:
    from datetime import datetime, timedelta

    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo("America/Los_Angeles")
    except Exception:  # no tz database (some Windows installs): a day from now
        return now_wall + 86400.0
    local = datetime.fromtimestamp(now_wall, zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp()


def google_quota_violations(body: bytes) -> list[tuple[str, int | None]]:
    """(quota id, quota value) of each `QuotaFailure` violation in a Google error body."""
    if not body or b"QuotaFailure" not in body:
        return []
    from localgate.providers.gemini import error_details

    found: list[tuple[str, int | None]] = []
    for detail in error_details(body):
        if detail.get("@type") != _QUOTA_FAILURE:
            continue
        violations = detail.get("violations")
        for violation in violations if isinstance(violations, list) else ():
            if not isinstance(violation, dict):
                continue
            name = violation.get("quotaId") or violation.get("quotaMetric") or "quota"
            if isinstance(name, str):
                found.append((name[:200], _count(violation.get("quotaValue"))))
    return found


def _count(value) -> int | None:
    """A non-negative whole number from a JSON string or number, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return min(int(number), MAX_COUNT)
