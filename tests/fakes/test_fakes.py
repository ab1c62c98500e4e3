"""The fakes speak the real wire formats: the official SDKs accept them as they are."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes import (
    Cut,
    Delay,
    Error,
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    Garbage,
    Hang,
    Reply,
    ToolCall,
    Usage,
)
from tests.fakes.base import split_text
from tests.sdks import anthropic_sdk, genai_sdk, openai_sdk

HI = [{"role": "user", "content": "hi"}]
WEATHER = ToolCall("get_weather", {"city": "Paris", "unit": "celsius"})


def claude(fake: FakeAnthropic) -> anthropic.AsyncAnthropic:
    return anthropic_sdk(fake.url, api_key="x")


def gpt(fake: FakeOpenAI) -> openai.AsyncOpenAI:
    return openai_sdk(fake.url, api_key="x", path="")  # the fake's URL ends in /v1


def gemini(fake: FakeGemini, version: str = "v1beta") -> genai.Client:
    return genai_sdk(fake.url, version, api_key="x")


async def raw_post(url: str, body: dict) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, dict(response.headers), await response.read()


@given(st.text(max_size=50), st.integers(min_value=1, max_value=10))
def test_split_text_keeps_every_character_in_order(text, parts):
    pieces = split_text(text, parts)
    assert "".join(pieces) == text
    assert all(pieces) and len(pieces) <= parts


# -- Anthropic ------------------------------------------------------------------


async def test_anthropic_message_names_the_fake_and_is_recorded(make_fake):
    fake = await make_fake("anthropic", "work")
    message = await claude(fake).messages.create(model="claude-x", max_tokens=10, messages=HI)
    assert message.content[0].text == "Hello from work"
    assert (message.stop_reason, message.usage.input_tokens, message.usage.output_tokens) == (
        "end_turn",
        10,
        5,
    )
    [recorded] = fake.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/messages")
    # anthropic 2.x sends the key as a Bearer token; older SDKs and curl use x-api-key.
    assert (
        recorded.headers.get("x-api-key") == "x" or recorded.headers["authorization"] == "Bearer x"
    )
    assert recorded.json["messages"] == HI


async def test_anthropic_headers_are_the_real_ones(fake_anthropic):
    response = await claude(fake_anthropic).messages.with_raw_response.create(
        model="claude-x", max_tokens=10, messages=HI
    )
    assert response.headers["content-type"] == "application/json"
    assert response.headers["request-id"].startswith("req_")
    assert int(response.headers["anthropic-ratelimit-requests-remaining"]) > 0
    assert response.headers["anthropic-ratelimit-tokens-reset"].endswith("Z")


async def test_anthropic_stream_with_thinking_and_tools_through_the_sdk(fake_anthropic):
    fake_anthropic.script(
        Reply(thinking="Let me look that up.", tool_calls=[WEATHER], usage=Usage(output=42))
    )
    client = claude(fake_anthropic)
    async with client.messages.stream(model="claude-x", max_tokens=10, messages=HI) as stream:
        kinds = [event.type async for event in stream]
        message = await stream.get_final_message()
    thinking, text, tool = message.content
    assert thinking.thinking == "Let me look that up." and thinking.signature
    assert text.text == "Hello from anthropic"
    assert (tool.name, tool.input) == ("get_weather", WEATHER.input)
    assert tool.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == 42
    assert "input_json" in kinds and "signature" in kinds


async def test_anthropic_stream_bytes(fake_anthropic):
    fake_anthropic.script(Reply(text="abcdef", tool_calls=[WEATHER]))
    status, headers, body = await raw_post(
        fake_anthropic.url + "/v1/messages?beta=true", {"model": "m", "stream": True}
    )
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert body.startswith(b'event: message_start\ndata: {"type":"message_start","message":{')
    assert body.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    events = [block.split(b"\n") for block in body.split(b"\n\n") if block]
    names = [lines[0].removeprefix(b"event: ").decode() for lines in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    datas = [json.loads(lines[1].removeprefix(b"data: ")) for lines in events]
    assert all(d["type"] == n for d, n in zip(datas, names, strict=True))
    fragments = [
        d["delta"]["partial_json"]
        for d in datas
        if d["type"] == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    ]
    assert len([f for f in fragments if f]) >= 2
    assert json.loads("".join(fragments)) == WEATHER.input
    assert datas[-2]["usage"]["output_tokens"] == 5
    assert fake_anthropic.requests[0].query == {"beta": "true"}


async def test_anthropic_count_tokens_is_deterministic(fake_anthropic):
    client = claude(fake_anthropic)
    short = await client.messages.count_tokens(model="claude-x", messages=HI)
    again = await client.messages.count_tokens(model="claude-x", messages=HI)
    long = await client.messages.count_tokens(
        model="claude-x", messages=[{"role": "user", "content": "word " * 200}]
    )
    assert short.input_tokens == again.input_tokens > 0
    assert long.input_tokens > short.input_tokens


async def test_anthropic_models(fake_anthropic):
    page = await claude(fake_anthropic).models.list()
    assert [m.id for m in page.data] == fake_anthropic.models


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (500, anthropic.InternalServerError, "api_error"),
    ],
)
async def test_anthropic_errors_are_the_sdk_exceptions(
    fake_anthropic, status, exception, error_type
):
    fake_anthropic.script(Error(status, message="nope"))
    with pytest.raises(exception) as caught:
        await claude(fake_anthropic).messages.create(model="claude-x", max_tokens=10, messages=HI)
    assert caught.value.status_code == status
    assert caught.value.body["error"] == {"type": error_type, "message": "nope"}
    assert caught.value.body["type"] == "error"
    assert (caught.value.response.headers.get("retry-after") == "7") == (status == 429)


async def test_claude_4_7_and_later_refuse_a_thinking_budget_as_the_api_does(fake_anthropic):
    budget = {"type": "enabled", "budget_tokens": 2048}
    for model in ("claude-opus-4-7", "claude-opus-4-8-20261101", "claude-fable-5"):
        with pytest.raises(anthropic.BadRequestError, match="thinking.type.adaptive"):
            await claude(fake_anthropic).messages.create(
                model=model, max_tokens=4096, messages=HI, thinking=budget
            )
    for model, thinking in (("claude-sonnet-4-20250514", budget), ("claude-opus-4-8", None)):
        extra = {"thinking": thinking} if thinking else {"thinking": {"type": "adaptive"}}
        await claude(fake_anthropic).messages.create(
            model=model, max_tokens=4096, messages=HI, **extra
        )


async def test_explicit_error_headers_and_raw_body(fake_anthropic):
    fake_anthropic.script(Error(429, headers={"retry-after": "30"}), Error(502, body=b"<html>"))
    client = claude(fake_anthropic)
    with pytest.raises(anthropic.RateLimitError) as caught:
        await client.messages.create(model="claude-x", max_tokens=10, messages=HI)
    assert caught.value.response.headers["retry-after"] == "30"
    with pytest.raises(anthropic.InternalServerError) as caught:
        await client.messages.create(model="claude-x", max_tokens=10, messages=HI)
    assert caught.value.response.text == "<html>"


async def test_anthropic_cut_stream_makes_the_sdk_raise(fake_anthropic):
    fake_anthropic.script(Cut(after_events=2))
    seen = []
    with pytest.raises(Exception) as caught:  # noqa: B017 - the SDK lets httpx's error through
        client = claude(fake_anthropic)
        async with client.messages.stream(model="claude-x", max_tokens=9, messages=HI) as stream:
            async for event in stream:
                seen.append(event.type)
    assert "incomplete" in str(caught.value) or isinstance(caught.value, anthropic.APIError)
    assert seen == ["message_start", "content_block_start"]


async def test_anthropic_error_event_after_200(fake_anthropic):
    fake_anthropic.script(Cut(after_events=1, error=Error(529)))
    with pytest.raises(anthropic.APIStatusError) as caught:
        client = claude(fake_anthropic)
        async with client.messages.stream(model="claude-x", max_tokens=9, messages=HI) as stream:
            async for _ in stream:
                pass
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert fake_anthropic.disconnects == 0


async def test_claude_on_vertex(fake_anthropic):
    vertex = anthropic.AsyncAnthropicVertex(
        region="us-east5",
        project_id="proj",
        access_token="tok",
        base_url=fake_anthropic.url + "/v1",
        max_retries=0,
    )
    model = "claude-sonnet-4-5@20250929"
    message = await vertex.messages.create(model=model, max_tokens=9, messages=HI)
    async with vertex.messages.stream(model=model, max_tokens=9, messages=HI) as stream:
        streamed = await stream.get_final_message()
    counted = await vertex.messages.count_tokens(model=model, messages=HI)
    assert message.content[0].text == streamed.content[0].text == "Hello from anthropic"
    assert counted.input_tokens > 0
    prefix = "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/"
    assert [r.path.removeprefix(prefix) for r in fake_anthropic.requests] == [
        f"{model}:rawPredict",
        f"{model}:streamRawPredict",
        "count-tokens:rawPredict",
    ]
    assert fake_anthropic.requests[0].headers["authorization"] == "Bearer tok"


@pytest.mark.parametrize("after", [0, 1])
async def test_anthropic_cut_without_stream_is_a_connection_error(fake_anthropic, after):
    fake_anthropic.script(Cut(after_events=after))
    with pytest.raises(anthropic.APIConnectionError):
        await claude(fake_anthropic).messages.create(model="claude-x", max_tokens=9, messages=HI)


async def test_script_is_consumed_in_order_then_default_answers(fake_anthropic):
    fake_anthropic.script(Reply(text="one"), Reply(text="two"))
    fake_anthropic.default = Reply(text="always")
    client = claude(fake_anthropic)
    texts = [
        (await client.messages.create(model="m", max_tokens=9, messages=HI)).content[0].text
        for _ in range(4)
    ]
    assert texts == ["one", "two", "always", "always"]


async def test_delay_holds_the_first_byte(fake_anthropic):
    fake_anthropic.script(Delay(0.3, then=Reply(text="late")))
    started = time.monotonic()
    message = await claude(fake_anthropic).messages.create(model="m", max_tokens=9, messages=HI)
    assert time.monotonic() - started >= 0.3
    assert message.content[0].text == "late"


async def test_hang_counts_the_client_going_away(fake_anthropic):
    fake_anthropic.script(Hang())
    with pytest.raises(anthropic.APITimeoutError):
        await claude(fake_anthropic).messages.create(
            model="m", max_tokens=9, messages=HI, timeout=0.2
        )
    assert await fake_anthropic.wait_disconnects(1) == 1


async def test_client_leaving_mid_stream_is_a_disconnect(fake_anthropic):
    fake_anthropic.script(Reply(text="x" * 50, chunks=50, gap=0.02))
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            fake_anthropic.url + "/v1/messages", json={"model": "m", "stream": True}
        )
        await response.content.readline()
        response.close()
    assert await fake_anthropic.wait_disconnects(1) == 1


async def test_garbage_is_sent_verbatim(fake_anthropic):
    fake_anthropic.script(Garbage(status=502))
    status, headers, body = await raw_post(fake_anthropic.url + "/v1/messages", {"model": "m"})
    assert (status, body) == (502, b"<html>oops</html>")
    assert headers["Content-Type"].startswith("text/html")


async def test_unknown_route_is_a_provider_404(fake_anthropic):
    status, _, body = await raw_post(fake_anthropic.url + "/v1/complete", {})
    assert status == 404
    assert json.loads(body)["error"]["type"] == "not_found_error"


async def test_reply_headers_are_added(fake_anthropic):
    fake_anthropic.script(Reply(headers={"anthropic-ratelimit-tokens-remaining": "0"}))
    response = await claude(fake_anthropic).messages.with_raw_response.create(
        model="m", max_tokens=9, messages=HI
    )
    assert response.headers["anthropic-ratelimit-tokens-remaining"] == "0"


# -- OpenAI ---------------------------------------------------------------------


async def test_openai_completion_and_headers(fake_openai):
    assert fake_openai.url.endswith("/v1")
    fake_openai.script(Reply(usage=Usage(input=7, output=3, cache_read=4)))
    response = await gpt(fake_openai).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=HI
    )
    completion = response.parse()
    assert completion.choices[0].message.content == "Hello from openai"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 11
    assert completion.usage.prompt_tokens_details.cached_tokens == 4
    assert response.headers["x-ratelimit-reset-requests"] == "6ms"
    assert response.headers["x-request-id"].startswith("req_")
    assert fake_openai.requests[0].path == "/v1/chat/completions"
    assert fake_openai.requests[0].headers["authorization"] == "Bearer x"


async def test_openai_tool_calls_and_reasoning_without_stream(fake_openai):
    fake_openai.script(Reply(text="", thinking="hmm", tool_calls=[WEATHER]))
    completion = await gpt(fake_openai).chat.completions.create(model="gpt-4o", messages=HI)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_") and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER.input
    assert choice.message.model_extra["reasoning_content"] == "hmm"


async def test_openai_stream_through_the_sdk(fake_openai):
    fake_openai.script(Reply(thinking="thinking hard", tool_calls=[WEATHER]))
    stream = await gpt(fake_openai).chat.completions.create(
        model="gpt-4o", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "")
        for c in chunks
        if c.choices
    )
    fragments = [
        c.choices[0].delta.tool_calls[0]
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
    ]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert text == "Hello from openai" and reasoning == "thinking hard"
    first, *rest = fragments
    assert first.id and first.function.name == "get_weather" and first.function.arguments == ""
    assert len(rest) >= 2 and all(f.id is None for f in rest)
    assert json.loads("".join(f.function.arguments for f in rest)) == WEATHER.input
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 15


async def test_openai_stream_bytes(fake_openai):
    status, headers, body = await raw_post(
        fake_openai.url + "/chat/completions", {"model": "m", "stream": True}
    )
    assert status == 200 and headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = body.split(b"\n\n")
    assert events[-2:] == [b"data: [DONE]", b""]
    chunks = [json.loads(e.removeprefix(b"data: ")) for e in events[:-2]]
    assert all(e.startswith(b"data: {") for e in events[:-2])
    assert all("usage" not in c for c in chunks)  # only with stream_options.include_usage
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }


@pytest.mark.parametrize(
    ("error", "exception", "code"),
    [
        (Error(429), openai.RateLimitError, "rate_limit_exceeded"),
        (Error(429, code="insufficient_quota"), openai.RateLimitError, "insufficient_quota"),
        (Error(401), openai.AuthenticationError, "invalid_api_key"),
        (Error(500), openai.InternalServerError, None),
    ],
)
async def test_openai_errors_are_the_sdk_exceptions(fake_openai, error, exception, code):
    fake_openai.script(error)
    with pytest.raises(exception) as caught:
        await gpt(fake_openai).chat.completions.create(model="gpt-4o", messages=HI)
    assert caught.value.status_code == error.status
    assert caught.value.code == code
    assert set(caught.value.body) == {"message", "type", "param", "code"}


async def test_openai_cut_stream_makes_the_sdk_raise(fake_openai):
    fake_openai.script(Cut(after_events=2))
    stream = await gpt(fake_openai).chat.completions.create(
        model="gpt-4o", messages=HI, stream=True
    )
    received = []
    with pytest.raises(Exception):  # noqa: B017 - httpx's protocol error comes through
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 2


async def test_openai_error_chunk_after_200(fake_openai):
    fake_openai.script(Cut(after_events=1, error=Error(500, message="boom")))
    stream = await gpt(fake_openai).chat.completions.create(model="m", messages=HI, stream=True)
    with pytest.raises(openai.APIError, match="boom"):
        async for _ in stream:
            pass


async def test_openai_models(fake_openai):
    page = await gpt(fake_openai).models.list()
    assert [m.id for m in page.data] == fake_openai.models


# -- Gemini ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1beta", "v1"])
async def test_gemini_generate_content(fake_gemini, version):
    fake_gemini.script(Reply(usage=Usage(input=8, output=6, cache_read=2)))
    response = await gemini(fake_gemini, version).aio.models.generate_content(
        model="gemini-2.5-flash", contents="hi"
    )
    assert response.text == "Hello from gemini"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (10, 6)
    assert usage.cached_content_token_count == 2
    assert fake_gemini.requests[0].path == f"/{version}/models/gemini-2.5-flash:generateContent"
    assert fake_gemini.requests[0].headers["x-goog-api-key"] == "x"


async def test_gemini_stream_with_thoughts_and_calls(fake_gemini):
    fake_gemini.script(
        Reply(thinking="pondering", tool_calls=[WEATHER], usage=Usage(output=9, reasoning=4))
    )
    client = gemini(fake_gemini)
    stream = await client.aio.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents="hi",
        config=types.GenerateContentConfig(
            thinking_config=types.ThinkingConfig(include_thoughts=True)
        ),
    )
    chunks = [chunk async for chunk in stream]
    parts = [part for chunk in chunks for part in chunk.candidates[0].content.parts]
    thoughts = [p for p in parts if p.thought]
    assert "".join(p.text for p in thoughts) == "pondering"
    assert thoughts[-1].thought_signature
    assert "".join(p.text for p in parts if p.text and not p.thought) == "Hello from gemini"
    [call] = [p.function_call for p in parts if p.function_call]
    assert (call.name, call.args) == ("get_weather", WEATHER.input)
    assert [c.candidates[0].finish_reason for c in chunks][-1] == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    last = chunks[-1].usage_metadata
    assert (last.candidates_token_count, last.thoughts_token_count) == (5, 4)
    assert fake_gemini.requests[0].query == {"alt": "sse"}


async def test_gemini_stream_bytes(fake_gemini):
    status, headers, body = await raw_post(
        fake_gemini.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", {}
    )
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    events = body.split(b"\r\n\r\n")
    assert events[-1] == b"" and len(events) == 4
    assert all(e.startswith(b'data: {"candidates": [{"content": {"parts": [') for e in events[:-1])
    assert b'"role": "model"},"finishReason": "STOP","index": 0}' in events[-2]


async def test_gemini_429_carries_quota_details(fake_gemini):
    fake_gemini.script(Error(429, code="GenerateRequestsPerDayPerProjectPerModel-FreeTier"))
    with pytest.raises(genai_errors.ClientError) as caught:
        await gemini(fake_gemini).aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    assert (caught.value.code, caught.value.status) == (429, "RESOURCE_EXHAUSTED")
    details = {d["@type"].rsplit(".", 1)[-1]: d for d in caught.value.details["error"]["details"]}
    assert details["RetryInfo"]["retryDelay"] == "7s"
    assert "PerDay" in details["QuotaFailure"]["violations"][0]["quotaId"]


async def test_gemini_server_error(fake_gemini):
    fake_gemini.script(Error(503))
    with pytest.raises(genai_errors.ServerError) as caught:
        await gemini(fake_gemini).aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    assert (caught.value.code, caught.value.status) == (503, "UNAVAILABLE")


async def test_gemini_cut_stream_makes_the_sdk_raise(fake_gemini):
    fake_gemini.script(Cut(after_events=1))
    received = []
    with pytest.raises(Exception):  # noqa: B017 - the transport error comes through
        stream = await gemini(fake_gemini).aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="hi"
        )
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 1


async def test_gemini_error_event_after_200(fake_gemini):
    fake_gemini.script(Cut(after_events=1, error=Error(500)))
    received = []
    with pytest.raises(genai_errors.ServerError):
        stream = await gemini(fake_gemini).aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="hi"
        )
        async for chunk in stream:
            received.append(chunk.text)
    assert len(received) == 1 and received[0].startswith("Hello")


async def test_gemini_on_vertex_paths(fake_gemini):
    path = "/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-pro"
    status, _, body = await raw_post(fake_gemini.url + path + ":generateContent", {})
    assert status == 200
    assert json.loads(body)["modelVersion"] == "gemini-2.5-pro"


async def test_gemini_models_and_count_tokens(fake_gemini):
    client = gemini(fake_gemini)
    names = [model.name async for model in await client.aio.models.list()]
    assert names == [f"models/{m}" for m in fake_gemini.models]
    counted = await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="hello")
    assert counted.total_tokens > 0


# -- several fakes ----------------------------------------------------------------


async def test_make_fake_serves_independent_accounts(make_fake):
    work, home = await make_fake("anthropic", "work"), await make_fake("anthropic", "home")
    work.script(Error(429))
    with pytest.raises(anthropic.RateLimitError):
        await claude(work).messages.create(model="m", max_tokens=9, messages=HI)
    message = await claude(home).messages.create(model="m", max_tokens=9, messages=HI)
    assert message.content[0].text == "Hello from home"
    assert (len(work.requests), len(home.requests)) == (1, 1)


async def test_gaps_space_out_stream_events(fake_openai):
    fake_openai.script(Reply(text="abc", chunks=3, gap=0.05))
    stream = await gpt(fake_openai).chat.completions.create(model="m", messages=HI, stream=True)
    arrivals = []
    async for _ in stream:
        arrivals.append(asyncio.get_running_loop().time())
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(arrivals) - 1) * 0.9
