"""Model lookups in each SDK's shape; google-genai lists and gets the models."""

from __future__ import annotations

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from tests.sdks import anthropic_sdk, genai_sdk, openai_sdk
from tests.support import account


async def accounts(localgate, make_fake):
    work = await make_fake("openai", "work")
    gem = await make_fake("gemini", "gem")
    claude = await make_fake("anthropic", "claude")
    return await localgate(
        [
            account("work", "openai", work.url),
            account("gem", "gemini", gem.url),
            account("claude", "anthropic", claude.url),
        ]
    )


async def test_openai_retrieve(localgate, make_fake):
    client = await accounts(localgate, make_fake)
    model = await openai_sdk(client).models.retrieve("gpt-4o")
    assert model.id == "gpt-4o" and model.object == "model"


async def test_anthropic_retrieve(localgate, make_fake):
    client = await accounts(localgate, make_fake)
    info = await anthropic_sdk(client).models.retrieve("claude-opus-4-8")
    assert info.id == "claude-opus-4-8" and info.type == "model"


async def test_unknown_models_in_each_shape(localgate, make_fake):
    client = await accounts(localgate, make_fake)
    with pytest.raises(openai.NotFoundError, match="localgate models"):
        await openai_sdk(client).models.retrieve("llama-3-70b")
    with pytest.raises(anthropic.NotFoundError) as caught:
        await anthropic_sdk(client).models.retrieve("llama-3-70b")
    assert caught.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(genai_errors.ClientError) as gemini:
        await genai_sdk(client).aio.models.get(model="llama-3-70b")
    assert gemini.value.code == 404 and "localgate models" in gemini.value.message


async def test_genai_lists_the_models(localgate, make_fake):
    client = await accounts(localgate, make_fake)
    listed = [m async for m in await genai_sdk(client).aio.models.list()]
    names = {m.name for m in listed}
    assert {"models/gpt-4o", "models/gemini-2.5-flash", "models/claude-haiku-4-5"} <= names
    flash = next(m for m in listed if m.name == "models/gemini-2.5-flash")
    assert "generateContent" in flash.supported_actions


async def test_genai_pages_through_the_list(localgate, make_fake):
    client = await accounts(localgate, make_fake)
    listed = [m async for m in await genai_sdk(client).aio.models.list(config={"page_size": 2})]
    everything = (await (await client.get("/v1beta/models?pageSize=1000")).json())["models"]
    assert [m.name for m in listed] == [m["name"] for m in everything]
    first = await (await client.get("/v1beta/models?pageSize=2")).json()
    assert first["nextPageToken"] == "2" and len(first["models"]) == 2


async def test_genai_get(localgate, make_fake):
    client = await accounts(localgate, make_fake)
    model = await genai_sdk(client).aio.models.get(model="gemini-2.5-flash")
    assert model.name == "models/gemini-2.5-flash"
    embedder = await genai_sdk(client).aio.models.get(model="text-embedding-3-small")
    assert embedder.supported_actions == ["embedContent", "batchEmbedContents"]


async def test_ids_with_slashes(localgate, make_fake):
    router = await make_fake("openai", "router")
    router.models = ["meta-llama/llama-3.3-70b"]
    client = await localgate([account("router", "openai", router.url, models=["meta-llama/*"])])
    model = await openai_sdk(client).models.retrieve("meta-llama/llama-3.3-70b")
    assert model.id == "meta-llama/llama-3.3-70b"
