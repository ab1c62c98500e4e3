"""Shared pieces of the hardening suites: routes, valid bodies, dialect error checks."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from tests.support import account

ANTHROPIC_KEY = "sk-ant-api03-HARDENINGsecretANTHROPIC0123456789"
OPENAI_KEY = "sk-proj-HARDENINGsecretOPENAI0123456789abcdef"


@dataclass(frozen=True)
class Route:
    path: str
    dialect: str
    body: dict  # a valid body (for a model some account serves)

    @property
    def stream_body(self) -> dict:
        return {**self.body, "stream": True}


CHAT = [{"role": "user", "content": "hi"}]
MESSAGES = Route(
    "/v1/messages", "anthropic", {"model": "claude-opus-4-8", "max_tokens": 10, "messages": CHAT}
)
COUNT = Route(
    "/v1/messages/count_tokens", "anthropic", {"model": "claude-opus-4-8", "messages": CHAT}
)
COMPLETIONS = Route("/v1/chat/completions", "openai", {"model": "gpt-4o", "messages": CHAT})
GENERATE = Route(
    "/v1beta/models/gemini-2.5-flash:generateContent",
    "gemini",
    {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
)
EMBEDDINGS = Route(
    "/v1/embeddings", "openai", {"model": "text-embedding-3-small", "input": ["a", "b"]}
)
LEGACY = Route("/v1/completions", "openai", {"model": "claude-opus-4-8", "prompt": "x"})
SPEECH = Route("/v1/audio/speech", "openai", {"model": "tts-1", "voice": "alloy", "input": "x"})
EMBED_CONTENT = Route(
    "/v1beta/models/text-embedding-3-small:batchEmbedContents",
    "gemini",
    {"requests": [{"content": {"parts": [{"text": "hi"}]}}]},
)
POST_ROUTES = (MESSAGES, COUNT, COMPLETIONS, GENERATE)
JSON = {"content-type": "application/json"}  # headers of a raw body sent as JSON
# The routes beyond chat, fuzzed with the same bodies and headers.
FUZZED_ROUTES = (*POST_ROUTES, EMBEDDINGS, LEGACY, SPEECH, EMBED_CONTENT)
GET_PATHS = ("/health", "/v1/models", "/account-limits", "/v1beta/models")


async def start(localgate, make_fake, **tables):
    """localgate with one Anthropic and one OpenAI account on fakes: (client, fakes)."""
    anthropic = await make_fake("anthropic", "ant")
    openai = await make_fake("openai", "oai")
    client = await localgate(
        [
            account("ant", "anthropic", anthropic.url, key=ANTHROPIC_KEY),
            account("oai", "openai", openai.url, key=OPENAI_KEY),
        ],
        **tables,
    )
    return client, (anthropic, openai)


def upstream_calls(fakes) -> int:
    return sum(len(fake.requests) for fake in fakes)


def assert_dialect_error(dialect: str, status: int, raw: bytes) -> dict:
    """`raw` is an error body in `dialect`'s shape; returns it parsed."""
    body = json.loads(raw)
    if dialect == "anthropic":
        assert body["type"] == "error", body
        assert isinstance(body["error"]["type"], str) and body["error"]["message"], body
    elif dialect == "openai":
        error = body["error"]
        assert isinstance(error["message"], str) and error["message"], body
        assert isinstance(error["type"], str) and "param" in error and "code" in error, body
    else:
        error = body["error"]
        assert error["code"] == status and isinstance(error["status"], str), body
        assert error["message"], body
    return body


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
