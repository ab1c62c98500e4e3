"""A fake api.anthropic.com: Messages, count_tokens and models, in the real wire format."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

from aiohttp import web

from .base import (
    Call,
    Error,
    FakeUpstream,
    Recorded,
    Reply,
    Usage,
    dumps,
    random_id,
    split_text,
)

# Status -> error.type, as the API documents them.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# Claude on Vertex AI: the Messages dialect behind rawPredict / streamRawPredict.
VERTEX_ROUTE = (
    "/{version:v1|v1beta1}/projects/{project}/locations/{location}"
    "/publishers/anthropic/models/{target:[^/]+}"
)

DEFAULT_MESSAGES = {
    429: "Number of request tokens has exceeded your per-minute rate limit",
    529: "Overloaded",
    401: "invalid x-api-key",
}


# The API's answer to a thinking budget sent to Claude 4.7 or later.
BUDGET_REFUSED = (
    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
    'and "output_config.effort" to control thinking behavior.'
)
_VERSION = re.compile(r"claude-(?:[a-z]+-)+(\d+)(?:-(\d)(?!\d))?")


def refuses_budget(model: str) -> bool:
    """Claude 4.7 and later think adaptively only (a date suffix is not a version)."""
    match = _VERSION.match(model)
    return bool(match) and (int(match[1]), int(match[2] or 0)) >= (4, 7)


def thinking_signature(thinking: str, name: str) -> str:
    """A deterministic, opaque, base64 signature for a thinking block."""
    digest = hashlib.sha256(f"{name}\0{thinking}".encode()).digest()
    return base64.b64encode(b"fake-signature:" + digest * 2).decode()


def usage_object(usage: Usage, *, output: int) -> dict:
    """The Usage object of a message (or message_start with a partial `output`)."""
    data = {
        "input_tokens": usage.input,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_creation,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output,
        "service_tier": "standard",
    }
    return data


def sse(event: str, data: dict | bytes) -> bytes:
    """One Anthropic SSE event: named, its data repeating the name as `type`."""
    payload = data if isinstance(data, bytes) else dumps(data)
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


class FakeAnthropic(FakeUpstream):
    """Serves POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models."""

    kind = "anthropic"
    default_models = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5")

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/messages", self._messages)
        router.add_post("/v1/messages/count_tokens", self._count_tokens)
        router.add_get("/v1/models", self._models)
        router.add_post(VERTEX_ROUTE, self._vertex)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        call = Call.from_body(recorded)
        return self._refusal(call) or await self.answer(request, call)

    def _refusal(self, call: Call) -> web.Response | None:
        """What the API refuses before answering (as it does, with a 400)."""
        body = call.request.json if isinstance(call.request.json, dict) else {}
        thinking = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
        if thinking.get("type") == "enabled" and refuses_budget(call.model):
            return self.error_response(Error(400, BUDGET_REFUSED, headers={}))
        return None

    async def _vertex(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        model, _, method = request.match_info["target"].partition(":")
        if model == "count-tokens":
            return self._tokens_counted(recorded)
        if method not in ("rawPredict", "streamRawPredict"):
            return self.error_response(Error(404, f"Method not found: {method}", headers={}))
        body = recorded.json if isinstance(recorded.json, dict) else {}
        call = Call(model, body.get("stream") is True, recorded)
        return self._refusal(call) or await self.answer(request, call)

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        # Scripted failures (429, Hang…) apply to counting too; a Reply counts.
        recorded = await self.record(request)

        async def count(reply) -> web.Response:
            return self._tokens_counted(recorded)

        return await self.answer_with(request, recorded, count)

    def _tokens_counted(self, recorded: Recorded) -> web.Response:
        body = recorded.json if isinstance(recorded.json, dict) else {}
        if not isinstance(body.get("messages"), list):  # as the API answers an empty body
            return self.error_response(Error(400, "messages: Field required", headers={}))
        counted = {k: body.get(k) for k in ("system", "messages", "tools")}
        # ~4 bytes per token of the parts that are prompt, never zero.
        tokens = max(1, len(json.dumps(counted, separators=(",", ":"))) // 4)
        return web.Response(
            body=dumps({"input_tokens": tokens}),
            headers={**self.base_headers(None), "content-type": self.json_content_type},
        )

    async def _models(self, request: web.Request) -> web.Response:
        await self.record(request)
        data = [
            {
                "type": "model",
                "id": model,
                "display_name": model.replace("-", " ").title(),
                "created_at": "2025-09-29T00:00:00Z",
            }
            for model in self.models
        ]
        page = {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
        return web.Response(
            body=dumps(page),
            headers={**self.base_headers(None), "content-type": self.json_content_type},
        )

    def base_headers(self, call: Call | None) -> dict:
        reset = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "server": "cloudflare",
            "request-id": "req_011C" + random_id(20),
            "anthropic-organization-id": "fa1e0000-0000-4000-8000-000000000000",
            "x-robots-tag": "none",
        }
        for kind, limit in (
            ("requests", 4000),
            ("input-tokens", 2000000),
            ("output-tokens", 400000),
            ("tokens", 2400000),
        ):
            headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{kind}-remaining"] = str(limit - 1)
            headers[f"anthropic-ratelimit-{kind}-reset"] = reset
        return headers

    # -- rendering ------------------------------------------------------------

    def _stop_reason(self, reply: Reply) -> str:
        return reply.stop or ("tool_use" if reply.tool_calls else "end_turn")

    def _text(self, reply: Reply) -> str:
        return self.default_text if reply.text is None else reply.text

    def _blocks(self, reply: Reply) -> list[dict]:
        """The content blocks of the answer, thinking first, tool calls last."""
        blocks = []
        if reply.thinking is not None:
            signature = thinking_signature(reply.thinking, self.name)
            blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": signature})
        text = self._text(reply)
        if text:
            blocks.append({"type": "text", "text": text})
        for tool in reply.tool_calls:
            tool_id = tool.id or "toolu_01" + random_id(22)
            blocks.append(
                {"type": "tool_use", "id": tool_id, "name": tool.name, "input": tool.input}
            )
        return blocks

    def render_body(self, reply: Reply, call: Call) -> bytes:
        message = {
            "id": "msg_01" + random_id(22),
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": self._blocks(reply),
            "stop_reason": self._stop_reason(reply),
            "stop_sequence": None,
            "usage": usage_object(reply.usage, output=reply.usage.output),
        }
        return dumps(message)

    def render_events(self, reply: Reply, call: Call) -> list[bytes]:
        message = {
            "id": "msg_01" + random_id(22),
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_object(reply.usage, output=min(1, reply.usage.output)),
        }
        events = [sse("message_start", {"type": "message_start", "message": message})]
        for index, block in enumerate(self._blocks(reply)):
            events.append(
                sse(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": _empty(block),
                    },
                )
            )
            if index == 0:
                # The real API pings right after the first block opens, with this spacing.
                events.append(sse("ping", b'{"type": "ping"}'))
            for delta in self._deltas(block, reply.chunks):
                events.append(
                    sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        usage = reply.usage
        events.append(
            sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self._stop_reason(reply), "stop_sequence": None},
                    "usage": {
                        "input_tokens": usage.input,
                        "cache_creation_input_tokens": usage.cache_creation,
                        "cache_read_input_tokens": usage.cache_read,
                        "output_tokens": usage.output,
                    },
                },
            )
        )
        events.append(sse("message_stop", {"type": "message_stop"}))
        return events

    def _deltas(self, block: dict, chunks: int) -> list[dict]:
        if block["type"] == "text":
            return [{"type": "text_delta", "text": t} for t in split_text(block["text"], chunks)]
        if block["type"] == "thinking":
            deltas = [
                {"type": "thinking_delta", "thinking": t}
                for t in split_text(block["thinking"], chunks)
            ]
            return deltas + [{"type": "signature_delta", "signature": block["signature"]}]
        arguments = dumps(block["input"]).decode()
        # The API opens with an empty fragment, then sends the JSON in pieces.
        pieces = [""] + split_text(arguments, max(2, chunks))
        return [{"type": "input_json_delta", "partial_json": p} for p in pieces]

    def render_error(self, error: Error) -> tuple[bytes, dict]:
        error_type = error.code or ERROR_TYPES.get(error.status, "api_error")
        message = error.message or DEFAULT_MESSAGES.get(error.status, error_type)
        body = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": "req_011C" + random_id(20),
        }
        headers = {"content-type": self.json_content_type}
        retryable = error.status in (408, 409, 429) or error.status >= 500
        headers["x-should-retry"] = "true" if retryable else "false"
        if error.status == 429:
            headers["retry-after"] = "7"
        return dumps(body), headers

    def render_stream_error(self, error: Error, call: Call | None = None) -> bytes:
        return sse("error", self.render_error(error)[0])


def _empty(block: dict) -> dict:
    """A block as `content_block_start` opens it: its content still empty."""
    if block["type"] == "text":
        return {"type": "text", "text": ""}
    if block["type"] == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
