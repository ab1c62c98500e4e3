"""Which account now? The pool keeps, per account, what the last answers taught us.

It is pure bookkeeping on an injected clock: no sockets, no asyncio, no locks
(the gateway calls it from the event loop thread only). Two clocks are
injected because they answer different questions: `clock` (monotonic) orders
events and measures rests, immune to the wall clock jumping; `wall` turns
provider reset times into rests and rests into times a person can read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from localgate.pool.cooldown import (
    ALL_MODELS,
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_MAX,
    MAX_HINT,
    Cooldown,
    cooldown_seconds,
)
from localgate.pool.failures import Failure, FailureKind
from localgate.pool.quota import LocalLimit, Quota, QuotaLimits
from localgate.pool.strategies import Strategy, make_strategy
from localgate.pool.usage import UsageWindow
from localgate.providers.ratelimit import LimitSnapshot

_SWEEP_AT = 32  # cooldown records per account before stale ones are swept


@dataclass(frozen=True)
class AccountEntry:
    """What the pool needs to know of one configured account.

    `revision` changes whenever the account's config entry or secret does; a
    new revision clears an invalid mark (the user fixed the key).
    """

    name: str
    priority: int = 0
    enabled: bool = True
    revision: str = ""


@dataclass(frozen=True)
class Selection:
    """The candidates for one request, sorted by what the pool knows of them.

    `ready` holds every ready candidate, in the order to try them. `wait` is
    the seconds until the first cooling candidate recovers (None: none cools).
    """

    ready: list[str]
    wait: float | None
    cooling: list[str]
    invalid: list[str]
    disabled: list[str]


class CooldownInfo(NamedTuple):
    model: str  # ALL_MODELS ("*") when the whole account rests
    until_wall: float
    reason: str
    kind: str = ""  # the FailureKind value behind the rest: rate limited, or failing?


@dataclass(frozen=True)
class AccountStatus:
    """One account at a glance, for `/account-limits` and `localgate limits`."""

    name: str
    state: str  # "ok" | "cooling" | "invalid" | "disabled"
    reason: str | None
    cooldowns: list[CooldownInfo]
    requests_last_minute: int
    tokens_last_minute: int
    last_used_wall: float | None
    requests_today: int = 0  # client requests it answered since local midnight (as the ledger)
    tokens_today: int = 0
    local_limits: tuple[LocalLimit, ...] = ()  # configured rpm/tpm/rpd/tpd and their use
    provider_limits: tuple[tuple[str, LimitSnapshot], ...] = ()  # (model, last figure)


@dataclass
class _Account:
    entry: AccountEntry
    invalid: str | None = None
    cooldowns: dict[str, Cooldown] = field(default_factory=dict)  # model or ALL_MODELS
    usage: UsageWindow = field(default_factory=UsageWindow)
    last_used_wall: float | None = None
    quota: Quota = field(default_factory=Quota)


class _View:
    """The read-only face of the pool that strategies see."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self.model = ""  # set by `select` before the strategy orders (one thread only)

    def priority(self, name: str) -> int:
        account = self._pool._accounts.get(name)
        return account.entry.priority if account else 0

    def usage(self, name: str) -> tuple[int, int]:
        account = self._pool._accounts.get(name)
        return account.usage.totals(self._pool._clock()) if account else (0, 0)

    def headroom(self, name: str) -> float:
        """The share (0..1) left of the tightest known limit for the model being selected."""
        account = self._pool._accounts.get(name)
        if account is None:
            return 1.0
        pool = self._pool
        return account.quota.headroom(self.model, pool._clock(), pool._wall())


class Pool:
    """Accounts, their rests and invalid marks, and the strategy that orders them."""

    def __init__(
        self,
        *,
        strategy: str = "sticky",
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
    ) -> None:
        self._strategy: Strategy = make_strategy(strategy)
        self._clock = clock
        self._wall = wall
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._accounts: dict[str, _Account] = {}
        self._limits: Mapping[str, QuotaLimits] = {}
        self._view = _View(self)
        # Bumped whenever an invalid mark or a rest changes, so a saver knows to save.
        self.changes = 0

    @property
    def strategy(self) -> str:
        return self._strategy.name

    def set_strategy(self, name: str) -> None:
        """Switch strategy (ValueError if unknown); the same name keeps its sessions."""
        if name != self._strategy.name:
            self._strategy = make_strategy(name)

    def sync(self, accounts: Sequence[AccountEntry]) -> None:
        """Adopt the configured accounts (at start and on every reload).

        Accounts that stay keep their rests and usage; removed ones are
        forgotten; a changed revision clears the invalid mark.
        """
        fresh: dict[str, _Account] = {}
        for entry in accounts:
            account = self._accounts.get(entry.name)
            if account is None:
                account = _Account(entry)
            elif account.entry.revision != entry.revision:
                account.invalid = None
            account.entry = entry
            account.quota.limits = self._limits.get(entry.name) or account.quota.limits
            fresh[entry.name] = account
        self._accounts = fresh

    def configure_limits(self, limits: Mapping[str, QuotaLimits]) -> None:
        """Adopt the configured rpm/tpm/rpd/tpd per account name (absent: unlimited)."""
        self._limits = dict(limits)
        for name, account in self._accounts.items():
            account.quota.limits = self._limits.get(name) or QuotaLimits()

    def observe(
        self, name: str, model: str, snapshots: Sequence[LimitSnapshot] = (), *, count: bool = True
    ) -> None:
        """The upstream answered `name` for `model`: count the request, keep its figures.

        `count=False` only takes the figures (restoring them after a restart).
        """
        account = self._accounts.get(name)
        if account is None:
            return
        now = self._clock()
        if count:
            account.quota.count(now, self._wall(), requests=1)
        if snapshots:
            account.quota.observe(model, snapshots, now, self._wall())

    def quota(self, name: str) -> tuple[Quota, float, float] | None:
        """`name`'s quota (provider figures, configured limits, counts) with the pool's
        clocks now (monotonic, wall), for what is worked out from it; None if unknown."""
        account = self._accounts.get(name)
        return None if account is None else (account.quota, self._clock(), self._wall())

    def served(self, name: str, tokens: int = 0) -> None:
        """`name` answered one client request (a ledger row): counts toward `today`."""
        account = self._accounts.get(name)
        if account is not None:
            account.quota.served(self._wall(), tokens)

    def seed_usage(
        self, name: str, buckets: Sequence[tuple[float, int, int]], today: tuple[int, int]
    ) -> None:
        """Counts from the ledger after a restart: (wall, requests, tokens) buckets, today."""
        account = self._accounts.get(name)
        if account is None:
            return
        now, now_wall = self._clock(), self._wall()
        account.quota.seed(now, now_wall, buckets, today)
        for wall, requests, tokens in buckets:
            if now_wall - wall < 60.0:  # the served-last-minute window too
                account.usage.add(now - (now_wall - wall), tokens, requests)

    def select(self, model: str, names: Sequence[str], *, session: str | None = None) -> Selection:
        """Sort the candidates `names` (config order) for a request for `model`.

        Names the pool was never told about (not in the last `sync`) are left out.
        """
        now = self._clock()
        ready: list[str] = []
        cooling: list[str] = []
        invalid: list[str] = []
        disabled: list[str] = []
        wait: float | None = None
        for name in names:
            account = self._accounts.get(name)
            if account is None:
                continue
            if not account.entry.enabled:
                disabled.append(name)
            elif account.invalid is not None:
                invalid.append(name)
            else:
                rest = _rest(account, model, now)
                quota = account.quota.rest(model, now)
                if quota is not None and quota[0] > rest:
                    rest = quota[0]
                if rest > 0:
                    cooling.append(name)
                    wait = rest if wait is None else min(wait, rest)
                else:
                    ready.append(name)
        if len(ready) > 1:
            self._view.model = model
            ready = self._strategy.order(ready, self._view, session)
        return Selection(ready, wait, cooling, invalid, disabled)

    def record_success(
        self, name: str, model: str, *, tokens: int = 0, session: str | None = None
    ) -> None:
        """`name` served `model`: reset its backoff, count usage, remember the session."""
        account = self._accounts.get(name)
        if account is None:
            return
        now = self._clock()
        account.usage.add(now, tokens)
        account.last_used_wall = self._wall()
        if tokens > 0:
            account.quota.count(now, account.last_used_wall, tokens=tokens)
        for key in (model, ALL_MODELS):
            cooldown = account.cooldowns.get(key)
            if cooldown is None:
                continue
            if cooldown.active(now):
                # A request sent before the failure may succeed after it: the
                # rest stands, only the streak is over.
                cooldown.streak = 0
            else:
                del account.cooldowns[key]
        self._strategy.succeeded(name, session)

    def record_failure(self, name: str, model: str, failure: Failure) -> float | None:
        """Rest `name` (for `model`, or wholly) after `failure`; seconds it now rests.

        AUTH marks the account invalid instead and returns None.
        """
        account = self._accounts.get(name)
        if account is None:
            return None
        if failure.kind is FailureKind.RESEND:
            return 0.0  # nothing wrong with the account: it is asked again at once
        self.changes += 1
        if failure.invalidates:
            account.invalid = failure.reason or failure.kind.value
            return None
        now = self._clock()
        key = model if failure.model_scoped else ALL_MODELS
        previous = account.cooldowns.get(key)
        if previous is None or previous.stale(now, self._backoff_max):
            streak = 1
        elif previous.active(now):
            # Requests in flight when the first failure hit fail too; they are
            # the same incident, not a reason to back off longer.
            streak = max(previous.streak, 1)
        else:
            streak = previous.streak + 1
        seconds = cooldown_seconds(
            failure,
            streak=streak,
            now_wall=self._wall(),
            base=self._backoff_base,
            cap=self._backoff_max,
        )
        cooldown = Cooldown(now + seconds, failure.reason, streak, failure.kind.value)
        if previous is not None and previous.until > cooldown.until:
            cooldown = Cooldown(previous.until, previous.reason, streak, previous.kind)
        account.cooldowns[key] = cooldown
        if len(account.cooldowns) > _SWEEP_AT:
            self._sweep(account, now)
        return cooldown.until - now

    def clear_invalid(self, name: str) -> None:
        """Forget `name`'s invalid mark (its login works again); its rests stay."""
        account = self._accounts.get(name)
        if account is not None and account.invalid is not None:
            account.invalid = None
            self.changes += 1

    def reset(self, name: str) -> None:
        """Clear the invalid mark and every rest of `name`, spent quotas included."""
        account = self._accounts.get(name)
        if account is not None:
            account.invalid = None
            account.cooldowns.clear()
            account.quota.forget_exhausted()
            self.changes += 1

    def usage(self, name: str) -> tuple[int, int]:
        """(requests, tokens) `name` served in the last minute."""
        return self._view.usage(name)

    def status(self) -> list[AccountStatus]:
        """Every account in config order, as a person would want to see it."""
        now, now_wall = self._clock(), self._wall()
        statuses = []
        for name, account in self._accounts.items():
            rests = {
                key: (cooldown.until, key, cooldown.reason, cooldown.kind)
                for key, cooldown in account.cooldowns.items()
                if cooldown.active(now)
            }
            spent = FailureKind.QUOTA_EXHAUSTED.value
            quota = [(until, m, why, spent) for m, until, why in account.quota.exhausted(now)]
            local = account.quota.rest(ALL_MODELS, now)
            if local is not None:
                quota.append((now + local[0], ALL_MODELS, local[1], FailureKind.RATE_LIMITED.value))
            for until, key, why, kind in quota:
                # A 429 both cools and reports the figure: show the one rest, not two.
                if key not in rests or rests[key][0] < until - 1.0:
                    rests[key] = (until, key, why, kind)
            active = sorted(rests.values(), key=lambda item: item[0])
            cooldowns = [
                CooldownInfo(key, now_wall + (until - now), r, kind)
                for until, key, r, kind in active
            ]
            if not account.entry.enabled:
                state, reason = "disabled", None
            elif account.invalid is not None:
                state, reason = "invalid", account.invalid
            elif cooldowns:
                state, reason = "cooling", cooldowns[-1].reason
            else:
                state, reason = "ok", None
            requests, tokens = account.usage.totals(now)
            quota = account.quota
            statuses.append(
                AccountStatus(
                    name,
                    state,
                    reason,
                    cooldowns,
                    requests,
                    tokens,
                    account.last_used_wall,
                    *quota.today_totals(now_wall),
                    tuple(quota.local(now)),
                    tuple(quota.figures(now_wall)),
                )
            )
        return statuses

    def export(self) -> dict[str, Any]:
        """Invalid marks and active rests as plain data (wall-clock times), for a restart."""
        now, now_wall = self._clock(), self._wall()
        accounts: dict[str, Any] = {}
        for name, account in self._accounts.items():
            rests = [
                {
                    "model": key,
                    "until": now_wall + (cooldown.until - now),
                    "reason": cooldown.reason,
                    "streak": cooldown.streak,
                    "kind": cooldown.kind,
                }
                for key, cooldown in account.cooldowns.items()
                if cooldown.active(now)
            ]
            if rests or account.invalid is not None:
                accounts[name] = {
                    "revision": account.entry.revision,
                    "invalid": account.invalid,
                    "cooldowns": rests,
                }
        return {"version": 1, "accounts": accounts}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back what `export` wrote. Unknown accounts, past rests and junk are skipped.

        An invalid mark comes back only if the account's revision is unchanged.
        """
        now, now_wall = self._clock(), self._wall()
        saved = data.get("accounts") if isinstance(data, Mapping) else None
        if not isinstance(saved, Mapping):
            return
        for name, record in saved.items():
            account = self._accounts.get(name)
            if account is None or not isinstance(record, Mapping):
                continue
            invalid = record.get("invalid")
            if isinstance(invalid, str) and record.get("revision") == account.entry.revision:
                account.invalid = invalid
                self.changes += 1
            rests = record.get("cooldowns")
            for rest in rests if isinstance(rests, list) else ():
                _restore_rest(account, rest, now, now_wall)

    def _sweep(self, account: _Account, now: float) -> None:
        """Forget records whose rest ended long ago (bounds memory per account)."""
        for key in [k for k, c in account.cooldowns.items() if c.stale(now, self._backoff_max)]:
            del account.cooldowns[key]


def _rest(account: _Account, model: str, now: float) -> float:
    """Seconds `account` still rests for `model` (≤ 0: ready)."""
    until = now
    for key in (model, ALL_MODELS):
        cooldown = account.cooldowns.get(key)
        if cooldown is not None and cooldown.until > until:
            until = cooldown.until
    return until - now


def _restore_rest(account: _Account, rest: Any, now: float, now_wall: float) -> None:
    if not isinstance(rest, Mapping):
        return
    key, until_wall = rest.get("model"), rest.get("until")
    reason, streak = rest.get("reason", ""), rest.get("streak", 1)
    kind = rest.get("kind", "")
    if not isinstance(key, str) or not isinstance(until_wall, int | float):
        return
    if not math.isfinite(until_wall) or until_wall <= now_wall:
        return
    until = now + min(until_wall - now_wall, MAX_HINT)
    current = account.cooldowns.get(key)
    if current is None or current.until < until:
        account.cooldowns[key] = Cooldown(
            until,
            reason if isinstance(reason, str) else "",
            streak if isinstance(streak, int) and streak > 0 else 1,
            kind if isinstance(kind, str) else "",
        )
