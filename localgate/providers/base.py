"""The small interface every account kind implements.

A `Provider` instance belongs to one configured account. It knows how to reach
that account (URL, auth headers), which dialect it speaks for a model, and how
to read the upstream's failures into a `Failure` for the pool. It never sends
anything itself: the gateway owns the HTTP session and the attempt loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from localgate.dialects.common import error_message
from localgate.pool.failures import Failure, FailureKind
from localgate.providers import ProviderInfo
from localgate.providers import info as provider_info
from localgate.providers.ratelimit import retry_after

if TYPE_CHECKING:
    from localgate.config import AccountConfig
    from localgate.spool import Upload


# Operations a client asks for; each dialect has its own, the gateway maps them.
MESSAGES = "messages"  # Anthropic POST /v1/messages
COUNT_TOKENS = "count_tokens"  # Anthropic POST /v1/messages/count_tokens
CHAT = "chat"  # OpenAI POST /v1/chat/completions
GENERATE = "generate"  # Gemini :generateContent / :streamGenerateContent
RESPONSES = "responses"  # OpenAI POST /v1/responses
COMPACT = "compact"  # OpenAI POST /v1/responses/compact


@dataclass(frozen=True)
class UpstreamCall:
    """Everything needed to send one request upstream."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | Upload | None = None  # an Upload is streamed from its spool


@dataclass
class Credential:
    """How an account proves itself upstream. API-key accounts hold the key.

    OAuth-backed providers subclass this with a refreshing implementation.
    """

    secret: str = field(repr=False)

    async def token(self) -> str:
        return self.secret

    def forget_refusal(self) -> None:
        """Ask again next time though the provider refused before (OAuth logins)."""

    def masked(self) -> tuple[str, ...]:
        """What must never leave in relayed errors or logs, should an upstream echo it."""
        return (self.secret,)

    @property
    def fingerprint(self) -> str:
        """A stable, non-reversible tag of the secret, to notice when it changes."""
        import hashlib

        return hashlib.sha256(self.secret.encode()).hexdigest()[:12]


class Provider:
    """Base of every provider; subclasses set `name` and implement `call`."""

    name: ClassVar[str]
    # True when the upstream names models by ids of its own in its answers.
    renames_models: ClassVar[bool] = False

    def __init__(self, account: AccountConfig, credential: Credential):
        self.account = account
        self.credential = credential

    @classmethod
    def credential_for(
        cls, account: AccountConfig, read: Callable[[str], str | None] | None = None
    ) -> Credential:
        """Resolve the account's secret (blocking; raises SecretError with the fix);
        `read` reads a keyring entry (see `resolve_secret`)."""
        from localgate.secrets import resolve_secret

        return Credential(resolve_secret(account, read))

    @property
    def info(self) -> ProviderInfo:
        return provider_info(self.name)

    @property
    def base_url(self) -> str:
        return (self.account.base_url or self.info.default_base_url).rstrip("/")

    @cached_property  # the environment is read once per provider, not per request
    def proxy(self) -> str | None:
        """The HTTP proxy for this account's requests (see providers/proxy.py), or None."""
        from localgate.providers.proxy import upstream_proxy

        return upstream_proxy(self.account.proxy, self.base_url)

    def dialect_for(self, model: str) -> str:
        """The wire dialect this account speaks for `model` (its first, when several)."""
        return self.info.dialect

    def dialects_for(self, model: str) -> tuple[str, ...]:
        """Every wire dialect this account speaks for `model`, preferred first."""
        return (self.dialect_for(model),)

    def upstream_dialect(self, model: str, client: str) -> str:
        """The dialect to reach `model` in for a `client` dialect: the client's own
        when the account speaks it (a relay, no translation), else the preferred one."""
        spoken = self.dialects_for(model)
        return client if client in spoken else spoken[0]

    def operations(self, model: str) -> frozenset[str]:
        """Operations this account can serve for `model` natively."""
        raise NotImplementedError

    async def call(
        self,
        op: str,
        model: str,
        body: bytes,
        *,
        stream: bool,
        client_headers: Mapping[str, str],
    ) -> UpstreamCall:
        """The upstream request for `op` on `model` with `body` (already in our dialect)."""
        raise NotImplementedError

    def answer(self, op: str, model: str, data: dict) -> dict:
        """The upstream's JSON answer to `op` in its dialect's shape (Vertex's own
        embedding methods answer otherwise); most providers' answers already are."""
        return data

    async def check_call(self) -> UpstreamCall:
        """One cheap request that proves the account works (for `accounts test`)."""
        raise NotImplementedError

    async def models_call(self) -> UpstreamCall | None:
        """The request listing the account's models, or None when there is no listing
        (the account's `models` patterns then stand alone). API-key providers' checks
        are their listings."""
        return await self.check_call()

    def known_models(self) -> tuple[str, ...]:
        """Model names to list when there is no listing (see `models_call`)."""
        return ()

    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> Failure | None:
        """Read a non-2xx upstream answer.

        Returns a Failure when another account might succeed (429, 5xx, 401/403…),
        or None when the request itself is at fault (400, 404, 413…) and the
        answer should go back to the client.
        """
        return classify_status(status, headers, error_message(body))


def classify_status(status: int, headers: Mapping[str, str], message: str) -> Failure | None:
    """Provider-neutral reading of an error status; providers refine it."""
    wait = retry_after(headers)
    reason = f"{status} {message}"
    if status == 429:
        return Failure(FailureKind.RATE_LIMITED, reason, wait, status=status)
    if status in (401, 403):
        return Failure(FailureKind.AUTH, reason, model_scoped=False, status=status)
    if status in (503, 529):
        return Failure(FailureKind.OVERLOADED, reason, wait, status=status)
    if status >= 500 or status == 408:
        return Failure(FailureKind.SERVER_ERROR, reason, wait, status=status)
    return None
