"""Embeddings across dialects: OpenAI's `/v1/embeddings` ⇄ Gemini's embedding methods.

OpenAI → Gemini: the inputs become one `batchEmbedContents` call (one request
per input, each naming the model as the API demands); `dimensions` becomes
`outputDimensionality`. Token arrays cannot be: Gemini embeds text only (a 400
that says so). The vectors come back in input order, as float lists or — what
the `openai` SDK asks for unless told otherwise — base64 of little-endian
float32 bytes, which the SDK decodes with `array('f')`.

Gemini → OpenAI: each content's text parts become one input, `outputDimensionality`
becomes `dimensions`; `taskType` and `title` have no OpenAI field and are
reported as dropped.
"""

from __future__ import annotations

import base64
import struct

from localgate import operations as ops
from localgate.errors import InvalidRequest, UpstreamError


def embedder(op: str, client: str, upstream: str):
    """The translator of one embedding request of `op` from `client` to `upstream`."""
    if (client, upstream) == ("openai", "gemini"):
        return OpenAIOnGemini()
    if (client, upstream) == ("gemini", "openai"):
        return GeminiOnOpenAI(op)
    raise ValueError(f"no embedding translation from {client} to {upstream}")


def pack_base64(values: list[float]) -> str:
    """A vector as the OpenAI API's base64 encoding: little-endian float32 bytes."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def unpack_base64(text: str) -> list[float]:
    raw = base64.b64decode(text)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


class OpenAIOnGemini:
    """An OpenAI embeddings request on a Gemini (API or Vertex) account."""

    def __init__(self) -> None:
        self.client_model = ""
        self.encoding = "float"
        self.dropped: tuple[str, ...] = ()

    def request(self, body: dict, *, model: str, stream: bool = False, **context):
        self.client_model = body["model"]
        self.encoding = body.get("encoding_format") or "float"
        self.dropped = ("user",) if body.get("user") else ()  # Gemini has no end-user field
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if not all(isinstance(item, str) for item in inputs):
            raise InvalidRequest(
                f"input: token arrays can be embedded by OpenAI accounts only; {model} is "
                "served by a Gemini account, which takes text",
                param="input",
            )
        extra = {}
        if body.get("dimensions"):
            extra["outputDimensionality"] = body["dimensions"]
        name = "models/" + model.removeprefix("models/")
        return {
            "requests": [
                {"model": name, "content": {"parts": [{"text": text}]}, **extra} for text in inputs
            ]
        }

    def response(self, body: dict) -> dict:
        embeddings = body.get("embeddings")
        if not isinstance(embeddings, list):
            raise UpstreamError("the upstream's embedding answer holds no `embeddings`")
        data = []
        for index, embedding in enumerate(embeddings):
            values = embedding.get("values") if isinstance(embedding, dict) else None
            if not isinstance(values, list):
                raise UpstreamError(f"the upstream's embedding {index} holds no values")
            vector = pack_base64(values) if self.encoding == "base64" else values
            data.append({"object": "embedding", "index": index, "embedding": vector})
        meta = body.get("usageMetadata")
        tokens = meta.get("promptTokenCount", 0) if isinstance(meta, dict) else 0
        return {
            "object": "list",
            "data": data,
            "model": self.client_model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


class GeminiOnOpenAI:
    """A Gemini `:embedContent` or `:batchEmbedContents` request on an OpenAI account."""

    def __init__(self, op: str) -> None:
        self.op = op
        self.dropped: tuple[str, ...] = ()

    def request(self, body: dict, *, model: str, stream: bool = False, **context):
        requests = body["requests"] if self.op == ops.BATCH_EMBED else [body]
        inputs, dims, dropped = [], set(), set()
        for request in requests:
            inputs.append(_text(request.get("content")))
            if request.get("outputDimensionality"):
                dims.add(request["outputDimensionality"])
            dropped.update(k for k in ("taskType", "title") if k in request)
        if len(dims) > 1:
            raise InvalidRequest(
                "outputDimensionality: an OpenAI account embeds a batch at one size; "
                "these requests ask for several"
            )
        self.dropped = tuple(sorted(dropped))
        wire = {"model": model, "input": inputs, "encoding_format": "float"}
        if dims:
            wire["dimensions"] = dims.pop()
        return wire

    def response(self, body: dict) -> dict:
        data = body.get("data")
        if not isinstance(data, list):
            raise UpstreamError("the upstream's embedding answer holds no `data`")
        vectors = []
        for item in sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0):
            values = item.get("embedding") if isinstance(item, dict) else None
            if isinstance(values, str):
                values = unpack_base64(values)
            if not isinstance(values, list):
                raise UpstreamError("the upstream's embedding answer holds no vector")
            vectors.append({"values": values})
        if self.op == ops.EMBED_CONTENT:
            return {"embedding": vectors[0] if vectors else {"values": []}}
        return {"embeddings": vectors}


def _text(content) -> str:
    """The text of a Gemini Content; other parts (images, audio) cannot go to OpenAI."""
    parts = content.get("parts") if isinstance(content, dict) else None
    texts = []
    for part in parts or []:
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            raise InvalidRequest(
                "content: an OpenAI account embeds text parts only", param="content"
            )
        texts.append(part["text"])
    if not texts or not "".join(texts):
        raise InvalidRequest("content: nothing to embed (no text)", param="content")
    return "".join(texts)
