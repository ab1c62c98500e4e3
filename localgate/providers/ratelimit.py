"""Reading rate-limit headers: how long to wait, and what the provider reported.

Everything here is forgiving: a malformed, negative or non-finite value is
ignored (treated as absent), never raised, because a broken header must not
turn a rate-limited answer into a crash. Header names are matched
case-insensitively whether we are given aiohttp's CIMultiDictProxy or a dict.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

ANTHROPIC_DIMENSIONS = ("requests", "tokens", "input-tokens", "output-tokens")
MAX_COUNT = 2**63 - 1  # what SQLite (and so the ledger) can store
# A figure with no reset time is trusted this long after it was observed: a
# server that never says when its budget returns must not hold an account
# "exhausted" (or last in least-used) forever.
FIGURE_LIFETIME = 60.0
# Reset times outside [now - RESET_PAST, now + RESET_FUTURE] are garbled (a
# year-1 date, 1e20 seconds) and dropped: they could not even be printed.
RESET_PAST = 86400.0
RESET_FUTURE = 400 * 86400.0
OPENAI_DIMENSIONS = ("requests", "tokens")

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign, what Go prints
    "μs": 1e-6,  # U+03BC greek mu, also accepted by Go
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


@dataclass(frozen=True)
class LimitSnapshot:
    """One rate-limit dimension as the provider last reported it.

    `reset_at` and `observed_at` are wall-clock epoch seconds; `limit` and
    `remaining` are None when the provider did not send (or garbled) them.
    """

    dimension: str
    limit: int | None
    remaining: int | None
    reset_at: float | None
    observed_at: float

    @property
    def expires_at(self) -> float:
        """Wall time the figure stops meaning anything: its reset, or a short lifetime."""
        if self.reset_at is not None:
            return self.reset_at
        return self.observed_at + FIGURE_LIFETIME


def sane_reset(reset_at: float | None, now_wall: float) -> float | None:
    """`reset_at` when it lies within a plausible window around `now_wall`, else None."""
    if reset_at is None or not math.isfinite(reset_at):
        return None
    if not now_wall - RESET_PAST <= reset_at <= now_wall + RESET_FUTURE:
        return None
    return reset_at


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers keyed by lower-case name (first value wins, as `.get` does)."""
    lowered: dict[str, str] = {}
    try:
        items = headers.items()
    except AttributeError:
        return lowered
    for name, value in items:
        if isinstance(name, str) and isinstance(value, str):
            lowered.setdefault(name.lower(), value)
    return lowered


def _number(value: str | None) -> float | None:
    """A finite, non-negative number, or None."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except (ValueError, AttributeError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _count(value: str | None) -> int | None:
    number = _number(value)
    return None if number is None else min(int(number), MAX_COUNT)


def parse_http_date(value: str) -> float | None:
    """An HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`) as epoch seconds, or None."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def retry_after(headers: Mapping[str, str], *, now_wall: float | None = None) -> float | None:
    """Seconds the provider asked us to wait, from `retry-after-ms` or `retry-after`.

    `retry-after` may be seconds (fractions allowed) or an HTTP-date, which is
    measured from `now_wall` (default: the current time); a date in the past
    means 0. Returns None when neither header holds a usable value.
    """
    lowered = _lowered(headers)
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    moment = parse_http_date(value)
    if moment is None:
        return None
    now = time.time() if now_wall is None else now_wall
    return max(0.0, moment - now)


def parse_go_duration(value: str) -> float | None:
    """A Go duration (`6m0s`, `1s`, `12ms`, `1h2m3.5s`, `0`) in seconds, or None.

    Negative durations are rejected: a reset in the past is no reset.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in ("0", "+0"):
        return 0.0
    text = text.removeprefix("+")
    if not text:
        return None
    total = 0.0
    position = 0
    for match in _GO_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or not math.isfinite(total):
        return None
    return total


def parse_rfc3339(value: str) -> float | None:
    """An RFC 3339 timestamp (`2024-08-08T18:37:00Z`) as epoch seconds, or None.

    A timestamp without an offset is read as UTC.
    """
    if not isinstance(value, str) or len(value.strip()) < 10:
        return None
    try:
        # fromisoformat wants upper-case T/Z; RFC 3339 allows either case.
        moment = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, ValueError):
        return None


def _seconds_or_go(value: str | None) -> float | None:
    """OpenAI resets are Go durations; some compatible servers send bare seconds."""
    if value is None:
        return None
    seconds = parse_go_duration(value)
    return seconds if seconds is not None else _number(value)


def _exhausted_wait(waits: list[tuple[int | None, float | None]]) -> float | None:
    """The longest positive wait among dimensions whose remaining is 0.

    A dimension with budget left is no reason to wait, however soon it resets.
    """
    longest: float | None = None
    for remaining, wait in waits:
        if remaining == 0 and wait is not None and wait > 0:
            longest = wait if longest is None else max(longest, wait)
    return longest


def anthropic_reset_wait(headers: Mapping[str, str], now_wall: float) -> float | None:
    """Seconds until every exhausted Anthropic limit has reset, or None.

    Reads `anthropic-ratelimit-<dimension>-{remaining,reset}` (reset is RFC
    3339). Only dimensions whose remaining is 0 count.
    """
    lowered = _lowered(headers)
    waits = []
    for dimension in ANTHROPIC_DIMENSIONS:
        prefix = f"anthropic-ratelimit-{dimension}-"
        remaining = _count(lowered.get(prefix + "remaining"))
        reset = lowered.get(prefix + "reset")
        reset_at = sane_reset(parse_rfc3339(reset) if reset is not None else None, now_wall)
        waits.append((remaining, None if reset_at is None else reset_at - now_wall))
    return _exhausted_wait(waits)


def openai_reset_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until every exhausted OpenAI limit has reset, or None.

    Reads `x-ratelimit-remaining-<dimension>` and `x-ratelimit-reset-<dimension>`
    (Go durations). Only dimensions whose remaining is 0 count.
    """
    lowered = _lowered(headers)
    waits = []
    for dimension in OPENAI_DIMENSIONS:
        remaining = _count(lowered.get(f"x-ratelimit-remaining-{dimension}"))
        wait = _seconds_or_go(lowered.get(f"x-ratelimit-reset-{dimension}"))
        waits.append((remaining, None if wait is None or wait > RESET_FUTURE else wait))
    return _exhausted_wait(waits)


def _anthropic_snapshots(lowered: dict[str, str], now_wall: float) -> list[LimitSnapshot]:
    snapshots = []
    for dimension in ANTHROPIC_DIMENSIONS:
        prefix = f"anthropic-ratelimit-{dimension}-"
        limit = _count(lowered.get(prefix + "limit"))
        remaining = _count(lowered.get(prefix + "remaining"))
        if limit is None and remaining is None:
            continue
        reset = lowered.get(prefix + "reset")
        reset_at = sane_reset(parse_rfc3339(reset) if reset is not None else None, now_wall)
        snapshots.append(LimitSnapshot(dimension, limit, remaining, reset_at, now_wall))
    return snapshots


def _openai_snapshots(lowered: dict[str, str], now_wall: float) -> list[LimitSnapshot]:
    snapshots = []
    for dimension in OPENAI_DIMENSIONS:
        limit = _count(lowered.get(f"x-ratelimit-limit-{dimension}"))
        remaining = _count(lowered.get(f"x-ratelimit-remaining-{dimension}"))
        if limit is None and remaining is None:
            continue
        wait = _seconds_or_go(lowered.get(f"x-ratelimit-reset-{dimension}"))
        reset_at = None if wait is None else sane_reset(now_wall + wait, now_wall)
        snapshots.append(LimitSnapshot(dimension, limit, remaining, reset_at, now_wall))
    return snapshots


_FAMILIES = {"anthropic": (_anthropic_snapshots,), "openai": (_openai_snapshots,)}


def limit_snapshots(
    headers: Mapping[str, str], provider: str, now_wall: float
) -> list[LimitSnapshot]:
    """The rate-limit figures in `headers`, one snapshot per reported dimension.

    `provider` picks the header family to read (`anthropic` or `openai`); any
    other provider (a compatible server, Vertex…) is read for both families.
    A dimension appears only when its limit or remaining parsed.
    """
    lowered = _lowered(headers)
    readers = _FAMILIES.get(provider, (_anthropic_snapshots, _openai_snapshots))
    return [snapshot for read in readers for snapshot in read(lowered, now_wall)]
