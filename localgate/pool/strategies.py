"""In which order to try the ready accounts: one small class per strategy.

A strategy gets the ready candidates in config order and returns all of them,
best first; the ones after the first are the failover order. It runs on every
request, so it looks only at the candidates (a handful), never at a big table.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

DEFAULT_MAX_SESSIONS = 10_000
_MAX_ROTATIONS = 1_024  # distinct candidate sets remembered by round-robin


class AccountView(Protocol):
    """What a strategy may ask the pool about an account."""

    def priority(self, name: str) -> int: ...

    def usage(self, name: str) -> tuple[int, int]:
        """(requests, tokens) the account served in the last minute."""
        ...

    def headroom(self, name: str) -> float:
        """The share (0..1) left of the account's tightest known limit for the model."""
        ...


class Strategy(Protocol):
    name: str

    def order(self, ready: Sequence[str], view: AccountView, session: str | None) -> list[str]:
        """Every name in `ready`, in the order to try them."""
        ...

    def succeeded(self, name: str, session: str | None) -> None:
        """`name` served a request of `session`."""
        ...


class RoundRobin:
    """Rotate the starting account on each select, per set of ready candidates."""

    name = "round-robin"

    def __init__(self) -> None:
        # LRU so candidate sets from old configs do not pile up in a daemon.
        self._turns: OrderedDict[tuple[str, ...], int] = OrderedDict()

    def order(self, ready: Sequence[str], view: AccountView, session: str | None) -> list[str]:
        if len(ready) < 2:
            return list(ready)
        key = tuple(ready)
        start = self._turns.pop(key, 0) % len(ready)
        self._turns[key] = start + 1
        if len(self._turns) > _MAX_ROTATIONS:
            self._turns.popitem(last=False)
        return [*ready[start:], *ready[:start]]

    def succeeded(self, name: str, session: str | None) -> None:
        pass


class Sticky:
    """Keep a session on the account that last served it, while that one is ready.

    A new session (or none) is spread round-robin. Sessions are remembered in
    a bounded LRU: the least recently seen is forgotten first.
    """

    name = "sticky"

    def __init__(self, max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        self._max_sessions = max_sessions
        self._sessions: OrderedDict[str, str] = OrderedDict()
        self._rotation = RoundRobin()

    def order(self, ready: Sequence[str], view: AccountView, session: str | None) -> list[str]:
        if session is not None:
            bound = self._sessions.get(session)
            if bound is not None:
                self._sessions.move_to_end(session)
                if bound in ready:
                    return [bound, *(name for name in ready if name != bound)]
        return self._rotation.order(ready, view, session)

    def succeeded(self, name: str, session: str | None) -> None:
        if session is None:
            return
        self._sessions[session] = name
        self._sessions.move_to_end(session)
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)

    def bound(self, session: str) -> str | None:
        """The account `session` sticks to, if remembered (does not refresh it)."""
        return self._sessions.get(session)


class FillFirst:
    """Highest priority first, then config order: use one account until it cools."""

    name = "fill-first"

    def order(self, ready: Sequence[str], view: AccountView, session: str | None) -> list[str]:
        return sorted(ready, key=lambda name: -view.priority(name))  # stable: config order

    def succeeded(self, name: str, session: str | None) -> None:
        pass


class LeastUsed:
    """Most headroom first, then fewest tokens in the last minute, fewest requests, config order.

    Headroom is the share left of the tightest limit known for the model (the
    provider's figures, the configured rpm/tpm/rpd/tpd), rounded to 1% so that
    near-equal accounts are told apart by their recent load.
    """

    name = "least-used"

    def order(self, ready: Sequence[str], view: AccountView, session: str | None) -> list[str]:
        # Views that know nothing of quotas (tests, tools) have no `headroom`.
        headroom = getattr(view, "headroom", None)

        def load(name: str) -> tuple[float, int, int]:
            requests, tokens = view.usage(name)
            left = round(headroom(name), 2) if headroom is not None else 1.0
            return -left, tokens, requests

        return sorted(ready, key=load)

    def succeeded(self, name: str, session: str | None) -> None:
        pass


STRATEGIES: dict[str, type] = {cls.name: cls for cls in (Sticky, RoundRobin, FillFirst, LeastUsed)}


def make_strategy(name: str) -> Strategy:
    """A fresh strategy called `name`; ValueError for a name we do not know."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        known = ", ".join(STRATEGIES)
        raise ValueError(f"unknown strategy {name!r} (known: {known})") from None
    return cls()
