"""Gemini's :countTokens from google-genai, on every kind that can count."""

from __future__ import annotations

import pytest
from google.genai import errors as genai_errors

from tests.fakes import Error
from tests.google.support import vertex_account
from tests.sdks import genai_sdk
from tests.support import account

CONTENTS = ["What is the weather in Paris?", "It is sunny, and warm for the season."]


async def test_on_a_gemini_model_relayed(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    client = await localgate([account("gem", "gemini", gem.url)])
    counted = await genai_sdk(client).aio.models.count_tokens(
        model="gemini-2.5-flash", contents=CONTENTS
    )
    (sent,) = gem.requests
    assert sent.path.endswith("/models/gemini-2.5-flash:countTokens")
    assert set(sent.json) == {"contents"}  # as the SDK sent it
    assert counted.total_tokens > 0


async def test_on_a_claude_model_by_anthropics_count_tokens(localgate, make_fake):
    claude = await make_fake("anthropic", "claude")
    client = await localgate([account("claude", "anthropic", claude.url)])
    counted = await genai_sdk(client).aio.models.count_tokens(
        model="claude-sonnet-4-5", contents=CONTENTS
    )
    (sent,) = claude.requests
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.headers["x-api-key"] == "sk-test-claude-secret"
    assert sent.json["model"] == "claude-sonnet-4-5"
    assert sent.json["messages"][0]["role"] == "user"
    assert "Paris" in str(sent.json["messages"]) and "max_tokens" not in sent.json
    assert counted.total_tokens > 0

    longer = await genai_sdk(client).aio.models.count_tokens(
        model="claude-sonnet-4-5", contents=CONTENTS * 10
    )
    assert longer.total_tokens > counted.total_tokens  # the upstream's count, not a constant


async def test_on_claude_on_vertex(localgate, fake_vertex, fake_google_token):
    client = await localgate(
        [vertex_account("gcp", fake_vertex.url, fake_google_token.authorized_user())]
    )
    counted = await genai_sdk(client).aio.models.count_tokens(
        model="claude-sonnet-4-5", contents=CONTENTS
    )
    (sent,) = fake_vertex.claude.requests
    assert sent.path.endswith("/publishers/anthropic/models/count-tokens:rawPredict")
    assert sent.json["model"] == "claude-sonnet-4-5@20250929"
    assert counted.total_tokens > 0


async def test_a_generate_content_request_reaches_vertex_unwrapped(
    localgate, fake_vertex, fake_google_token
):
    client = await localgate(
        [vertex_account("gcp", fake_vertex.url, fake_google_token.authorized_user())]
    )
    body = {
        "generateContentRequest": {
            "model": "models/gemini-2.5-pro",
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "systemInstruction": {"parts": [{"text": "be brief"}]},
        }
    }
    resp = await client.post("/v1beta/models/gemini-2.5-pro:countTokens", json=body)
    assert resp.status == 200, await resp.text()
    (sent,) = fake_vertex.gemini.requests
    assert set(sent.json) == {"contents", "systemInstruction"}


async def test_on_an_openai_model_a_clear_404(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    with pytest.raises(genai_errors.ClientError) as caught:
        await genai_sdk(client).aio.models.count_tokens(model="gpt-4o", contents=CONTENTS)
    assert caught.value.code == 404 and "can count tokens" in caught.value.message
    assert work.requests == []


async def test_failover_on_429(localgate, make_fake):
    one = await make_fake("anthropic", "one")
    two = await make_fake("anthropic", "two")
    one.script(Error(429))
    client = await localgate(
        [account("one", "anthropic", one.url, priority=5), account("two", "anthropic", two.url)],
        server={"strategy": "fill-first"},
    )
    counted = await genai_sdk(client).aio.models.count_tokens(
        model="claude-haiku-4-5", contents="hi"
    )
    assert counted.total_tokens > 0 and len(two.requests) == 1


async def test_missing_contents_is_a_400(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    client = await localgate([account("gem", "gemini", gem.url)])
    resp = await client.post("/v1beta/models/gemini-2.5-flash:countTokens", json={})
    assert resp.status == 400
    assert (await resp.json())["error"]["status"] == "INVALID_ARGUMENT"
    assert gem.requests == []


async def test_on_an_openai_account_speaking_responses(localgate, make_fake):
    """Counted by the Responses API's /responses/input_tokens."""
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url, api="responses")])
    counted = await genai_sdk(client).aio.models.count_tokens(model="gpt-5", contents=CONTENTS)
    (sent,) = work.requests
    assert sent.path == "/v1/responses/input_tokens"
    assert sent.json["model"] == "gpt-5" and "Paris" in str(sent.json["input"])
    assert counted.total_tokens > 0
