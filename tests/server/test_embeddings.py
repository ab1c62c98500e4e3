"""Embeddings: OpenAI's route relayed or translated to Gemini, Gemini's methods both ways."""

from __future__ import annotations

import json

import openai
import pytest
from google.genai import types

from tests.fakes import Error
from tests.fakes.openai_media import DIMENSIONS, vector
from tests.sdks import genai_sdk, openai_sdk
from tests.support import account


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))


async def test_openai_sdk_embeddings_relayed_as_base64(localgate, make_fake):
    """The SDK asks for base64 unless told otherwise and decodes float32 itself."""
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    result = await openai_sdk(client).embeddings.create(
        model="text-embedding-3-small", input=["alpha", "beta"]
    )
    sent = work.requests[-1]
    assert sent.path == "/v1/embeddings" and sent.json["encoding_format"] == "base64"
    assert sent.headers["authorization"] == "Bearer sk-test-work-secret"
    assert [d.index for d in result.data] == [0, 1]
    assert close(result.data[1].embedding, vector(json.dumps("beta"), DIMENSIONS))
    assert result.usage.prompt_tokens == 2


async def test_openai_sdk_dimensions_and_float(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    result = await openai_sdk(client).embeddings.create(
        model="text-embedding-3-large", input="alpha", dimensions=4, encoding_format="float"
    )
    assert len(result.data[0].embedding) == 4
    assert work.requests[-1].json["dimensions"] == 4


@pytest.mark.parametrize("encoding", ["base64", "float"])
async def test_openai_sdk_on_a_gemini_account(localgate, make_fake, encoding):
    """Translated to :batchEmbedContents, vectors back as float32 base64 or floats."""
    gem = await make_fake("gemini", "gem")
    client = await localgate([account("gem", "gemini", gem.url)])
    extra = {} if encoding == "base64" else {"encoding_format": "float"}
    result = await openai_sdk(client).embeddings.with_raw_response.create(
        model="gemini-embedding-001",
        input=["one", "two", "three"],
        dimensions=6,
        user="u1",
        **extra,
    )
    assert result.headers["x-localgate-dropped"] == "user"
    result = result.parse()
    sent = gem.requests[-1]
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.json["requests"][2] == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "three"}]},
        "outputDimensionality": 6,
    }
    assert result.model == "gemini-embedding-001"
    assert close(result.data[2].embedding, vector("three", 6))


async def test_token_arrays_cannot_go_to_gemini(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    client = await localgate([account("gem", "gemini", gem.url)])
    with pytest.raises(openai.BadRequestError, match="token arrays"):
        await openai_sdk(client).embeddings.create(model="gemini-embedding-001", input=[[1, 2]])
    assert gem.requests == []


async def test_token_arrays_relayed_to_openai(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    result = await openai_sdk(client).embeddings.create(
        model="text-embedding-3-small", input=[[1, 2, 3], [4]]
    )
    assert len(result.data) == 2 and work.requests[-1].json["input"] == [[1, 2, 3], [4]]


@pytest.mark.parametrize(
    "body, says",
    [
        ({"input": "x"}, "model: field required"),
        ({"model": "text-embedding-3-small"}, "input: field required"),
        ({"model": "text-embedding-3-small", "input": []}, "input: expected"),
        ({"model": "text-embedding-3-small", "input": [""]}, "empty strings"),
        ({"model": "text-embedding-3-small", "input": [1.5]}, "input: every item"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": "4"}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": "x", "encoding_format": "hex"}, "base64"),
    ],
)
async def test_bad_input_is_a_400_before_any_upstream(localgate, make_fake, body, says):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    resp = await client.post("/v1/embeddings", json=body)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert says in error["message"] and error["type"] == "invalid_request_error"
    assert work.requests == []


async def test_unknown_model_names_localgate_models(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    with pytest.raises(openai.NotFoundError, match="localgate models"):
        await openai_sdk(client).embeddings.create(model="mistral-embed", input="x")


async def test_failover_on_429(localgate, make_fake):
    from tests.server.test_media import two

    client, first, second = await two(localgate, make_fake)
    first.script(Error(429))
    result = await openai_sdk(client).embeddings.create(model="text-embedding-3-small", input="x")
    assert len(result.data) == 1
    assert len(first.requests) == 1 and len(second.requests) == 1


async def test_genai_embed_content_several_on_gemini(localgate, make_fake):
    """google-genai always calls :batchEmbedContents on the Gemini API: relayed as is."""
    gem = await make_fake("gemini", "gem")
    client = await localgate([account("gem", "gemini", gem.url)])
    result = await genai_sdk(client).aio.models.embed_content(
        model="gemini-embedding-001",
        contents=["first text", "second text"],
        config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", output_dimensionality=5),
    )
    assert [len(e.values) for e in result.embeddings] == [5, 5]
    assert close(result.embeddings[1].values, vector("second text", 5))
    assert gem.requests[-1].headers["x-goog-api-key"] == "sk-test-gem-secret"


async def test_genai_embed_content_on_an_openai_account(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    result = await genai_sdk(client).aio.models.embed_content(
        model="text-embedding-3-small",
        contents=["first text", "second text", "third"],
        config=types.EmbedContentConfig(task_type="RETRIEVAL_QUERY", output_dimensionality=3),
    )
    sent = work.requests[-1].json
    assert sent["input"] == ["first text", "second text", "third"] and sent["dimensions"] == 3
    assert close(result.embeddings[2].values, vector(json.dumps("third"), 3))


async def test_gemini_embed_content_single_on_openai(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    resp = await client.post(
        "/v1beta/models/text-embedding-3-small:embedContent",
        json={"content": {"parts": [{"text": "hello"}]}, "taskType": "CLUSTERING"},
    )
    assert resp.status == 200, await resp.text()
    assert resp.headers["x-localgate-dropped"] == "taskType"
    body = await resp.json()
    assert close(body["embedding"]["values"], vector(json.dumps("hello"), DIMENSIONS))


async def test_batch_must_name_the_url_model(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    client = await localgate([account("gem", "gemini", gem.url)])
    resp = await client.post(
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        json={"requests": [{"model": "models/other", "content": {"parts": [{"text": "x"}]}}]},
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["status"] == "INVALID_ARGUMENT"
    assert gem.requests == []


async def test_ledger_rows_carry_the_op_and_tokens(localgate, make_fake):
    from localgate.server.app import GATEWAY

    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    done: list = []
    client.app[GATEWAY].events.subscribe(done.append)
    await openai_sdk(client).embeddings.create(model="text-embedding-3-small", input="a b c")
    (record,) = [e for e in done if hasattr(e, "op")]
    assert record.op == "embed" and record.usage.input_tokens == 3


async def test_an_account_speaking_responses_still_embeds(localgate, make_fake):
    """Embeddings keep OpenAI's own route whichever API the account chats with."""
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url, api="responses")])
    result = await openai_sdk(client).embeddings.create(model="text-embedding-3-small", input="x")
    assert len(result.data) == 1 and work.requests[-1].path == "/v1/embeddings"
    via_gemini = await genai_sdk(client).aio.models.embed_content(
        model="text-embedding-3-small", contents=["y"]
    )
    assert len(via_gemini.embeddings) == 1 and work.requests[-1].path == "/v1/embeddings"
