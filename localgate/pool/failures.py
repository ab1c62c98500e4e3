"""What went wrong with one attempt on one account, as the pool needs to know it.

Providers read upstream answers (status, headers, body) into a `Failure`; the
pool turns it into a cooldown or an invalid mark. Nothing here touches sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: the provider said slow down
    QUOTA_EXHAUSTED = "quota_exhausted"  # 429 for billing/daily quota: retrying soon won't help
    OVERLOADED = "overloaded"  # 529 / 503: provider-side capacity
    SERVER_ERROR = "server_error"  # other 5xx
    TIMEOUT = "timeout"  # no first byte / stalled before anything reached the client
    CONNECTION = "connection"  # refused, reset, DNS, TLS: the host is unreachable
    AUTH = "auth"  # 401/403: the key is wrong or revoked; the account is invalid
    FORBIDDEN_MODEL = "forbidden_model"  # 403 for one model only (not enabled in the project)
    EMPTY = "empty"  # a stream with no content, no tool call and no refusal
    # The upstream refused a part the provider can leave out (Vertex: a beta); the
    # provider has learned it, so the same account gets the request again at once.
    RESEND = "resend"


@dataclass(frozen=True)
class Failure:
    """One failed attempt.

    `retry_after` is the wait the provider asked for, in seconds (None: use
    backoff). `until_wall` is an absolute wall-clock time (epoch seconds) when
    the provider said the limit resets, e.g. a daily quota; it wins over
    `retry_after` when both are given. `model_scoped` is False when the whole
    account is affected (connection errors, auth), True when only the model is.
    `reason` is human text for tables and logs; it never holds a secret.
    """

    kind: FailureKind
    reason: str
    retry_after: float | None = None
    until_wall: float | None = None
    model_scoped: bool = True
    status: int | None = None

    @property
    def invalidates(self) -> bool:
        return self.kind is FailureKind.AUTH

    @property
    def rate_limited(self) -> bool:
        """The provider asked us to slow down (as opposed to failing)."""
        return self.kind in RATE_LIMITS


# Kinds that mean "too many requests": a 429 to the client, with Retry-After.
RATE_LIMITS = frozenset({FailureKind.RATE_LIMITED, FailureKind.QUOTA_EXHAUSTED})
