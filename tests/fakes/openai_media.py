"""The rest of a fake api.openai.com: embeddings, legacy completions, images, audio,
rerank and the Realtime WebSocket, in their real wire formats.

Forms are parsed here by hand from the raw bytes (not with localgate's reader),
audio goes out as binary chunks, vectors as little-endian float32 in base64
when asked, and the Realtime peer speaks JSON events over a real WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import struct
import time

from aiohttp import WSMsgType, web

from .base import Error, Reply, dumps, random_id, split_text

DIMENSIONS = 16  # a small default embedding size (real models: 1536, 3072)
BYTES_PER_SECOND = 1000  # how long the fake says an uploaded recording is: 1 kB a second
AUDIO_HEADER = b"ID3\x04\x00\x00\x00\x00\x00\x00"
PNG = b"\x89PNG\r\n\x1a\n"


def vector(text: str, size: int) -> list[float]:
    """A deterministic unit-ish vector of `text` (float32-exact values)."""
    digest = hashlib.sha256(text.encode()).digest() * (size // 32 + 1)
    return [struct.unpack("<f", struct.pack("<f", (b - 128) / 128))[0] for b in digest[:size]]


def parse_form(body: bytes, content_type: str) -> dict[str, list[tuple[str | None, bytes]]]:
    """A multipart/form-data body → name → [(filename, bytes)], as a server reads it."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    form: dict[str, list[tuple[str | None, bytes]]] = {}
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, value = part[2:].partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head).group(1).decode()
        filename = re.search(rb'filename="([^"]*)"', head)
        form.setdefault(name, []).append(
            (filename.group(1).decode() if filename else None, value[:-2])
        )
    return form


def _field(form, name: str, default: str = "") -> str:
    return form.get(name, [(None, default.encode())])[0][1].decode()


class MediaRoutes:
    """Mixed into FakeOpenAI: the routes beyond chat."""

    def add_media_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/embeddings", self._embeddings)
        router.add_post("/v1/completions", self._legacy)
        router.add_post("/v1/images/generations", self._images)
        router.add_post("/v1/images/edits", self._image_form)
        router.add_post("/v1/images/variations", self._image_form)
        router.add_post("/v1/audio/speech", self._speech)
        router.add_post("/v1/audio/transcriptions", self._transcription)
        router.add_post("/v1/audio/translations", self._transcription)
        router.add_post("/v1/rerank", self._rerank)
        router.add_post("/v1/moderations", self._moderations)
        router.add_get("/v1/realtime", self._realtime)
        self.socket_events: list[dict] = []  # what realtime clients sent
        self.socket_closed: asyncio.Event = asyncio.Event()

    def _json(self, data: dict) -> web.Response:
        return web.Response(
            body=dumps(data, indent=2),
            headers={**self.base_headers(None), "content-type": "application/json"},
        )

    # -- embeddings and legacy completions ------------------------------------

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        body = recorded.json

        async def render(reply: Reply) -> web.Response:
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            if inputs and isinstance(inputs[0], int):
                inputs = [inputs]
            size = body.get("dimensions") or DIMENSIONS
            data = []
            for index, item in enumerate(inputs):
                values = vector(json.dumps(item), size)
                if body.get("encoding_format") == "base64":
                    values = base64.b64encode(struct.pack(f"<{size}f", *values)).decode()
                data.append({"object": "embedding", "index": index, "embedding": values})
            tokens = sum(len(i) if isinstance(i, list) else len(i.split()) for i in inputs)
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            return self._json(
                {"object": "list", "data": data, "model": body["model"], "usage": usage}
            )

        return await self.answer_with(request, recorded, render)

    async def _legacy(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        body = recorded.json
        head = {
            "id": "cmpl-" + random_id(29),
            "object": "text_completion",
            "created": int(time.time()),
            "model": body["model"],
        }

        def choice(text: str, finish: str | None) -> dict:
            return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}

        async def render(reply: Reply) -> web.StreamResponse:
            text, usage = self._text(reply), self._usage(reply)
            if not body.get("stream"):
                return self._json({**head, "choices": [choice(text, "stop")], "usage": usage})
            response = await self._start_stream(request, reply, None)
            for piece in split_text(text, reply.chunks):
                await response.write(self.sse({**head, "choices": [choice(piece, None)]}))
            await response.write(self.sse({**head, "choices": [choice("", "stop")]}))
            if (body.get("stream_options") or {}).get("include_usage"):
                await response.write(self.sse({**head, "choices": [], "usage": usage}))
            await response.write(self.sse("[DONE]"))
            await response.write_eof()
            return response

        return await self.answer_with(request, recorded, render)

    # -- images ----------------------------------------------------------------

    def _image_usage(self, reply: Reply) -> dict:
        usage = reply.usage
        return {
            "input_tokens": usage.input,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": usage.input},
            "output_tokens": usage.output,
            "total_tokens": usage.input + usage.output,
        }

    async def _images(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        return await self._image_answer(request, recorded, recorded.json, "image_generation")

    async def _image_form(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        form = parse_form(recorded.body, recorded.headers["content-type"])
        images = form.get("image", []) + form.get("image[]", [])
        if not images:
            return self.error_response(Error(400, "image: a file is required", headers={}))
        self.last_form = form
        fields = {k: _field(form, k) for k, v in form.items() if v[0][0] is None}
        fields["stream"] = fields.get("stream") == "true"
        seen = b"".join(data for _, data in images)
        return await self._image_answer(request, recorded, fields, "image_edit", seen)

    async def _image_answer(self, request, recorded, body, event, seen=b""):
        async def render(reply: Reply) -> web.StreamResponse:
            picture = base64.b64encode(PNG + hashlib.sha256(seen).digest()).decode()
            usage = self._image_usage(reply)
            if not body.get("stream"):
                made = {"b64_json": picture, "revised_prompt": body.get("prompt")}
                return self._json(
                    {
                        "created": int(time.time()),
                        "data": [made] * int(body.get("n") or 1),
                        "usage": usage,
                    }
                )
            response = await self._start_stream(request, reply, None)
            common = {"created_at": int(time.time()), "size": "1024x1024", "quality": "low"}
            for index in range(int(body.get("partial_images") or 1)):
                partial = {
                    "type": f"{event}.partial_image",
                    "b64_json": picture,
                    "partial_image_index": index,
                    **common,
                }
                await response.write(self.sse(partial))
            done = {"type": f"{event}.completed", "b64_json": picture, "usage": usage, **common}
            await response.write(self.sse(done))
            await response.write_eof()
            return response

        return await self.answer_with(request, recorded, render)

    # -- audio -----------------------------------------------------------------

    def audio_of(self, reply: Reply) -> bytes:
        """The bytes a Reply speaks: an mp3-ish header, then the text repeated."""
        return AUDIO_HEADER + (self._text(reply).encode() * 64)

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)

        async def render(reply: Reply) -> web.StreamResponse:
            response = web.StreamResponse(
                headers={**self.base_headers(None), "content-type": "audio/mpeg"}
            )
            await response.prepare(request)
            audio = self.audio_of(reply)
            step = max(1, len(audio) // reply.chunks)
            for i in range(0, len(audio), step):
                if i and reply.gap:
                    await asyncio.sleep(reply.gap)
                await response.write(audio[i : i + step])
            await response.write_eof()
            return response

        return await self.answer_with(request, recorded, render)

    async def _transcription(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        form = parse_form(recorded.body, recorded.headers["content-type"])
        if "file" not in form:
            return self.error_response(Error(400, "file: a file is required", headers={}))
        self.last_form = form
        heard = len(form["file"][0][1])
        seconds = heard / BYTES_PER_SECOND
        model = _field(form, "model")
        kind = _field(form, "response_format", "json")
        stream = _field(form, "stream") == "true" and not model.startswith("whisper")

        async def render(reply: Reply) -> web.StreamResponse:
            text = reply.text if reply.text is not None else f"heard {heard} bytes"
            usage = {
                "type": "tokens",
                "input_tokens": reply.usage.input,
                "output_tokens": reply.usage.output,
                "total_tokens": reply.usage.input + reply.usage.output,
            }
            if model.startswith("whisper"):  # billed by the second, whole seconds
                usage = {"type": "duration", "seconds": math.ceil(seconds)}
            if stream:
                response = await self._start_stream(request, reply, None)
                for piece in split_text(text, reply.chunks):
                    await response.write(
                        self.sse({"type": "transcript.text.delta", "delta": piece})
                    )
                done = {"type": "transcript.text.done", "text": text, "usage": usage}
                await response.write(self.sse(done))
                await response.write_eof()
                return response
            if kind in ("text", "srt", "vtt"):
                plain = {
                    "text": text + "\n",
                    "srt": f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n\n",
                    "vtt": f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n{text}\n\n",
                }[kind]
                return web.Response(
                    text=plain,
                    headers={
                        **self.base_headers(None),
                        "content-type": "text/plain; charset=utf-8",
                    },
                )
            if kind == "verbose_json":
                segment = {"id": 0, "start": 0.0, "end": 1.0, "text": text}
                return self._json(
                    {
                        "task": "transcribe",
                        "language": "english",
                        "duration": seconds,
                        "text": text,
                        "segments": [segment],
                        "usage": usage,
                    }
                )
            return self._json({"text": text, "usage": usage})

        return await self.answer_with(request, recorded, render)

    # -- rerank ------------------------------------------------------------------

    async def _rerank(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        body = recorded.json

        async def render(reply: Reply) -> web.Response:
            query = set(body["query"].lower().split())
            scores = [
                len(query & set(str(d).lower().split())) / (len(query) or 1)
                for d in body["documents"]
            ]
            order = sorted(range(len(scores)), key=lambda i: -scores[i])[: body.get("top_n")]
            results = [{"index": i, "relevance_score": scores[i]} for i in order]
            return self._json(
                {
                    "id": random_id(16),
                    "results": results,
                    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
                }
            )

        return await self.answer_with(request, recorded, render)

    async def _moderations(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        body = recorded.json

        async def render(reply: Reply) -> web.Response:
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            results = []
            for item in inputs:
                flagged = "hate" in json.dumps(item).lower()
                results.append(
                    {
                        "flagged": flagged,
                        "categories": {"hate": flagged, "violence": False},
                        "category_scores": {"hate": 0.9 if flagged else 0.01, "violence": 0.0},
                    }
                )
            return self._json(
                {"id": "modr-" + random_id(20), "model": body["model"], "results": results}
            )

        return await self.answer_with(request, recorded, render)

    # -- realtime ------------------------------------------------------------------

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        behavior = self.next_behavior()
        if isinstance(behavior, Error):
            return self.error_response(behavior)
        socket = web.WebSocketResponse(protocols=("realtime",))
        await socket.prepare(request)
        session = {"id": "sess_" + random_id(20), "model": recorded.query.get("model")}
        await socket.send_str(json.dumps({"type": "session.created", "session": session}))
        try:
            async for message in socket:
                if message.type == WSMsgType.BINARY:
                    await socket.send_bytes(message.data[::-1])
                    continue
                if message.type != WSMsgType.TEXT:
                    break
                event = json.loads(message.data)
                self.socket_events.append(event)
                if event.get("type") == "test.close":  # lets a test end the session upstream
                    await socket.close(code=4001, message=b"closed by the fake")
                    break
                if event.get("type") == "response.create":
                    await self._respond(
                        socket, behavior if isinstance(behavior, Reply) else Reply()
                    )
        except asyncio.CancelledError:
            self.disconnects += 1
            raise
        finally:
            self.socket_closed.set()
        return socket

    async def _respond(self, socket: web.WebSocketResponse, reply: Reply) -> None:
        response_id = "resp_" + random_id(20)
        for piece in split_text(self._text(reply), reply.chunks):
            delta = {
                "type": "response.output_text.delta",
                "response_id": response_id,
                "delta": piece,
            }
            await socket.send_str(json.dumps(delta))
        usage = {
            "total_tokens": reply.usage.input + reply.usage.output,
            "input_tokens": reply.usage.input,
            "output_tokens": reply.usage.output,
            "input_token_details": {"cached_tokens": 0, "text_tokens": reply.usage.input},
        }
        done = {
            "type": "response.done",
            "response": {"id": response_id, "status": "completed", "usage": usage},
        }
        await socket.send_str(json.dumps(done))
