"""Across dialects, when things go wrong: fallbacks to other providers, upstream
errors and rate limits in the client's dialect, streams that break off. Each official
SDK is the judge. (count_tokens has its own file: test_count_tokens.py.)
"""

from __future__ import annotations

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from tests.fakes import Cut, Error, Reply
from tests.sdks import anthropic_sdk, genai_sdk, openai_sdk
from tests.server.test_translated import FAKE_KINDS, MODELS, PAIRS, read_openai_stream
from tests.support import account

IDS = [f"{c}-to-{u}" for c, u in PAIRS]


# -- fallbacks across providers ------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_alias_falls_back_across_providers(localgate, make_fake, stream):
    one = await make_fake("anthropic", "one")
    two = await make_fake("anthropic", "two")
    gem = await make_fake("gemini", "gem")
    for fake in (one, two):
        fake.script(Error(429, "rate limited", headers={"retry-after": "120"}))
    client = await localgate(
        [
            account("one", "anthropic", one.url),
            account("two", "anthropic", two.url),
            account("gem", "gemini", gem.url),
        ],
        aliases={"claude-sonnet-*": ["anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash"]},
    )
    sdk = anthropic_sdk(client)
    kwargs = dict(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    if stream:
        async with sdk.messages.with_streaming_response.create(**kwargs, stream=True) as response:
            headers = response.headers
            events = await response.parse()
            text = "".join(
                [event.delta.text async for event in events if event.type == "content_block_delta"]
            )
    else:
        response = await sdk.messages.with_raw_response.create(**kwargs)
        headers, text = response.headers, (await response.parse()).content[0].text
    assert text == "Hello from gem"
    assert headers["x-localgate-account"] == "gem"
    assert headers["x-model-used"] == "gemini-2.5-flash"
    assert headers["x-fallback-from"] == "claude-sonnet-4-5"
    assert headers["x-fallback-depth"] == "1"
    assert len(one.requests) == len(two.requests) == 1
    assert gem.requests[0].path == "/v1beta/models/gemini-2.5-flash:" + (
        "streamGenerateContent" if stream else "generateContent"
    )


async def test_openai_alias_falls_back_from_openai_to_anthropic(localgate, make_fake):
    oai = await make_fake("openai", "oai")
    claude = await make_fake("anthropic", "claude")
    oai.script(Error(429, headers={"retry-after": "60"}))
    client = await localgate(
        [account("oai", "openai", oai.url), account("claude", "anthropic", claude.url)],
        aliases={"smart": ["openai:gpt-4o", "anthropic:claude-sonnet-4-5"]},
    )
    response = await openai_sdk(client).chat.completions.with_raw_response.create(
        model="smart", messages=[{"role": "user", "content": "hi"}]
    )
    assert response.parse().choices[0].message.content == "Hello from claude"
    assert response.headers["x-fallback-from"] == "gpt-4o"
    assert response.headers["x-fallback-depth"] == "1"


# -- errors in the client's dialect ----------------------------------------------------


class ResponseFailed(Exception):
    """A Responses stream ended with `response.failed` (the SDK hands it over as an event)."""


async def call_once(client_kind: str, client, model: str, stream: bool = False):
    """One simple request from the client's SDK; returns the text, raises the SDK's error."""
    if client_kind == "responses":
        sdk = openai_sdk(client)
        if not stream:
            return (await sdk.responses.create(model=model, input="hi")).output_text
        async with sdk.responses.stream(model=model, input="hi") as events:
            async for event in events:
                if event.type == "response.failed":
                    raise ResponseFailed(event.response.error.message)
                if event.type == "error":
                    raise ResponseFailed(event.message)
            return (await events.get_final_response()).output_text
    if client_kind == "anthropic":
        kwargs = dict(model=model, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
        if stream:
            async with anthropic_sdk(client).messages.stream(**kwargs) as events:
                return "".join([text async for text in events.text_stream])
        return (await anthropic_sdk(client).messages.create(**kwargs)).content[0].text
    if client_kind == "openai":
        kwargs = dict(model=model, messages=[{"role": "user", "content": "hi"}])
        if stream:
            text, _, _ = await read_openai_stream(
                await openai_sdk(client).chat.completions.create(
                    **kwargs, stream=True, stream_options={"include_usage": True}
                )
            )
            return text
        return (
            (await openai_sdk(client).chat.completions.create(**kwargs)).choices[0].message.content
        )
    sdk = genai_sdk(client)
    if stream:
        chunks = [
            c
            async for c in await sdk.aio.models.generate_content_stream(model=model, contents="hi")
        ]
        return "".join(c.text or "" for c in chunks)
    return (await sdk.aio.models.generate_content(model=model, contents="hi")).text


@pytest.mark.parametrize(("client_kind", "upstream_kind"), PAIRS, ids=IDS)
async def test_upstream_400_reaches_the_client_in_its_dialect(
    localgate, make_fake, client_kind, upstream_kind
):
    fake = await make_fake(FAKE_KINDS.get(upstream_kind, upstream_kind), "up")
    fake.script(Error(400, "messages.0: the conversation is malformed"))
    client = await localgate(
        [account("up", FAKE_KINDS.get(upstream_kind, upstream_kind), fake.url)]
    )
    if client_kind == "anthropic":
        with pytest.raises(anthropic.BadRequestError) as caught:
            await call_once(client_kind, client, MODELS[upstream_kind])
        assert caught.value.body["type"] == "error"
        assert caught.value.body["error"]["type"] == "invalid_request_error"
        message = caught.value.body["error"]["message"]
    elif client_kind in ("openai", "responses"):
        with pytest.raises(openai.BadRequestError) as caught:
            await call_once(client_kind, client, MODELS[upstream_kind])
        message = caught.value.body["message"]
    else:
        with pytest.raises(genai_errors.ClientError) as caught:
            await call_once(client_kind, client, MODELS[upstream_kind])
        assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
        message = caught.value.message
    assert "the conversation is malformed" in message
    assert len(fake.requests) == 1  # the request's own fault: no other account tried


@pytest.mark.parametrize(("client_kind", "upstream_kind"), PAIRS, ids=IDS)
async def test_rate_limit_exhaustion_is_429_with_retry_after(
    localgate, make_fake, client_kind, upstream_kind
):
    fake = await make_fake(FAKE_KINDS.get(upstream_kind, upstream_kind), "up")
    fake.script(Error(429, "slow down", headers={"retry-after": "120"}))
    client = await localgate(
        [account("up", FAKE_KINDS.get(upstream_kind, upstream_kind), fake.url)],
        server={"max_wait": 1},
    )
    errors = {
        "anthropic": anthropic.RateLimitError,
        "openai": openai.RateLimitError,
        "gemini": genai_errors.ClientError,
        "responses": openai.RateLimitError,
    }
    with pytest.raises(errors[client_kind]) as caught:
        await call_once(client_kind, client, MODELS[upstream_kind])
    if client_kind == "gemini":
        assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
        headers = caught.value.response.headers
    else:
        headers = caught.value.response.headers
        assert caught.value.status_code == 429
    assert 100 <= float(headers["retry-after"]) <= 120


async def test_gemini_per_day_quota_cools_the_account_until_the_reset(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    gem.script(Error(429, code="GenerateRequestsPerDayPerProjectPerModel-FreeTier"))
    client = await localgate([account("gem", "gemini", gem.url)], server={"max_wait": 1})
    with pytest.raises(anthropic.RateLimitError) as caught:
        await call_once("anthropic", client, "gemini-2.5-flash")
    # Not the 7 seconds of RetryInfo: until midnight in California (up to a day).
    assert float(caught.value.response.headers["retry-after"]) > 60
    assert len(gem.requests) == 1


# -- streams that break off ------------------------------------------------------------


@pytest.mark.parametrize(("client_kind", "upstream_kind"), PAIRS, ids=IDS)
@pytest.mark.parametrize("how", ["cut", "error-event"])
async def test_translated_stream_breaking_off_ends_with_the_clients_error_event(
    localgate, make_fake, client_kind, upstream_kind, how
):
    fake = await make_fake(FAKE_KINDS.get(upstream_kind, upstream_kind), "up")
    reply = Reply(text="one two three four five six", chunks=6)
    error = Error(500, "the model crashed") if how == "error-event" else None
    # Content went out (an Anthropic stream's 4th event is its first text delta): the
    # client has seen bytes, so there is no failover, only an error event.
    fake.script(Cut(after_events=4, reply=reply, error=error))
    client = await localgate(
        [account("up", FAKE_KINDS.get(upstream_kind, upstream_kind), fake.url)]
    )
    errors = {
        "anthropic": anthropic.APIError,
        "openai": openai.APIError,
        "gemini": genai_errors.APIError,
        "responses": ResponseFailed,
    }
    with pytest.raises(errors[client_kind]) as caught:
        await call_once(client_kind, client, MODELS[upstream_kind], stream=True)
    text = str(caught.value)
    if how == "error-event":
        assert "the model crashed" in text
    else:
        assert "incomplete" in text or "ended" in text or "broke" in text
    assert len(fake.requests) == 1


async def test_raw_translated_cut_anthropic_events(localgate, make_fake):
    """Byte level: message_start first, `event: error` last, no message_stop."""
    fake = await make_fake("openai", "oai")
    fake.script(Cut(after_events=3, reply=Reply(text="abcdef", chunks=6)))
    client = await localgate([account("oai", "openai", fake.url)])
    resp = await client.post(
        "/v1/messages",
        json={
            "model": "gpt-4o",
            "max_tokens": 10,
            "stream": True,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert resp.status == 200
    events = [line[7:] for line in (await resp.text()).splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start"
    assert events[-1] == "error"
    assert "message_stop" not in events
