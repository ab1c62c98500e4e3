"""Files, batches, video and music: a clear 404 in the route's dialect, never a relay."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.sdks import anthropic_sdk, openai_sdk
from tests.support import account


async def test_openai_files_and_batches(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    sdk = openai_sdk(client)
    with pytest.raises(openai.NotFoundError, match="Files API is not served"):
        await sdk.files.create(file=("a.jsonl", b"{}"), purpose="batch")
    with pytest.raises(openai.NotFoundError, match="batches are not served"):
        await sdk.batches.retrieve("batch_1")
    with pytest.raises(openai.NotFoundError, match="video generation is not served"):
        await sdk.post("/videos", body={"model": "sora-2", "prompt": "x"}, cast_to=object)
    assert work.requests == []


async def test_anthropic_batches(localgate, make_fake):
    claude = await make_fake("anthropic", "claude")
    client = await localgate([account("claude", "anthropic", claude.url)])
    with pytest.raises(anthropic.NotFoundError) as caught:
        await anthropic_sdk(client).messages.batches.list()
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert "batches are not served" in caught.value.body["error"]["message"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1beta/files"),
        ("POST", "/upload/v1beta/files"),
        ("POST", "/v1beta/models/gemini-2.5-flash:batchGenerateContent"),
        ("POST", "/v1beta/models/veo-3.0-generate-001:predictLongRunning"),
    ],
)
async def test_gemini_files_batches_video(localgate, make_fake, method, path):
    gem = await make_fake("gemini", "gem")
    client = await localgate([account("gem", "gemini", gem.url)])
    resp = await client.request(method, path, json={})
    assert resp.status == 404
    error = (await resp.json())["error"]
    assert error["status"] == "NOT_FOUND" and "not served" in error["message"]
    assert gem.requests == []


async def test_music(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    resp = await client.post("/v1/music", json={})
    assert resp.status == 404 and "music generation" in (await resp.json())["error"]["message"]
