"""Anthropic API accounts (api.anthropic.com or any Messages-compatible endpoint)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from localgate.dialects.common import error_message
from localgate.pool.failures import Failure, FailureKind
from localgate.providers.base import COUNT_TOKENS, MESSAGES, Provider, UpstreamCall, classify_status
from localgate.providers.ratelimit import anthropic_reset_wait, retry_after

DEFAULT_VERSION = "2023-06-01"
# Headers of the client's that an Anthropic upstream needs to see as they are.
FORWARDED = ("anthropic-version", "anthropic-beta")


class AnthropicProvider(Provider):
    name = "anthropic"

    def operations(self, model: str) -> frozenset[str]:
        return frozenset((MESSAGES, COUNT_TOKENS))

    async def call(self, op, model, body, *, stream, client_headers):
        path = "/v1/messages/count_tokens" if op == COUNT_TOKENS else "/v1/messages"
        headers = {"content-type": "application/json", "anthropic-version": DEFAULT_VERSION}
        for name in FORWARDED:
            value = client_headers.get(name)
            if value:
                headers[name] = value
        headers["x-api-key"] = await self.credential.token()
        if stream:
            headers["accept"] = "text/event-stream"
        return UpstreamCall("POST", self.base_url + path, headers, body)

    async def check_call(self) -> UpstreamCall:
        headers = {"anthropic-version": DEFAULT_VERSION, "x-api-key": self.credential.secret}
        return UpstreamCall("GET", self.base_url + "/v1/models?limit=1000", headers)

    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> Failure | None:
        message = error_message(body)
        if status == 429:
            wait = retry_after(headers) or anthropic_reset_wait(headers, time.time())
            return Failure(FailureKind.RATE_LIMITED, f"429 {message}", wait, status=status)
        if status == 400 and "credit balance" in message.lower():
            # Billing, not the request: another account can serve it.
            return Failure(FailureKind.QUOTA_EXHAUSTED, message, status=status, model_scoped=False)
        return classify_status(status, headers, message)
