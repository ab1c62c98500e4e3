"""What an account may still spend: configured limits counted locally, provider figures.

Two sources say an account is spent before any 429 does. The user may
configure `rpm`, `tpm`, `rpd`, `tpd` per account; localgate counts requests
(when the upstream answers) and tokens (when a request ends) and rests the
account once a count reaches its limit. Providers report what is left in
rate-limit headers or quota errors (`LimitSnapshot`s); a dimension reported
at 0 with a reset in the future rests the account for that model until then.

Pure bookkeeping on the pool's clocks; the pool owns one `Quota` per account.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from localgate.pool.usage import UsageWindow
from localgate.providers.ratelimit import LimitSnapshot

DAY = 86400.0
MAX_MODELS = 64  # models remembered per account (snapshots, matrix rows)

# limit name -> (window, counts tokens, words for a reason)
_LIMITS = {
    "rpm": ("minute", False, "requests per minute"),
    "tpm": ("minute", True, "tokens per minute"),
    "rpd": ("day", False, "requests per day"),
    "tpd": ("day", True, "tokens per day"),
}


@dataclass(frozen=True)
class QuotaLimits:
    """Limits the user configured for one account (None: not limited)."""

    rpm: int | None = None
    tpm: int | None = None
    rpd: int | None = None
    tpd: int | None = None

    @classmethod
    def of(cls, account: object) -> QuotaLimits:
        """The limits an account config (anything with rpm/tpm/rpd/tpd attributes) sets."""
        limits = cls(*(getattr(account, name, None) for name in LIMIT_NAMES))
        # The shared NO_LIMITS lets selection skip every check by identity.
        return NO_LIMITS if limits == NO_LIMITS else limits

    def items(self) -> list[tuple[str, int]]:
        """The limits that are set, as (name, limit)."""
        return [(name, value) for name in LIMIT_NAMES if (value := getattr(self, name))]


NO_LIMITS = QuotaLimits()
LIMIT_NAMES = ("rpm", "tpm", "rpd", "tpd")  # QuotaLimits' fields, without a fields() call each time


@dataclass(frozen=True)
class LocalLimit:
    """A configured limit and how much of it the account used in its window."""

    name: str  # rpm | tpm | rpd | tpd
    limit: int
    used: int
    window: float = 60.0  # seconds the (sliding) window spans


class Quota:
    """One account's local counts, configured limits and the provider's last figures."""

    def __init__(self) -> None:
        self.limits = NO_LIMITS
        self.minute = UsageWindow(60.0)
        self.day = UsageWindow(DAY, resolution=60.0)
        self.today = [0, 0]  # requests, tokens since local midnight
        self._tomorrow = 0.0  # wall time the `today` counts roll over
        self.snapshots: dict[str, dict[str, LimitSnapshot]] = {}  # model -> dimension -> figure
        self._exhausted: dict[str, tuple[float, str]] = {}  # model -> (monotonic until, reason)
        # Bumped whenever the figures or the counts change, so what is worked out
        # from them (the x-codex-* headers) can be kept until then.
        self.revision = 0

    # -- counting ---------------------------------------------------------

    def count(self, now: float, now_wall: float, *, requests: int = 0, tokens: int = 0) -> None:
        """Count `requests` and `tokens` spent at `now` (monotonic) / `now_wall`.

        The windows serve configured limits only: without any, nothing is counted
        (per request, on the hot path). A limit configured later counts from then.
        """
        if self.limits is NO_LIMITS:
            return
        self.minute.add(now, tokens, requests)
        self.day.add(now, tokens, requests)
        self.revision += 1

    def served(self, now_wall: float, tokens: int = 0) -> None:
        """Count one client request this account answered, for `today`.

        `today` counts what the ledger counts (one row per client request,
        filed under the account that answered), not upstream attempts as
        `count` does, so the figure is the same before and after a restart.
        """
        self._roll(now_wall)
        self.today[0] += 1
        self.today[1] += max(0, tokens)

    def seed(
        self,
        now: float,
        now_wall: float,
        buckets: Iterable[tuple[float, int, int]],
        today: tuple[int, int],
    ) -> None:
        """Take back counts from the ledger after a restart.

        `buckets` are (wall time, requests, tokens) in time order; `today` the
        totals since local midnight.
        """
        for wall, requests, tokens in buckets:
            at = now - (now_wall - wall)
            self.minute.add(at, tokens, requests)
            self.day.add(at, tokens, requests)
        self._roll(now_wall)
        self.today = [today[0], today[1]]
        self.revision += 1

    def today_totals(self, now_wall: float) -> tuple[int, int]:
        self._roll(now_wall)
        return self.today[0], self.today[1]

    def _roll(self, now_wall: float) -> None:
        if now_wall >= self._tomorrow:
            self.today = [0, 0]
            self._tomorrow = next_local_midnight(now_wall)

    # -- provider figures -------------------------------------------------

    def observe(
        self, model: str, snapshots: Iterable[LimitSnapshot], now: float, now_wall: float
    ) -> None:
        """Remember the provider's figures for `model`; a spent one rests the model."""
        self.revision += 1
        known = self.snapshots.get(model)
        if known is None:
            if len(self.snapshots) >= MAX_MODELS:
                oldest = next(iter(self.snapshots))
                self.snapshots.pop(oldest)
                self._exhausted.pop(oldest, None)
            known = self.snapshots[model] = {}
        for snapshot in snapshots:
            known[snapshot.dimension] = snapshot
        # Only a reset the provider named rests the model; a figure without one
        # merely ranks the account last until it expires (`headroom`).
        spent = [
            s
            for s in known.values()
            if s.remaining == 0 and s.reset_at is not None and s.reset_at > now_wall
        ]
        if spent:
            last = max(spent, key=lambda s: s.reset_at)
            of = f" of {last.limit}" if last.limit is not None else ""
            reason = f"provider reports {last.dimension} exhausted (0{of} left)"
            self._exhausted[model] = (now + min(last.reset_at - now_wall, DAY), reason)
        else:
            self._exhausted.pop(model, None)

    # -- what it means ----------------------------------------------------

    def rest(self, model: str, now: float) -> tuple[float, str] | None:
        """(seconds, reason) the account must rest for `model` by quota; None when free."""
        longest: tuple[float, str] | None = None
        spent = self._exhausted.get(model)
        if spent is not None:
            if spent[0] > now:
                longest = (spent[0] - now, spent[1])
            else:
                del self._exhausted[model]
        if self.limits is not NO_LIMITS:
            for name, limit in self.limits.items():
                window_name, tokens, words = _LIMITS[name]
                window = self.minute if window_name == "minute" else self.day
                wait = window.wait_below(now, limit, tokens=tokens)
                if wait > 0 and (longest is None or wait > longest[0]):
                    longest = (wait, f"{name} limit reached ({limit} {words})")
        return longest

    def local(self, now: float) -> list[LocalLimit]:
        """Each configured limit with its use in its window."""
        result = []
        for name, limit in self.limits.items():
            window_name, tokens, _ = _LIMITS[name]
            window = self.minute if window_name == "minute" else self.day
            used = window.totals(now)[1 if tokens else 0]
            result.append(LocalLimit(name, limit, used, window.span))
        return result

    def headroom(self, model: str, now: float, now_wall: float) -> float:
        """The smallest share (0..1) left of any known limit for `model`; 1.0 when none."""
        share = 1.0
        for local in self.local(now):
            share = min(share, max(0.0, 1.0 - local.used / local.limit))
        for snapshot in self.snapshots.get(model, {}).values():
            if snapshot.expires_at <= now_wall:
                continue  # reset (or too old to mean anything) since: full again
            if snapshot.limit and snapshot.remaining is not None:
                share = min(share, max(0.0, snapshot.remaining / snapshot.limit))
            elif snapshot.remaining == 0:
                share = 0.0
        return share

    def figures(self, now_wall: float) -> list[tuple[str, LimitSnapshot]]:
        """(model, figure) of every figure still meaningful; expired ones are forgotten."""
        live = []
        for model in list(self.snapshots):
            dims = self.snapshots[model]
            for dimension in [d for d, s in dims.items() if s.expires_at <= now_wall]:
                del dims[dimension]
            if not dims:
                del self.snapshots[model]
            live += [(model, s) for s in dims.values()]
        return live

    def forget_exhausted(self) -> None:
        """Take the user's word that the account may be tried again (its figures stay)."""
        self._exhausted.clear()

    def exhausted(self, now: float) -> list[tuple[str, float, str]]:
        """(model, monotonic until, reason) of the models the provider reported spent."""
        return [(m, until, why) for m, (until, why) in self._exhausted.items() if until > now]


def next_local_midnight(now_wall: float) -> float:
    """Epoch seconds of the next local midnight after `now_wall`."""
    local = time.localtime(now_wall)
    midnight = time.mktime((local.tm_year, local.tm_mon, local.tm_mday + 1, 0, 0, 0, 0, 0, -1))
    return midnight if midnight > now_wall else now_wall + DAY


def local_midnight(now_wall: float) -> float:
    """Epoch seconds of the local midnight that began the day of `now_wall`."""
    local = time.localtime(now_wall)
    return time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))
