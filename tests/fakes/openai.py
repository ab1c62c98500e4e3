"""A fake api.openai.com: Chat Completions and models, in the real wire format."""

from __future__ import annotations

import json
import time

from aiohttp import web

from .base import Call, Error, FakeUpstream, Reply, dumps, random_id, split_text
from .openai_media import MediaRoutes
from .responses import ResponsesRender, refusal

# Status -> (error.type, error.code) as the API sends them.
ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}

DEFAULT_MESSAGES = {
    401: "Incorrect API key provided: x. You can find your API key at "
    "https://platform.openai.com/account/api-keys.",
    429: "Rate limit reached for gpt-4o in organization org-fake on requests per min (RPM): "
    "Limit 500, Used 500, Requested 1. Please try again in 7s.",
    500: "The server had an error while processing your request. Sorry about that!",
}


def sse(chunk: dict | str) -> bytes:
    """One OpenAI SSE event: a bare `data:` line, no event name."""
    payload = chunk.encode() if isinstance(chunk, str) else dumps(chunk)
    return b"data: " + payload + b"\n\n"


class FakeOpenAI(MediaRoutes, FakeUpstream):
    """Serves POST /v1/chat/completions, the Responses API (/v1/responses,
    /input_tokens, /compact), GET /v1/models and the routes beyond chat
    (openai_media); `url` ends in /v1. Each fake is its own organisation: it
    accepts only the reasoning blobs it minted."""

    kind = "openai"
    url_path = "/v1"
    default_models = ("gpt-4o", "gpt-4o-mini", "o3-mini")
    sse = staticmethod(sse)  # the media routes frame their events alike

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/chat/completions", self._completions)
        router.add_post("/v1/responses", self._responses)
        router.add_post("/v1/responses/input_tokens", self._input_tokens)
        router.add_post("/v1/responses/compact", self._compact)
        router.add_get("/v1/models", self._models)
        self.add_media_routes(router)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        return await self.answer(request, Call.from_body(recorded))

    @property
    def responses_wire(self) -> ResponsesRender:
        return ResponsesRender(self.name, self.default_text)

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        refused = refusal(self.name, recorded.json)
        if refused is not None:
            return self.error_response(refused)
        return await self.answer(request, Call.from_body(recorded))

    async def _input_tokens(self, request: web.Request) -> web.Response:
        recorded = await self.record(request)
        refused = refusal(self.name, recorded.json)
        behavior = self.next_behavior() if refused is None else refused
        if isinstance(behavior, Error):
            return self.error_response(behavior)
        count = {"object": "response.input_tokens", "input_tokens": len(recorded.body) // 4}
        return web.Response(body=dumps(count), content_type="application/json")

    async def _compact(self, request: web.Request) -> web.Response:
        recorded = await self.record(request)
        refused = refusal(self.name, recorded.json)
        behavior = self.next_behavior() if refused is None else refused
        if isinstance(behavior, Error):
            return self.error_response(behavior)
        item = {
            "type": "compaction",
            "id": "cmp_" + random_id(40).lower(),
            "encrypted_content": f"gAAAAB{self.name}.compacted",
        }
        compacted = {
            "id": "resp_" + random_id(40).lower(),
            "object": "response.compaction",
            "created_at": int(time.time()),
            "output": [item],
            "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        }
        return web.Response(body=dumps(compacted), content_type="application/json")

    async def _models(self, request: web.Request) -> web.Response:
        await self.record(request)
        data = [
            {"id": model, "object": "model", "created": 1715367049, "owned_by": "system"}
            for model in self.models
        ]
        return web.Response(
            body=dumps({"object": "list", "data": data}, indent=2),
            headers={**self.base_headers(None), "content-type": self.json_content_type},
        )

    def base_headers(self, call: Call | None) -> dict:
        return {
            "server": "cloudflare",
            "x-request-id": "req_" + random_id(32).lower(),
            "openai-organization": "user-fake",
            "openai-processing-ms": "42",
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-limit-tokens": "30000000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-remaining-tokens": "29999990",
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": "0s",
        }

    # -- rendering ------------------------------------------------------------

    def _finish_reason(self, reply: Reply) -> str:
        return reply.stop or ("tool_calls" if reply.tool_calls else "stop")

    def _text(self, reply: Reply) -> str:
        return self.default_text if reply.text is None else reply.text

    def _tool_calls(self, reply: Reply) -> list[dict]:
        return [
            {
                "id": tool.id or "call_" + random_id(24),
                "type": "function",
                "function": {"name": tool.name, "arguments": dumps(tool.input).decode()},
            }
            for tool in reply.tool_calls
        ]

    def _usage(self, reply: Reply) -> dict:
        usage = reply.usage
        prompt = usage.input + usage.cache_read + usage.cache_creation
        return {
            "prompt_tokens": prompt,
            "completion_tokens": usage.output,
            "total_tokens": prompt + usage.output,
            "prompt_tokens_details": {"cached_tokens": usage.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": usage.reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def render_body(self, reply: Reply, call: Call) -> bytes:
        if call.request.path.endswith("/responses"):
            return self.responses_wire.body(reply, call)
        text = self._text(reply)
        message: dict = {"role": "assistant", "content": text or None}
        if reply.thinking is not None:
            message["reasoning_content"] = reply.thinking
        if reply.tool_calls:
            message["tool_calls"] = self._tool_calls(reply)
        message.update({"refusal": None, "annotations": []})
        completion = {
            "id": "chatcmpl-" + random_id(29),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish_reason(reply),
                }
            ],
            "usage": self._usage(reply),
            "service_tier": "default",
            "system_fingerprint": "fp_fake0001",
        }
        return dumps(completion, indent=2) + b"\n"

    def render_events(self, reply: Reply, call: Call) -> list[bytes]:
        if call.request.path.endswith("/responses"):
            return self.responses_wire.events(reply, call)
        body = call.request.json if isinstance(call.request.json, dict) else {}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = {
            "id": "chatcmpl-" + random_id(29),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": call.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake0001",
        }

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            data = {**head, "choices": [choice]}
            if include_usage:
                data["usage"] = None
            return sse(data)

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        for piece in split_text(reply.thinking or "", reply.chunks):
            events.append(chunk({"reasoning_content": piece}))
        for piece in split_text(self._text(reply), reply.chunks):
            events.append(chunk({"content": piece}))
        calls = []  # per call: its header chunk, then its argument fragments
        for index, tool in enumerate(self._tool_calls(reply)):
            opening = {
                "index": index,
                "id": tool["id"],
                "type": "function",
                "function": {"name": tool["function"]["name"], "arguments": ""},
            }
            pieces = split_text(tool["function"]["arguments"], max(2, reply.chunks))
            fragments = [{"index": index, "function": {"arguments": p}} for p in pieces]
            calls.append([opening, *fragments])
        if reply.interleave:  # round robin: every header first, then fragments in turn
            order = [
                call[i]
                for i in range(max(map(len, calls), default=0))
                for call in calls
                if i < len(call)
            ]
        else:
            order = [part for call in calls for part in call]
        events += [chunk({"tool_calls": [part]}) for part in order]
        events.append(chunk({}, self._finish_reason(reply)))
        if include_usage:
            events.append(sse({**head, "choices": [], "usage": self._usage(reply)}))
        events.append(sse("[DONE]"))
        return events

    def render_error(self, error: Error) -> tuple[bytes, dict]:
        error_type, code = ERRORS.get(error.status, ("server_error", None))
        if error.code is not None:
            error_type = code = error.code
        message = error.message or DEFAULT_MESSAGES.get(error.status, f"Error {error.status}")
        body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
        headers = {"content-type": self.json_content_type}
        if error.status == 429:
            headers["retry-after"] = "7"
        # The API pretty-prints its error bodies with four spaces.
        return dumps(body, indent=4) + b"\n", headers

    def render_stream_error(self, error: Error, call: Call | None = None) -> bytes:
        body = json.loads(self.render_error(error)[0])
        if call is not None and call.request.path.endswith("/responses"):
            code = body["error"]["code"] or body["error"]["type"]
            return self.responses_wire.stream_error(body["error"]["message"], code)
        return sse(body)
