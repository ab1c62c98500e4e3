"""What real upstreams do inside a 200 stream, as the official SDKs see it through
localgate: interleaved parallel calls, blocked prompts, error events before any
content, empty answers, streams cut short; and errors that say what happened
(a failing account is not a rate-limited one)."""

from __future__ import annotations

import json

import anthropic
import pytest

from localgate.ledger import LedgerStore, ledger_path
from tests.fakes import Cut, Error, Reply, ToolCall
from tests.limits.live import written
from tests.sdks import anthropic_sdk, genai_sdk, openai_sdk
from tests.server.test_translated import pool_status
from tests.support import account

HI = [{"role": "user", "content": "hi"}]
CALLS = [
    ToolCall("read_file", {"path": "/tmp/a.txt", "lines": [1, 2, 3]}, id="call_A"),
    ToolCall("read_file", {"path": "/tmp/b.txt", "lines": [4]}, id="call_B"),
]
TOOLS = [
    {
        "name": "read_file",
        "description": "Read a file",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
]


async def anthropic_stream(client, model: str, **extra):
    async with anthropic_sdk(client).messages.stream(
        model=model, max_tokens=100, messages=HI, **extra
    ) as stream:
        kinds = [event.type async for event in stream]
        return kinds, await stream.get_final_message()


MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o", "gemini": "gemini-2.5-flash"}


async def first_and_second(localgate, make_fake, upstream: str):
    """(client, first, second): two accounts of `upstream`, tried in that order."""
    first = await make_fake(upstream, "first")
    second = await make_fake(upstream, "second")
    client = await localgate(
        [account("first", upstream, first.url), account("second", upstream, second.url)],
        server={"strategy": "fill-first"},
    )
    return client, first, second


# -- 1. interleaved parallel tool calls ------------------------------------------------


async def test_interleaved_parallel_calls_reach_anthropic_clients_whole(localgate, make_fake):
    fake = await make_fake("openai", "oai")
    fake.script(Reply(text="", tool_calls=CALLS, interleave=True, chunks=4))
    client = await localgate([account("oai", "openai", fake.url)])
    _, message = await anthropic_stream(client, "gpt-4o", tools=TOOLS)
    calls = [(b.id, b.input) for b in message.content if b.type == "tool_use"]
    assert calls == [("call_A", CALLS[0].input), ("call_B", CALLS[1].input)]
    assert message.stop_reason == "tool_use"


async def test_interleaved_parallel_calls_reach_gemini_clients_whole(localgate, make_fake):
    fake = await make_fake("openai", "oai")
    fake.script(Reply(text="", tool_calls=CALLS, interleave=True, chunks=4))
    client = await localgate([account("oai", "openai", fake.url)])
    chunks = [
        c
        async for c in await genai_sdk(client).aio.models.generate_content_stream(
            model="gpt-4o", contents="read both"
        )
    ]
    calls = [p.function_call for c in chunks for p in c.candidates[0].content.parts or []]
    assert [(c.id, c.args) for c in calls if c] == [
        ("call_A", CALLS[0].input),
        ("call_B", CALLS[1].input),
    ]


# -- 4. blocked prompts ------------------------------------------------------------------


async def test_blocked_gemini_prompt_is_a_clean_refusal_for_anthropic_clients(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    gem.script(Reply(block_reason="PROHIBITED_CONTENT"))
    client = await localgate([account("gem", "gemini", gem.url)])
    kinds, message = await anthropic_stream(client, "gemini-2.5-flash")
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert message.stop_reason == "refusal" and message.content == []
    assert pool_status(client, "gem").state == "ok"  # an answer, not a failure


async def test_blocked_gemini_prompt_is_a_clean_refusal_for_openai_clients(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    gem.script(Reply(block_reason="SAFETY"), Reply(block_reason="SAFETY"))
    client = await localgate([account("gem", "gemini", gem.url)])
    stream = await openai_sdk(client).chat.completions.create(
        model="gemini-2.5-flash", messages=HI, stream=True
    )
    finishes = [c.choices[0].finish_reason async for c in stream if c.choices]
    assert finishes[-1] == "content_filter"
    whole = await openai_sdk(client).chat.completions.create(model="gemini-2.5-flash", messages=HI)
    assert whole.choices[0].finish_reason == "content_filter"


async def test_blocked_gemini_prompt_reaches_gemini_clients_whole(localgate, make_fake):
    gem = await make_fake("gemini", "gem")
    gem.script(Reply(block_reason="SAFETY"))
    client = await localgate([account("gem", "gemini", gem.url)])
    chunks = [
        c
        async for c in await genai_sdk(client).aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="hi"
        )
    ]
    assert chunks[-1].prompt_feedback.block_reason.value == "SAFETY"
    assert len(gem.requests) == 1


# -- 6. errors inside a 200 stream, before any content -------------------------------


@pytest.mark.parametrize("upstream", ["anthropic", "openai", "gemini"])
async def test_error_event_before_content_fails_over_unseen(localgate, make_fake, upstream):
    """Overloaded right after the stream's head: the client never sees it."""
    client, first, second = await first_and_second(localgate, make_fake, upstream)
    status = 529 if upstream == "anthropic" else 503
    # Anthropic and OpenAI open with a head event; Gemini's first chunk is content.
    head = 0 if upstream == "gemini" else 1
    first.script(Cut(after_events=head, error=Error(status, "Overloaded")))
    kinds, message = await anthropic_stream(client, MODELS[upstream])
    assert message.content[0].text == "Hello from second"
    assert kinds.count("message_start") == 1
    assert pool_status(client, "first").state == "cooling"
    assert "Overloaded" in pool_status(client, "first").reason


# -- 7. empty answers, streams cut short ----------------------------------------------


@pytest.mark.parametrize("upstream", ["anthropic", "openai", "gemini"])
async def test_empty_answer_gets_one_retry_on_another_account(localgate, make_fake, upstream):
    client, first, second = await first_and_second(localgate, make_fake, upstream)
    first.script(Reply(text=""))
    stream = await openai_sdk(client).chat.completions.create(
        model=MODELS[upstream], messages=HI, stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from second"
    assert len(first.requests) == len(second.requests) == 1


async def test_second_empty_answer_is_delivered(localgate, make_fake):
    client, first, second = await first_and_second(localgate, make_fake, "anthropic")
    first.script(Reply(text=""))
    second.script(Reply(text=""))
    kinds, message = await anthropic_stream(client, "claude-sonnet-4-5")
    assert message.content == [] and kinds[-1] == "message_stop"
    assert len(first.requests) == len(second.requests) == 1


@pytest.mark.parametrize("upstream", ["anthropic", "openai"])
async def test_stream_cut_short_is_a_failure_in_pool_and_ledger(
    localgate, make_fake, tmp_path, upstream
):
    fake = await make_fake(upstream, "up")
    fake.script(Cut(after_events=5, reply=Reply(text="one two three four five six", chunks=6)))
    model = "claude-sonnet-4-5" if upstream == "anthropic" else "gpt-4o"
    client = await localgate([account("up", upstream, fake.url)])
    with pytest.raises(anthropic.APIError):
        await anthropic_stream(client, model)
    await written(client)  # the request ends (and is counted) after its last bytes left
    assert pool_status(client, "up").state == "cooling"
    from localgate.config import default_state_dir

    store = LedgerStore.open(ledger_path(default_state_dir()))
    try:
        ((row),) = store.usage(0, "account")
        assert (row.key, row.requests, row.broken_streams) == ("up", 1, 1)
    finally:
        store.close()


# -- 5. failing accounts are not rate limited ---------------------------------------------


async def test_accounts_failing_with_500s_answer_503_not_429(localgate, make_fake):
    fake = await make_fake("openai", "oai")
    fake.default = Error(500)
    client = await localgate([account("oai", "openai", fake.url)], server={"max_wait": 0})
    first = await client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": HI})
    assert first.status == 502
    again = await client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": HI})
    body = await again.json()
    assert again.status == 503, body
    assert "resting after failures" in body["error"]["message"]
    assert "500" in body["error"]["message"] and "rate limit" not in body["error"]["message"]
    assert "retry-after" in {k.lower() for k in again.headers}
    assert pool_status(client, "oai").cooldowns[0].kind == "server_error"


async def test_rate_limited_accounts_still_answer_429(localgate, make_fake):
    fake = await make_fake("openai", "oai")
    fake.default = Error(429)
    client = await localgate([account("oai", "openai", fake.url)], server={"max_wait": 0})
    await client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": HI})
    again = await client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": HI})
    assert again.status == 429
    assert "rate limited" in (await again.json())["error"]["message"]


# -- the model an answer names ---------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("upstream", ["openai", "gemini", "anthropic"])
async def test_alias_answers_name_the_clients_model_on_every_path(
    localgate, make_fake, upstream, stream
):
    fake = await make_fake(upstream, "up")
    client = await localgate(
        [account("up", upstream, fake.url)], aliases={"smart": [f"{upstream}:{MODELS[upstream]}"]}
    )
    sdk = openai_sdk(client)
    if stream:
        chunks = [
            c
            async for c in await sdk.chat.completions.create(
                model="smart", messages=HI, stream=True
            )
        ]
        assert {c.model for c in chunks} == {"smart"}
    else:
        answer = await sdk.chat.completions.create(model="smart", messages=HI)
        assert answer.model == "smart"
    response = await genai_sdk(client).aio.models.generate_content(model="smart", contents="hi")
    assert response.model_version == "smart"
    message = await anthropic_sdk(client).messages.create(model="smart", max_tokens=10, messages=HI)
    assert message.model == "smart"


async def test_gemini_stream_renamed_for_an_alias(localgate, make_fake):
    fake = await make_fake("gemini", "up")
    client = await localgate(
        [account("up", "gemini", fake.url)], aliases={"fast": ["gemini:gemini-2.5-flash"]}
    )
    chunks = [
        c
        async for c in await genai_sdk(client).aio.models.generate_content_stream(
            model="fast", contents="hi"
        )
    ]
    assert {c.model_version for c in chunks} == {"fast"}
    assert json.dumps([c.text for c in chunks])


# -- what could not travel is said ---------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_dropped_fields_are_named_in_the_header_and_the_log(
    localgate, make_fake, caplog, stream
):
    from localgate.requestlog import RequestLog
    from localgate.server.app import GATEWAY

    fake = await make_fake("anthropic", "claude")
    client = await localgate([account("claude", "anthropic", fake.url)])
    client.app[GATEWAY].events.subscribe(RequestLog())
    sdk = openai_sdk(client).chat.completions.with_raw_response
    with caplog.at_level("INFO", logger="localgate.requests"):
        response = await sdk.create(
            model="claude-sonnet-4-5",
            messages=HI,
            seed=7,
            logit_bias={"50256": -100},
            stream=stream,
        )
        assert response.headers["x-localgate-dropped"] == "logit_bias,seed"
        if stream:
            assert [c async for c in response.parse()]
    assert "seed" not in fake.requests[0].json
    lines = [r.getMessage() for r in caplog.records if r.name == "localgate.requests"]
    assert any("dropped=logit_bias,seed" in line for line in lines), lines


async def test_gemini_media_without_an_equivalent_is_a_400_naming_the_part(localgate, make_fake):
    from google.genai import errors, types

    fake = await make_fake("anthropic", "claude")
    client = await localgate([account("claude", "anthropic", fake.url)])
    audio = types.Part.from_bytes(data=b"RIFF....WAVE", mime_type="audio/wav")
    with pytest.raises(errors.ClientError) as caught:
        await genai_sdk(client).aio.models.generate_content(
            model="claude-sonnet-4-5", contents=["what is said here?", audio]
        )
    assert caught.value.code == 400
    assert "contents[0].parts[1].inlineData: audio/wav" in caught.value.message
    assert not fake.requests


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_media_in_a_gemini_answer_is_a_visible_note_for_other_clients(
    localgate, make_fake, stream
):
    gem = await make_fake("gemini", "gem")
    gem.default = Reply(text="Here it is.", media=[("image/png", "iVBORw0KGgo=")])
    client = await localgate([account("gem", "gemini", gem.url)])
    if stream:
        _, message = await anthropic_stream(client, "gemini-2.5-flash-image")
    else:
        message = await anthropic_sdk(client).messages.create(
            model="gemini-2.5-flash-image", max_tokens=100, messages=HI
        )
    text = "".join(b.text for b in message.content if b.type == "text")
    assert text.startswith("Here it is.")
    assert "[image/png part of the answer left out" in text


async def test_stream_cut_after_its_head_fails_over_unseen(localgate, make_fake):
    client, first, _ = await first_and_second(localgate, make_fake, "anthropic")
    first.script(Cut(after_events=2))  # message_start and an empty text block, then RST
    kinds, message = await anthropic_stream(client, "claude-sonnet-4-5")
    assert message.content[0].text == "Hello from second"
    assert kinds.count("message_start") == 1
    assert "before any content" in pool_status(client, "first").reason


@pytest.mark.parametrize("upstream", ["anthropic", "openai", "gemini"])
async def test_empty_whole_answer_gets_one_retry_too(localgate, make_fake, upstream):
    client, first, second = await first_and_second(localgate, make_fake, upstream)
    first.script(Reply(text=""))
    answer = await openai_sdk(client).chat.completions.create(model=MODELS[upstream], messages=HI)
    assert answer.choices[0].message.content == "Hello from second"
    count = await client.post(
        "/v1/messages/count_tokens", json={"model": "claude-sonnet-4-5", "messages": HI}
    )
    assert count.status in (200, 404)  # a count is no answer: never "empty"
