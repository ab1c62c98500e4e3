"""Same-dialect serving: bodies forwarded untouched, streams relayed, SDKs happy."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading

import anthropic
import pytest

from localgate.events import RequestDone
from localgate.gateway import _deliver
from localgate.server.keys import GATEWAY
from tests.fakes import Reply, ToolCall
from tests.sdks import anthropic_sdk, openai_sdk
from tests.support import account

CLAUDE_CODE_FIXTURE = "/work/shared/fixtures/claude-code-2.1.197-messages-request.json"


async def test_anthropic_sdk_non_streaming(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    message = await anthropic_sdk(client).messages.create(
        model="claude-opus-4-8", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == "Hello from work"
    sent = work.requests[-1]
    assert sent.headers["x-api-key"] == "sk-test-work-secret"
    assert "client-key-not-forwarded" not in json.dumps(sent.headers)
    # The client's own API version goes upstream, not a default of ours.
    assert (
        sent.headers["anthropic-version"]
        == anthropic.AsyncAnthropic(api_key="x").default_headers["anthropic-version"]
    )


async def test_body_is_forwarded_byte_for_byte(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    raw = (
        b'{"model":"claude-opus-4-8", "max_tokens": 5,'
        b'"messages":[{"role":"user","content":"x"}],"new_field_2027":{"a":1}}'
    )
    resp = await client.post("/v1/messages", data=raw, headers={"content-type": "application/json"})
    assert resp.status == 200
    assert work.requests[-1].body == raw
    assert resp.headers["x-localgate-account"] == "work"
    assert resp.headers["x-model-used"] == "claude-opus-4-8"
    assert resp.headers["x-request-id"].startswith("req_")


async def test_claude_code_request_streams_through(localgate, make_fake):
    """The captured Claude Code request: ?beta=true, betas, thinking, tools — relayed as is."""
    with open(CLAUDE_CODE_FIXTURE) as f:
        fixture = json.load(f)
    work = await make_fake("anthropic", "work")
    work.script(
        Reply(
            text="pong",
            thinking="the user wants pong",
            tool_calls=[ToolCall("Bash", {"command": "echo hi"})],
        )
    )
    client = await localgate([account("work", "anthropic", work.url)])
    headers = {
        k: v
        for k, v in fixture["headers"].items()
        if k.lower() not in ("connection", "accept-encoding")
    }
    raw = json.dumps(fixture["body"]).encode()
    resp = await client.post(fixture["path"], data=raw, headers=headers)
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    text = (await resp.read()).decode()
    events = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "thinking_delta" in text and "input_json_delta" in text
    sent = work.requests[-1]
    assert sent.body == raw
    assert sent.query.get("beta") is None or sent.path.startswith("/v1/messages")
    assert sent.headers["anthropic-beta"] == fixture["headers"]["anthropic-beta"]


async def test_anthropic_sdk_streams_tools_and_thinking(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    work.script(Reply(text="done", thinking="hmm", tool_calls=[ToolCall("get", {"q": "x"})]))
    client = await localgate([account("work", "anthropic", work.url)])
    async with anthropic_sdk(client).messages.stream(
        model="claude-opus-4-8", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        message = await stream.get_final_message()
    kinds = [block.type for block in message.content]
    assert kinds == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"q": "x"}
    assert message.stop_reason == "tool_use"


async def test_openai_sdk_non_streaming_and_streaming(localgate, make_fake):
    oai = await make_fake("openai", "oai")
    client = await localgate([account("oai", "openai", oai.url)])
    sdk = openai_sdk(client)
    completion = await sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "Hello from oai"
    assert oai.requests[-1].headers["authorization"] == "Bearer sk-test-oai-secret"
    chunks = [
        c
        async for c in await sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    ]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from oai"
    assert chunks[-1].usage is not None


async def test_openai_stream_tool_calls(localgate, make_fake):
    oai = await make_fake("openai", "oai")
    oai.script(Reply(text="", tool_calls=[ToolCall("lookup", {"city": "Paris"})]))
    client = await localgate([account("oai", "openai", oai.url)])
    stream = await openai_sdk(client).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather?"}], stream=True
    )
    arguments = ""
    async for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            arguments += call.function.arguments or ""
    assert json.loads(arguments) == {"city": "Paris"}


async def test_count_tokens_relayed(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    count = await anthropic_sdk(client).messages.count_tokens(
        model="claude-opus-4-8", messages=[{"role": "user", "content": "hello there"}]
    )
    assert count.input_tokens > 0
    assert work.requests[-1].path == "/v1/messages/count_tokens"


@pytest.mark.parametrize("anthropic_shape", [True, False])
async def test_models_listing(localgate, make_fake, anthropic_shape):
    work = await make_fake("anthropic", "work")
    client = await localgate(
        [account("work", "anthropic", work.url)], aliases={"fast": ["claude-haiku-4-5"]}
    )
    headers = {"anthropic-version": "2023-06-01"} if anthropic_shape else {}
    resp = await client.get("/v1/models", headers=headers)
    body = await resp.json()
    ids = [m["id"] for m in body["data"]]
    assert "fast" in ids and any(i.startswith("claude-") for i in ids)
    if anthropic_shape:
        assert body["data"][0]["type"] == "model"
    else:
        assert body["object"] == "list"


async def test_usage_read_from_passing_stream(localgate, make_fake):
    from localgate.events import RequestDone
    from localgate.server.app import GATEWAY

    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    seen = []
    client.app[GATEWAY].events.subscribe(
        lambda e: seen.append(e) if isinstance(e, RequestDone) else None
    )
    async with anthropic_sdk(client).messages.stream(
        model="claude-opus-4-8", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = await stream.get_final_message()
    assert seen[-1].usage.output_tokens == final.usage.output_tokens > 0
    assert seen[-1].usage.input_tokens == final.usage.input_tokens


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")], ids=["spaced", "compact"])
async def test_thinking_signed_by_another_upstream_is_dropped_toward_anthropic(
    localgate, make_fake, separators
):
    """After a fallback through Gemini, Claude Code's history holds foreign signatures
    (compact, as Claude Code writes it, the body's top level alone is read)."""
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    history = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "t", "signature": "localgate:gemini:abc"},
                {"type": "text", "text": "hello"},
            ],
        },
        {"role": "user", "content": "again"},
    ]
    body = {"model": "claude-opus-4-8", "max_tokens": 10, "messages": history}
    raw = json.dumps(body, separators=separators).encode()
    resp = await client.post("/v1/messages", data=raw, headers={"content-type": "application/json"})
    assert resp.status == 200
    sent = work.requests[-1].json["messages"][1]["content"]
    assert sent == [{"type": "text", "text": "hello"}]


async def test_openai_streams_are_counted_though_the_client_asks_no_usage(localgate, make_fake):
    """The upstream is asked for its usage chunk; the client, who did not ask, never sees it."""
    from localgate.events import RequestDone
    from localgate.server.app import GATEWAY

    oai = await make_fake("openai", "oai")
    client = await localgate([account("oai", "openai", oai.url)])
    seen = []
    client.app[GATEWAY].events.subscribe(
        lambda e: seen.append(e) if isinstance(e, RequestDone) else None
    )
    hi = [{"role": "user", "content": "hi"}]
    stream = await openai_sdk(client).chat.completions.create(
        model="gpt-4o-mini", messages=hi, stream=True
    )
    chunks = [c async for c in stream]
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from oai"
    )
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert oai.requests[-1].json["stream_options"] == {"include_usage": True}
    assert seen[-1].usage.output_tokens > 0 and seen[-1].usage.input_tokens > 0

    # A client that asks gets the chunk, and its body goes upstream byte for byte.
    raw = json.dumps(
        {
            "model": "gpt-4o-mini",
            "messages": hi,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    resp = await client.post(
        "/v1/chat/completions", data=raw, headers={"content-type": "application/json"}
    )
    text = await resp.text()
    assert oai.requests[-1].body == raw
    assert '"choices":[]' in text.replace(" ", "") and '"usage"' in text
    assert seen[-1].usage.output_tokens > 0


def test_drop_usage_chunks_keeps_everything_else():
    from localgate.dialects.openai import drop_usage_chunks

    content = b'data: {"choices":[{"index":0,"delta":{"content":"usage"}}]}\n\n'
    usage = b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    both = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"x":1}}\n\n'
    done = b"data: [DONE]\n\n"
    assert drop_usage_chunks(content + usage + done) == content + done
    assert drop_usage_chunks(usage) == b""
    assert drop_usage_chunks(both + done) == both + done  # usage beside choices stays
    assert drop_usage_chunks(b'data: {"usage": broken\n\n') == b'data: {"usage": broken\n\n'
    crlf = [e.replace(b"\n", b"\r\n") for e in (content, usage, done)]
    assert drop_usage_chunks(b"".join(crlf)) == crlf[0] + crlf[2]


async def test_an_upstreams_cookie_is_never_sent_back(localgate, make_fake):
    """Cookies an API sets (Cloudflare's on api.openai.com and api.anthropic.com) are not
    kept: they would ride along on every later request to that host, other accounts'
    included. (`localhost`, not 127.0.0.1: cookie jars refuse IP hosts on their own.)"""
    up = await make_fake("anthropic", "up")
    url = up.url.replace("127.0.0.1", "localhost")
    client = await localgate([account("one", "anthropic", url), account("two", "anthropic", url)])
    up.default = Reply(headers={"set-cookie": "__cf_bm=tracking; Path=/"})
    body = {
        "model": "claude-opus-4-8",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    for _ in range(3):
        resp = await client.post("/v1/messages", json=body)
        assert resp.status == 200
    assert len(up.requests) == 3
    assert [r.headers.get("cookie") for r in up.requests] == [None, None, None]


async def test_the_client_has_its_answer_before_the_bookkeeping(localgate, make_fake):
    """The answer is on the wire before the request's event (log line, ledger row):
    a client reading on its own thread has it while the observer still runs."""
    oai = await make_fake("openai", "oai")
    client = await localgate([account("oai", "openai", oai.url)])
    answered, seen = threading.Event(), []

    def observe(event):
        if isinstance(event, RequestDone):
            # Blocks the loop: only an answer written before the event can reach the client.
            seen.append(answered.wait(10))

    client.app[GATEWAY].events.subscribe(observe)

    def ask() -> bytes:
        conn = http.client.HTTPConnection(client.server.host, client.server.port, timeout=30)
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        conn.request(
            "POST", "/v1/chat/completions", json.dumps(body), {"content-type": "application/json"}
        )
        answer = conn.getresponse().read()
        answered.set()
        conn.close()
        return answer

    answer = await asyncio.to_thread(ask)
    assert json.loads(answer)["choices"][0]["message"]["content"] == "Hello from oai"
    assert seen == [True]


async def test_a_client_gone_before_its_answer_is_written_is_recorded_gone():
    class Gone:
        async def prepare(self, request):
            raise ConnectionResetError("Cannot write to closing transport")

    record = RequestDone("req_1", "openai", "chat", "m", False, 0, 0.0, 0.0)
    await _deliver(Gone(), None, record)
    assert record.client_gone
