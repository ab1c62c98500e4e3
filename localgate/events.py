"""Typed events the gateway emits; observers (request log, ledger) subscribe.

Observers are called on the event loop and must return quickly: anything slow
(disk, network) belongs in their own background task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from localgate.dialects.usage import Usage


@dataclass(slots=True)
class AttemptFailed:
    """One account failed before anything reached the client; the request moves on."""

    request_id: str
    account: str
    model: str
    kind: str  # FailureKind value
    reason: str
    cooldown: float | None  # seconds the (account, model) now cools; None when invalidated


@dataclass(slots=True)
class LimitsObserved:
    """An upstream answer carried rate-limit figures (headers or a quota error)."""

    account: str
    model: str
    snapshots: list  # of localgate.providers.ratelimit.LimitSnapshot


@dataclass(slots=True)
class RequestDone:
    """A client request finished (served, failed, or the client went away)."""

    request_id: str
    dialect: str
    op: str
    model: str  # as the client asked
    stream: bool
    status: int
    started_wall: float
    latency: float  # seconds until the last byte
    ttfb: float | None = None  # seconds until the first byte reached the client
    account: str | None = None
    provider: str | None = None
    model_used: str | None = None
    fallback_depth: int = 0
    attempts: int = 0
    usage: Usage = field(default_factory=Usage)
    error: str | None = None  # what went wrong, for the log; never a secret
    client_gone: bool = False
    dropped: tuple[str, ...] = ()  # request fields the serving account could not honour

    def fields(self) -> dict:
        """The request as JSON-able fields (the JSON log, the dashboard's feed): never
        a secret, never a body."""
        usage = self.usage
        return {
            "dialect": self.dialect,
            "op": self.op,
            "model": self.model,
            "account": self.account,
            "provider": self.provider,
            "model_used": self.model_used,
            "status": self.status,
            "stream": self.stream,
            "client_gone": self.client_gone,
            "latency_ms": round(self.latency * 1000, 1),
            "ttfb_ms": None if self.ttfb is None else round(self.ttfb * 1000, 1),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_creation_tokens": usage.cache_creation_tokens,
            "images": usage.images,
            "audio_seconds": usage.audio_seconds,
            "speech_characters": usage.speech_characters,
            "attempts": self.attempts,
            "fallback_depth": self.fallback_depth,
            "dropped": list(self.dropped),
            "error": self.error,
        }


Observer = Callable[[object], None]


class Events:
    """A tiny synchronous bus: `emit` calls every observer, one failing doesn't stop others."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def emit(self, event: object) -> None:
        for observer in self._observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must never break a request
                import logging

                logging.getLogger("localgate").exception("observer failed on %r", event)
