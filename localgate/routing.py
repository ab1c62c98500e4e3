"""Which accounts may serve a model: aliases, fallbacks and model patterns.

A client's model name resolves to ordered *targets*: the `[aliases]` entry that
matches it (later targets are fallbacks), or the name itself. Each target is a
model name, optionally pinned to a provider or account with `prefix:model`.
Pure logic over the config; the gateway caches plans per model name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from localgate.config import AccountConfig, Alias


@dataclass(frozen=True, slots=True)
class Target:
    """One way to serve a request: an upstream model on some accounts."""

    model: str  # the model name sent upstream
    accounts: tuple[str, ...]  # names of accounts whose patterns match, in config order
    depth: int  # 0 for the first target, 1.. for fallbacks


# Bytes of model names a PlanCache holds before it starts over: clients send a
# handful of names, a hostile one sends a new one per request.
PLAN_CACHE_BYTES = 1 << 20


class PlanCache:
    """Plans by client model name, bounded by the bytes of the names they hold."""

    __slots__ = ("_plans", "_bytes", "_limit")

    def __init__(self, limit: int = PLAN_CACHE_BYTES) -> None:
        self._plans: dict[str, list[Target]] = {}
        self._bytes = 0
        self._limit = limit

    def get(self, model: str, make: Callable[[], list[Target]]) -> list[Target]:
        """The cached plan for `model`, or `make()`'s, remembered while there is room."""
        plan = self._plans.get(model)
        if plan is None:
            plan = make()
            size = len(model) + sum(len(t.model) for t in plan)
            if self._bytes + size > self._limit:
                self._plans.clear()
                self._bytes = 0
            self._plans[model] = plan
            self._bytes += size
        return plan

    @property
    def size(self) -> int:
        """The bytes of names held now (characters, close enough for a bound)."""
        return self._bytes


def match_alias(aliases: Sequence[Alias], model: str) -> Alias | None:
    """The alias for `model`: an exact key wins over globs; globs in file order."""
    for alias in aliases:
        if alias.pattern == model:
            return alias
    for alias in aliases:
        if fnmatchcase(model, alias.pattern):
            return alias
    return None


def split_target(spec: str, accounts: Sequence[AccountConfig]) -> tuple[str | None, str]:
    """`"openai:gpt-4o-mini"` → ("openai", "gpt-4o-mini").

    The prefix must name a provider or an account; otherwise the colon is part of
    the model name (Ollama's `llama3:8b`).
    """
    prefix, sep, model = spec.partition(":")
    if (
        sep
        and model
        and (
            prefix in {a.provider for a in accounts}
            or prefix in {a.name for a in accounts}
            or prefix in ("anthropic", "openai", "gemini", "vertex")
        )
    ):
        return prefix, model
    return None, spec


def serves(account: AccountConfig, model: str) -> bool:
    return any(fnmatchcase(model, pattern) for pattern in account.model_patterns)


def plan(model: str, aliases: Sequence[Alias], accounts: Sequence[AccountConfig]) -> list[Target]:
    """Ordered targets for a client's model name (accounts disabled or not)."""
    alias = match_alias(aliases, model)
    specs = alias.targets if alias else (model,)
    targets = []
    for depth, spec in enumerate(specs):
        prefix, name = split_target(spec, accounts)
        names = tuple(a.name for a in accounts if _eligible(a, prefix, name))
        targets.append(Target(name, names, depth))
    return targets


def _eligible(account: AccountConfig, prefix: str | None, model: str) -> bool:
    if prefix == account.name:
        return True  # pinned to this account: the user knows it serves the model
    return (prefix is None or prefix == account.provider) and serves(account, model)
