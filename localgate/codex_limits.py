"""The `x-codex-*` rate-limit headers: how much of the serving account's limits is spent.

Codex CLI reads these on the answer to `POST /responses` (0.171.0:
`codex-rs/codex-api/src/rate_limits.rs`) and shows them in `/status`, with a
"less than N% of your … limit left" warning as a window passes 75, 90 and 95 %
used. Per window, `primary` and `secondary`:

    x-codex-primary-used-percent    a float, 0..100; the window is read only if it parses
    x-codex-primary-window-minutes  an integer; 300 shows as "5h", 1440 "daily", 10080 "weekly"
    x-codex-primary-reset-at        an integer, Unix seconds

What localgate knows of the account that served is the provider's last figures
for the model (rate-limit headers, Google quota errors) and the configured
rpm/tpm/rpd/tpd with the local counts. Primary is the most spent window not
known to span a day or more; secondary the longest one known to. Only what is
known is said: a figure that reset or expired is dropped, a window length the
provider did not state is not guessed, and no header at all when nothing is
known. A configured window slides, so it has no reset time to tell.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from localgate.pool.signals import quota_window

if TYPE_CHECKING:
    from localgate.pool.quota import Quota

DAY_MINUTES = 1440
SLIDE = 1.0  # seconds a header worked out from sliding local counts is kept
MAX_ENTRIES = 1024  # (account, model) pairs remembered before starting afresh

Headers = tuple[tuple[str, str], ...]


class Window(NamedTuple):
    """One limit as Codex shows it: share used, length when known, reset when known."""

    used_percent: float
    minutes: int | None
    reset_at: float | None


def windows(
    quota: Quota, model: str, now: float, now_wall: float
) -> tuple[Window | None, Window | None, float]:
    """(primary, secondary, until): the windows to tell for `model`, and the wall time
    they stop being right.

    Primary is the most spent window not known to span a day or more, secondary
    the longest one known to. They stop being right when a provider figure
    expires (its reset passed, or its lifetime without one) or, with configured
    limits, a moment later (their counts slide out of the window); new figures
    and counts change the quota's `revision` instead.
    """
    until = math.inf
    found: list[tuple[float, int | None, float | None]] = []  # Window's fields, made cheaply
    for snapshot in quota.snapshots.get(model, {}).values():
        expires = snapshot.expires_at
        if expires <= now_wall:
            continue  # reset (or too old to mean anything) since it was reported
        if expires < until:
            until = expires
        if snapshot.limit and snapshot.remaining is not None:
            spent = snapshot.limit - snapshot.remaining
            used = 0.0 if spent <= 0 else 100.0 * spent / snapshot.limit
        elif snapshot.remaining == 0:
            used = 100.0  # spent, whatever the limit was
        else:
            continue  # how much is used cannot be told
        seconds = quota_window(snapshot.dimension)  # Google names it; headers never do
        found.append((used, None if seconds is None else round(seconds / 60), snapshot.reset_at))
    for local in quota.local(now):
        found.append((100.0 * local.used / local.limit, round(local.window / 60), None))
        until = min(until, now_wall + SLIDE)
    primary = secondary = None
    for window in found:
        used, minutes = window[0], window[1]
        if minutes is None or minutes < DAY_MINUTES:
            if primary is None or used > primary[0]:
                primary = window
        elif secondary is None or (minutes, used) > (secondary[1], secondary[0]):
            secondary = window
    return (
        None if primary is None else Window(min(primary[0], 100.0), *primary[1:]),
        None if secondary is None else Window(min(secondary[0], 100.0), *secondary[1:]),
        until,
    )


def header_items(primary: Window | None, secondary: Window | None) -> Headers:
    """The `x-codex-{primary,secondary}-*` headers of the windows given."""
    items: list[tuple[str, str]] = []
    for name, window in (("primary", primary), ("secondary", secondary)):
        if window is None:
            continue
        prefix = f"x-codex-{name}-"
        items.append((prefix + "used-percent", format(round(window.used_percent, 1), "g")))
        if window.minutes is not None:
            items.append((prefix + "window-minutes", str(window.minutes)))
        if window.reset_at is not None:
            items.append((prefix + "reset-at", str(math.ceil(window.reset_at))))
    return tuple(items)


class _Entry(NamedTuple):
    quota: object  # the Quota it was worked out from (a re-added account has a new one)
    revision: int
    limits: object  # its configured limits then (a reload replaces them)
    until: float
    items: Headers


class CodexLimits:
    """The headers per (account, model), kept until the account's figures or counts
    change, its limits are reconfigured, or a figure they came from expires."""

    def __init__(self, pool) -> None:
        self._pool = pool
        self._known: dict[tuple[str, str], _Entry] = {}

    def headers(self, account: str, model: str) -> Headers:
        """The `x-codex-*` headers for an answer `account` gave for `model` (maybe none)."""
        found = self._pool.quota(account)
        if found is None:
            return ()
        quota, now, now_wall = found
        key = (account, model)
        entry = self._known.get(key)
        if (
            entry is not None
            and entry.quota is quota
            and entry.revision == quota.revision
            and entry.limits is quota.limits
            and now_wall < entry.until
        ):
            return entry.items
        primary, secondary, until = windows(quota, model, now, now_wall)
        items = header_items(primary, secondary)
        if len(self._known) >= MAX_ENTRIES:
            self._known.clear()  # models are the clients' strings: keep this bounded
        self._known[key] = _Entry(quota, quota.revision, quota.limits, until, items)
        return items
