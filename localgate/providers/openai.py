"""OpenAI and OpenAI-compatible accounts (OpenRouter, Groq, DeepSeek, vLLM, Ollama…)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from localgate.dialects.common import error_message
from localgate.pool.failures import Failure, FailureKind
from localgate.providers.base import CHAT, Provider, UpstreamCall, classify_status
from localgate.providers.ratelimit import openai_reset_wait, retry_after


class OpenAIProvider(Provider):
    name = "openai"

    def operations(self, model: str) -> frozenset[str]:
        return frozenset((CHAT,))

    async def call(self, op, model, body, *, stream, client_headers):
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {await self.credential.token()}",
        }
        if stream:
            headers["accept"] = "text/event-stream"
        return UpstreamCall("POST", self.base_url + "/chat/completions", headers, body)

    async def check_call(self) -> UpstreamCall:
        headers = {"authorization": f"Bearer {self.credential.secret}"}
        return UpstreamCall("GET", self.base_url + "/models", headers)

    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> Failure | None:
        message = error_message(body)
        if status == 429:
            if _error_code(body) == "insufficient_quota":
                # Billing: retrying in seconds won't help; the pool cools it for long.
                return Failure(
                    FailureKind.QUOTA_EXHAUSTED, f"429 {message}", status=status, model_scoped=False
                )
            wait = retry_after(headers) or openai_reset_wait(headers)
            return Failure(FailureKind.RATE_LIMITED, f"429 {message}", wait, status=status)
        return classify_status(status, headers, message)


def _error_code(body: bytes) -> str | None:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    if isinstance(error, dict):
        return error.get("code") or error.get("type")
    return None
