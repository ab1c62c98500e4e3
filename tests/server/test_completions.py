"""Legacy completions: relayed to OpenAI accounts, through chat on other kinds."""

from __future__ import annotations

import openai
import pytest

from tests.fakes import Reply
from tests.sdks import openai_sdk
from tests.support import account


async def test_relayed_to_openai(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    done = await openai_sdk(client).completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=5
    )
    assert done.choices[0].text == "Hello from work"
    assert work.requests[-1].path == "/v1/completions"


async def test_relayed_stream(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    stream = await openai_sdk(client).completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True
    )
    text = "".join([chunk.choices[0].text async for chunk in stream if chunk.choices])
    assert text == "Hello from work"


@pytest.mark.parametrize(
    "kind, model", [("anthropic", "claude-haiku-4-5"), ("gemini", "gemini-2.5-flash")]
)
async def test_through_chat_on_other_kinds(localgate, make_fake, kind, model):
    upstream = await make_fake(kind, "up")
    upstream.script(Reply(text="def add(a, b): return a + b"))
    client = await localgate([account("up", kind, upstream.url)])
    done = await openai_sdk(client).completions.create(
        model=model, prompt="# add two numbers\n", max_tokens=20, suffix="\n"
    )
    assert done.object == "text_completion"
    assert done.choices[0].text == "def add(a, b): return a + b"
    assert done.choices[0].finish_reason == "stop"
    assert done.usage.completion_tokens == 5
    sent = upstream.requests[-1].json
    assert "# add two numbers" in json_text(sent)


def json_text(body) -> str:
    import json

    return json.dumps(body)


@pytest.mark.parametrize(
    "kind, model", [("anthropic", "claude-haiku-4-5"), ("gemini", "gemini-2.5-flash")]
)
async def test_stream_through_chat(localgate, make_fake, kind, model):
    upstream = await make_fake(kind, "up")
    upstream.script(Reply(text="one two three four", chunks=4))
    client = await localgate([account("up", kind, upstream.url)])
    stream = await openai_sdk(client).completions.create(
        model=model, prompt="count", stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert all(c.object == "text_completion" for c in chunks)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5


async def test_legacy_max_tokens_default(localgate, make_fake):
    up = await make_fake("anthropic", "up")
    client = await localgate([account("up", "anthropic", up.url)])
    await openai_sdk(client).completions.create(model="claude-haiku-4-5", prompt="x")
    assert up.requests[-1].json["max_tokens"] == 16


async def test_several_prompts_refused_on_other_kinds(localgate, make_fake):
    up = await make_fake("anthropic", "up")
    client = await localgate([account("up", "anthropic", up.url)])
    with pytest.raises(openai.BadRequestError, match="only one text prompt"):
        await openai_sdk(client).completions.create(model="claude-haiku-4-5", prompt=["a", "b"])
    assert up.requests == []


async def test_missing_prompt_is_a_400(localgate, make_fake):
    up = await make_fake("openai", "up")
    client = await localgate([account("up", "openai", up.url)])
    resp = await client.post("/v1/completions", json={"model": "gpt-3.5-turbo-instruct"})
    assert resp.status == 400 and "prompt" in (await resp.json())["error"]["message"]
