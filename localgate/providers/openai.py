"""OpenAI and OpenAI-compatible accounts (OpenRouter, Groq, DeepSeek, vLLM, Ollama…)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import quote

from localgate import operations
from localgate.dialects.common import error_message
from localgate.pool.failures import Failure, FailureKind
from localgate.providers.base import Provider, UpstreamCall, classify_status
from localgate.providers.ratelimit import openai_reset_wait, retry_after


class OpenAIProvider(Provider):
    name = "openai"

    def operations(self, model: str) -> frozenset[str]:
        # Every OpenAI route is relayed; the upstream says which models take which.
        return operations.OPENAI_RELAYED

    async def call(self, op, model, body, *, stream, client_headers):
        operation = operations.get(op)
        headers = {"authorization": f"Bearer {await self.credential.token()}"}
        if operation.socket:
            return self._socket_call(model, headers, client_headers)
        # A form goes with the client's own content type: its boundary is in it.
        kind = client_headers.get("content-type") if operation.multipart else None
        headers["content-type"] = kind or "application/json"
        accept = client_headers.get("accept") if operation.media else None
        if stream:
            headers["accept"] = "text/event-stream"
        elif accept:  # audio asks for application/octet-stream
            headers["accept"] = accept
        return UpstreamCall("POST", self.base_url + operation.openai_path, headers, body)

    def _socket_call(self, model, headers, client_headers) -> UpstreamCall:
        """The Realtime socket: the base URL's host, the account's key in the header."""
        beta = client_headers.get("openai-beta")
        if beta:
            headers["openai-beta"] = beta
        url = f"{self.base_url}/realtime?model={quote(model, safe='')}"
        return UpstreamCall("GET", url, headers)

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
