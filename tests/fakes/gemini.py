"""A fake generativelanguage.googleapis.com: generateContent, streaming, models.

Google's wire habits kept here: JSON with `": "` after keys but no space after
commas in SSE events, two-space indented bodies, SSE events framed with CRLF
(`data: {...}\\r\\n\\r\\n`), no event names and no terminator.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

from aiohttp import web

from .base import Call, Delay, Error, FakeUpstream, Reply, dumps, random_id, split_text
from .openai_media import vector

STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGES = {
    429: "You exceeded your current quota, please check your plan and billing details.",
    503: "The model is overloaded. Please try again later.",
    400: "API key not valid. Please pass a valid API key.",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
}

MODEL_ROUTE = "/{version:v1beta|v1}/models/{target:[^/]+}"
# Vertex AI serves the same dialect under a project path; handy for vertex accounts.
VERTEX_ROUTE = (
    "/{version:v1|v1beta1}/projects/{project}/locations/{location}"
    "/publishers/google/models/{target:[^/]+}"
)


EMBED_METHODS = ("embedContent", "batchEmbedContents", "predict")


def _dims(config: dict) -> int:
    return config.get("outputDimensionality") or 12


def _text(content: dict) -> str:
    return "".join(p.get("text", "") for p in content.get("parts", []))


def schema_example(schema: dict):
    """A value fitting an OpenAPI-style (Gemini) or JSON schema."""
    kind = str(schema.get("type", "object")).lower()
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {k: schema_example(v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [schema_example(schema.get("items") or {})]
    return {"string": "example", "integer": 1, "number": 1.0, "boolean": True}.get(kind)


def thought_signature(thinking: str, name: str) -> str:
    """A deterministic, opaque base64 thoughtSignature."""
    digest = hashlib.sha256(f"gemini\0{name}\0{thinking}".encode()).digest()
    return base64.b64encode(digest * 2).decode()


def sse(response: dict) -> bytes:
    """One Gemini SSE event, framed with CRLF as Google's front ends send it."""
    return b"data: " + dumps(response, separators=(",", ": ")) + b"\r\n\r\n"


class FakeGemini(FakeUpstream):
    """Serves {v1beta,v1}/models/{model}:generateContent|streamGenerateContent|countTokens."""

    kind = "gemini"
    default_models = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash")
    json_content_type = "application/json; charset=UTF-8"
    stream_content_type = "text/event-stream"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(MODEL_ROUTE, self._model_method)
        router.add_post(VERTEX_ROUTE, self._model_method)
        router.add_get("/{version:v1beta|v1}/models", self._models)

    async def _model_method(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        model, _, method = request.match_info["target"].partition(":")
        if method == "countTokens":
            # Scripted failures (429, Cut, Hang…) apply to counting too; a Reply counts.
            behavior = self.next_behavior()
            while isinstance(behavior, Delay):
                await asyncio.sleep(behavior.seconds)
                behavior = behavior.then
            if isinstance(behavior, Reply):
                return self._count_tokens(recorded.json)
            return await self.perform(request, behavior, Call(model, False, recorded))
        if method in EMBED_METHODS:
            return await self.answer_with(
                request, recorded, lambda reply: self._embed(method, model, recorded.json)
            )
        if method not in ("generateContent", "streamGenerateContent"):
            return self.error_response(
                Error(status=404, message=f"Method not found: {method}", headers={})
            )
        stream = method == "streamGenerateContent" and request.query.get("alt") == "sse"
        return await self.answer(request, Call(model=model, stream=stream, request=recorded))

    async def _embed(self, method: str, model: str, body: dict) -> web.Response:
        """The Gemini API's embedContent/batchEmbedContents, and Vertex's :predict."""
        if method == "predict":  # Vertex: instances of plain text, snake_case task_type
            predictions = [
                {
                    "embeddings": {
                        "values": vector(i["content"], _dims(body.get("parameters") or {})),
                        "statistics": {
                            "token_count": len(i["content"].split()),
                            "truncated": False,
                        },
                    }
                }
                for i in body["instances"]
            ]
            answer = {"predictions": predictions, "metadata": {"billableCharacterCount": 9}}
        elif method == "embedContent":
            config = body.get("embedContentConfig") or body
            answer = {"embedding": {"values": vector(_text(body["content"]), _dims(config))}}
        else:
            for request in body["requests"]:
                if request.get("model") != f"models/{model}":
                    return self.error_response(
                        Error(400, "Model in request does not match the URL", headers={})
                    )
            answer = {
                "embeddings": [
                    {"values": vector(_text(r["content"]), _dims(r))} for r in body["requests"]
                ]
            }
        return web.Response(
            body=dumps(answer, indent=2),
            headers={**self.base_headers(None), "content-type": self.json_content_type},
        )

    def _count_tokens(self, body: object) -> web.Response:
        """~4 bytes per token of the prompt, never zero. The Gemini API also takes the
        prompt as `generateContentRequest` (then top-level `contents` is ignored);
        Vertex takes `contents`, `systemInstruction`, `tools` at the top level."""
        body = body if isinstance(body, dict) else {}
        wrapped = body.get("generateContentRequest")
        if isinstance(wrapped, dict):
            body = wrapped
        if not body.get("contents"):  # as the API answers an empty body
            return self.error_response(Error(400, "contents is not specified", headers={}))
        prompt = {k: body.get(k) for k in ("contents", "systemInstruction", "tools")}
        tokens = max(1, len(json.dumps(prompt, separators=(",", ":"))) // 4)
        answer = {"totalTokens": tokens, "promptTokensDetails": [_modality(tokens)]}
        return web.Response(
            body=dumps(answer, indent=2),
            headers={**self.base_headers(None), "content-type": self.json_content_type},
        )

    async def _models(self, request: web.Request) -> web.Response:
        await self.record(request)
        models = [
            {
                "name": f"models/{model}",
                "version": "001",
                "displayName": model.replace("-", " ").title(),
                "inputTokenLimit": 1048576,
                "outputTokenLimit": 65536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            }
            for model in self.models
        ]
        return web.Response(
            body=dumps({"models": models}, indent=2),
            headers={**self.base_headers(None), "content-type": self.json_content_type},
        )

    def base_headers(self, call: Call | None) -> dict:
        return {
            "server": "scaffolding on HTTPServer2",
            "vary": "Origin, X-Origin, Referer",
            "x-xss-protection": "0",
            "x-frame-options": "SAMEORIGIN",
            "x-content-type-options": "nosniff",
            "server-timing": "gfet4t7; dur=42",
        }

    # -- rendering ------------------------------------------------------------

    def _text(self, reply: Reply) -> str:
        return self.default_text if reply.text is None else reply.text

    @staticmethod
    def _json_mode_text(text: str, call: Call) -> str:
        """In JSON mode with a schema the real API answers JSON that fits it: a scripted
        text that is not JSON becomes the schema's example (Gemini CLI's model router
        asks so, and retries with backoff on anything else)."""
        body = call.request.json if isinstance(call.request.json, dict) else {}
        config = body.get("generationConfig") or {}
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        if config.get("responseMimeType") != "application/json" or not isinstance(schema, dict):
            return text
        try:
            json.loads(text)
        except ValueError:
            return json.dumps(schema_example(schema))
        return text

    def _thought_parts(self, pieces: list[str], reply: Reply) -> list[dict]:
        parts = [{"text": piece, "thought": True} for piece in pieces]
        if parts:
            parts[-1]["thoughtSignature"] = thought_signature(reply.thinking or "", self.name)
        return parts

    def _call_parts(self, reply: Reply) -> list[dict]:
        parts = []
        for tool in reply.tool_calls:
            call: dict = {"name": tool.name, "args": tool.input}
            if tool.id is not None:
                call["id"] = tool.id
            parts.append({"functionCall": call})
        return parts

    def _usage(self, reply: Reply, *, final: bool) -> dict:
        usage = reply.usage
        prompt = usage.input + usage.cache_read + usage.cache_creation
        if not final:
            return {
                "promptTokenCount": prompt,
                "totalTokenCount": prompt,
                "promptTokensDetails": [_modality(prompt)],
            }
        data: dict = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": usage.output - usage.reasoning,
            "totalTokenCount": prompt + usage.output,
        }
        if usage.cache_read:
            data["cachedContentTokenCount"] = usage.cache_read
        data["promptTokensDetails"] = [_modality(prompt)]
        if usage.reasoning:
            data["thoughtsTokenCount"] = usage.reasoning
        return data

    def _response(self, parts: list[dict], reply: Reply, call: Call, rid: str, final: bool):
        candidate: dict = {"content": {"parts": parts, "role": "model"}}
        if final:
            candidate["finishReason"] = reply.stop or "STOP"
        candidate["index"] = 0
        return {
            "candidates": [candidate],
            "usageMetadata": self._usage(reply, final=final),
            "modelVersion": call.model,
            "responseId": rid,
        }

    def _chunks(self, reply: Reply, call: Call) -> list[dict]:
        """The stream as GenerateContentResponse objects: thoughts, text, then calls."""
        rid = random_id(22)
        if reply.block_reason:
            return [self._blocked(reply, call, rid)]
        groups = [[part] for part in self._thought_parts(_pieces(reply.thinking, reply), reply)]
        groups += [[{"text": piece}] for piece in split_text(self._text(reply), reply.chunks)]
        groups += [[self._media_part(m)] for m in reply.media]
        if reply.tool_calls:
            groups.append(self._call_parts(reply))
        if not groups:
            groups = [[{"text": ""}]]
        last = len(groups) - 1
        return [self._response(g, reply, call, rid, i == last) for i, g in enumerate(groups)]

    @staticmethod
    def _media_part(media: tuple[str, str]) -> dict:
        mime, data = media
        return {"inlineData": {"mimeType": mime, "data": data}}

    def _blocked(self, reply: Reply, call: Call, rid: str) -> dict:
        """A blocked prompt: promptFeedback and usage, no candidates at all."""
        feedback = {
            "blockReason": reply.block_reason,
            "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
            ],
        }
        usage = self._usage(reply, final=False)
        return {
            "promptFeedback": feedback,
            "usageMetadata": usage,
            "modelVersion": call.model,
            "responseId": rid,
        }

    def render_body(self, reply: Reply, call: Call) -> bytes:
        if reply.block_reason:
            return dumps(self._blocked(reply, call, random_id(22)), indent=2)
        if call.request.path.endswith(":streamGenerateContent"):
            # Without alt=sse the API streams one JSON array of responses.
            return dumps(self._chunks(reply, call), indent=2)
        parts = self._thought_parts([reply.thinking] if reply.thinking else [], reply)
        text = self._json_mode_text(self._text(reply), call)
        if text:
            parts.append({"text": text})
        parts += [self._media_part(m) for m in reply.media]
        parts += self._call_parts(reply)
        response = self._response(parts, reply, call, random_id(22), final=True)
        return dumps(response, indent=2)

    def render_events(self, reply: Reply, call: Call) -> list[bytes]:
        return [sse(chunk) for chunk in self._chunks(reply, call)]

    def render_error(self, error: Error) -> tuple[bytes, dict]:
        status = STATUSES.get(error.status, "UNKNOWN")
        message = error.message or DEFAULT_MESSAGES.get(error.status, status)
        body: dict = {"code": error.status, "message": message, "status": status}
        if error.status == 429:
            retry = (error.headers or {}).get("retry-after", "7")
            quota_id = error.code or "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
            body["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/"
                            "generate_content_free_tier_requests",
                            "quotaId": quota_id,
                            "quotaDimensions": {"location": "global", "model": "gemini"},
                            "quotaValue": "10",
                        }
                    ],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {
                            "description": "Learn more about Gemini API quotas",
                            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry}s"},
            ]
        return dumps({"error": body}, indent=2) + b"\n", {"content-type": self.json_content_type}

    def render_stream_error(self, error: Error, call: Call | None = None) -> bytes:
        return sse(json.loads(self.render_error(error)[0]))


def _modality(tokens: int) -> dict:
    return {"modality": "TEXT", "tokenCount": tokens}


def _pieces(thinking: str | None, reply: Reply) -> list[str]:
    return split_text(thinking or "", reply.chunks)
