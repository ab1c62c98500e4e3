"""OpenAI and OpenAI-compatible accounts (OpenRouter, Groq, DeepSeek, vLLM, Ollama…)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from fnmatch import fnmatchcase
from urllib.parse import quote

from localgate import operations
from localgate.dialects.common import error_message
from localgate.pool.failures import Failure, FailureKind
from localgate.providers.base import (
    CHAT,
    COMPACT,
    COUNT_TOKENS,
    RESPONSES,
    Provider,
    UpstreamCall,
    classify_status,
)
from localgate.providers.ratelimit import openai_reset_wait, retry_after

# Models OpenAI serves only through the Responses API.
RESPONSES_ONLY = ("*codex*", "o1-pro*", "o3-pro*", "gpt-5-pro*", "gpt-5.*-pro*", "*deep-research*")
PATHS = {
    CHAT: "/chat/completions",
    RESPONSES: "/responses",
    COUNT_TOKENS: "/responses/input_tokens",
    COMPACT: "/responses/compact",
}
OPERATIONS = {
    "openai": frozenset((CHAT,)),
    "responses": frozenset((RESPONSES, COUNT_TOKENS, COMPACT)),
}


class OpenAIProvider(Provider):
    """The account's `api` says which API it speaks upstream: "chat" (Chat
    Completions), "responses", or — unset — both on api.openai.com (each client
    relayed in its own dialect) and chat elsewhere. Models that exist only in
    the Responses API are always reached there."""

    name = "openai"

    def dialects_for(self, model: str) -> tuple[str, ...]:
        api = self.account.extra.get("api")
        if api == "responses" or any(fnmatchcase(model.lower(), p) for p in RESPONSES_ONLY):
            return ("responses",)
        if api is None and self.base_url == self.info.default_base_url:
            return ("openai", "responses")
        return ("openai",)

    def dialect_for(self, model: str) -> str:
        return self.dialects_for(model)[0]

    def operations(self, model: str) -> frozenset[str]:
        # Generation in the API(s) it speaks; every other OpenAI route is relayed
        # (the upstream says which models take which).
        generation = (OPERATIONS[d] for d in self.dialects_for(model))
        return frozenset().union(operations.OPENAI_RELAYED, *generation)

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
        path = PATHS[op] if op in PATHS else operation.openai_path
        return UpstreamCall("POST", self.base_url + path, headers, body)

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
