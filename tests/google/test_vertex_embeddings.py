"""Embeddings on Vertex: `:predict` for most models, `:embedContent` for newer Gemini ones."""

from __future__ import annotations

import openai
import pytest
from google.genai import types

from tests.fakes.openai_media import vector
from tests.google.support import vertex_account
from tests.sdks import genai_sdk, openai_sdk
from tests.server.test_embeddings import close

PREFIX = "/v1/projects/proj/locations/us-east5/publishers/google/models/"


async def vertex(localgate, fake_vertex, fake_google_token):
    return await localgate(
        [vertex_account("gcp", fake_vertex.url, fake_google_token.authorized_user())]
    )


async def test_genai_batch_goes_to_predict(localgate, fake_vertex, fake_google_token):
    client = await vertex(localgate, fake_vertex, fake_google_token)
    result = await genai_sdk(client).aio.models.embed_content(
        model="text-embedding-005",
        contents=["first", "second"],
        config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", output_dimensionality=7),
    )
    (sent,) = fake_vertex.gemini.requests
    assert sent.path == PREFIX + "text-embedding-005:predict"
    assert sent.json == {
        "instances": [
            {"content": "first", "task_type": "RETRIEVAL_DOCUMENT"},
            {"content": "second", "task_type": "RETRIEVAL_DOCUMENT"},
        ],
        "parameters": {"outputDimensionality": 7},
    }
    assert close(result.embeddings[1].values, vector("second", 7))


async def test_openai_sdk_on_vertex_with_usage(localgate, fake_vertex, fake_google_token):
    from localgate.server.app import GATEWAY

    client = await vertex(localgate, fake_vertex, fake_google_token)
    done: list = []
    client.app[GATEWAY].events.subscribe(done.append)
    result = await openai_sdk(client).embeddings.create(
        model="text-embedding-005", input=["one two", "three"]
    )
    assert close(result.data[0].embedding, vector("one two", 12))
    assert result.usage.prompt_tokens == 3
    (record,) = [e for e in done if hasattr(e, "op")]
    assert record.usage.input_tokens == 3 and record.provider == "vertex"


async def test_newer_gemini_embedders_take_one_content(localgate, fake_vertex, fake_google_token):
    client = await vertex(localgate, fake_vertex, fake_google_token)
    resp = await client.post(
        "/v1beta/models/gemini-embedding-2:embedContent",
        json={"content": {"parts": [{"text": "solo"}]}, "outputDimensionality": 4},
    )
    assert resp.status == 200, await resp.text()
    (sent,) = fake_vertex.gemini.requests
    assert sent.path == PREFIX + "gemini-embedding-2:embedContent"
    assert sent.json == {
        "content": {"parts": [{"text": "solo"}]},
        "embedContentConfig": {"outputDimensionality": 4},
    }
    assert close((await resp.json())["embedding"]["values"], vector("solo", 4))
    batch = {
        "requests": [
            {"model": "models/gemini-embedding-2", "content": {"parts": [{"text": t}]}}
            for t in "ab"
        ]
    }
    resp = await client.post("/v1beta/models/gemini-embedding-2:batchEmbedContents", json=batch)
    assert resp.status == 400
    assert "one content per request" in (await resp.json())["error"]["message"]
    with pytest.raises(openai.BadRequestError, match="one content per request"):
        await openai_sdk(client).embeddings.create(model="gemini-embedding-2", input=["a", "b"])
