"""Gemini embedding requests on Vertex, whose methods differ from the Gemini API's.

google-genai (`t_is_vertex_embed_content_model`) sends Gemini embedding models
other than `gemini-embedding-001` (and MaaS models) to `:embedContent`, which
takes one content; every other model (`text-embedding-005`,
`gemini-embedding-001`, `text-multilingual-embedding-002`) to `:predict`, which
takes `instances` of plain text with a snake_case `task_type`. Both answer in
their own shapes, made the Gemini API's here (`embedding` or `embeddings`, with
the token count as `usageMetadata.promptTokenCount`).
"""

from __future__ import annotations

import json

from localgate import operations as ops
from localgate.errors import InvalidRequest


def uses_embed_content(model_id: str) -> bool:
    """True for models Vertex embeds by `:embedContent` (else `:predict`)."""
    return ("gemini" in model_id and model_id != "gemini-embedding-001") or "maas" in model_id


def embed_request(op: str, model_id: str, body: bytes) -> tuple[str, bytes]:
    """(method, body) on Vertex for a Gemini API `:embedContent`/`:batchEmbedContents` body."""
    data = json.loads(body)
    requests = data.get("requests") if op == ops.BATCH_EMBED else [data]
    if uses_embed_content(model_id):
        if len(requests) != 1:
            raise InvalidRequest(
                f"{model_id} on Vertex embeds one content per request "
                f"(this batch holds {len(requests)}); send them one at a time"
            )
        (one,) = requests
        config = {k: one[k] for k in ("taskType", "title", "outputDimensionality") if k in one}
        wire = {"content": one.get("content")}
        if config:
            wire["embedContentConfig"] = config
        return "embedContent", json.dumps(wire, ensure_ascii=False).encode()
    instances = []
    for one in requests:
        instance = {"content": _text(one.get("content"))}
        if "taskType" in one:
            instance["task_type"] = one["taskType"]
        if "title" in one:
            instance["title"] = one["title"]
        instances.append(instance)
    wire = {"instances": instances}
    dims = {one.get("outputDimensionality") for one in requests} - {None}
    if dims:
        wire["parameters"] = {"outputDimensionality": min(dims)}
    return "predict", json.dumps(wire, ensure_ascii=False).encode()


def _text(content) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    return "".join(p.get("text", "") for p in parts or [] if isinstance(p, dict))


def embed_answer(op: str, data: dict) -> dict:
    """A Vertex embedding answer as the Gemini API would give it for `op`."""
    if "predictions" in data:
        predictions = [p.get("embeddings") or {} for p in data.get("predictions") or []]
        vectors = [{"values": p.get("values", [])} for p in predictions]
        tokens = sum(int((p.get("statistics") or {}).get("token_count") or 0) for p in predictions)
    else:
        vectors = [data.get("embedding") or {"values": []}]
        tokens = int((data.get("usageMetadata") or {}).get("promptTokenCount") or 0)
    shaped = {"embedding": vectors[0]} if op == ops.EMBED_CONTENT else {"embeddings": vectors}
    if tokens:
        shaped["usageMetadata"] = {"promptTokenCount": tokens}
    return shaped
