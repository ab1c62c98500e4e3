"""A test per upstream fault: what the client sees, in its dialect, and what localgate does."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass

import pytest

from tests.fakes import Cut, Delay, Error, Garbage, Hang, Reply
from tests.hardening.helpers import COMPLETIONS, MESSAGES, assert_dialect_error
from tests.support import account


@dataclass(frozen=True)
class Side:
    """One dialect, served by its own kind of fake upstream."""

    kind: str  # fake kind = provider = dialect
    route: object
    first_event: bytes  # once per stream, however many attempts were made

    def body(self, stream: bool) -> dict:
        return self.route.stream_body if stream else self.route.body


ANTHROPIC = Side("anthropic", MESSAGES, b"event: message_start")
OPENAI = Side("openai", COMPLETIONS, b'"role":"assistant"')
SIDES = [ANTHROPIC, OPENAI]
NO_WAIT = {"strategy": "fill-first", "max_wait": 0}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def solo(localgate, make_fake, side: Side, **tables):
    fake = await make_fake(side.kind, "solo")
    tables.setdefault("server", NO_WAIT)
    client = await localgate([account("solo", side.kind, fake.url)], **tables)
    return client, fake


async def pair(localgate, make_fake, side: Side, first_url: str | None = None, **tables):
    """Two accounts, the first preferred; `first_url` replaces the first fake's URL."""
    first = await make_fake(side.kind, "first")
    second = await make_fake(side.kind, "second")
    tables.setdefault("server", NO_WAIT)
    client = await localgate(
        [
            account("first", side.kind, first_url or first.url, priority=10),
            account("second", side.kind, second.url),
        ],
        **tables,
    )
    return client, first, second


def stream_error_event(side: Side, text: bytes) -> dict:
    """The error event a broken stream ended with, parsed."""
    events = [e for e in text.split(b"\n\n") if e.strip()]
    last = events[-1]
    if side is ANTHROPIC:
        assert last.startswith(b"event: error"), text[-300:]
    data = json.loads(last.split(b"data: ", 1)[1])
    assert "error" in data, data
    return data


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_refused_connection_fails_over_then_502(localgate, make_fake, side, stream):
    dead = f"http://127.0.0.1:{closed_port()}" + ("/v1" if side is OPENAI else "")
    client, first, second = await pair(localgate, make_fake, side, first_url=dead)
    resp = await client.post(side.route.path, json=side.body(stream))
    assert resp.status == 200 and resp.headers["x-localgate-account"] == "second"
    await resp.read()
    # Only the dead account: a 502 in dialect naming the cause.
    second.default = Error(500, "down too")
    resp = await client.post(side.route.path, json=side.body(stream))
    assert resp.status == 502
    assert_dialect_error(side.kind, 502, await resp.read())


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_reset_before_headers_fails_over(localgate, make_fake, side):
    client, first, second = await pair(localgate, make_fake, side)
    first.script(Cut(after_events=0))
    resp = await client.post(side.route.path, json=side.body(False))
    assert resp.status == 200 and b"Hello from second" in await resp.read()
    assert len(first.requests) == 1


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_reset_mid_body_fails_over(localgate, make_fake, side):
    client, first, second = await pair(localgate, make_fake, side)
    first.script(Cut(after_events=1))  # non-stream: half the JSON body, then RST
    resp = await client.post(side.route.path, json=side.body(False))
    assert resp.status == 200 and b"Hello from second" in await resp.read()


async def test_tls_error_fails_over(localgate, make_fake):
    plain = await make_fake("anthropic", "plain")  # speaks HTTP; we will talk TLS to it
    https_url = plain.url.replace("http://", "https://")
    client, first, second = await pair(localgate, make_fake, ANTHROPIC, first_url=https_url)
    resp = await client.post(MESSAGES.path, json=MESSAGES.body)
    assert resp.status == 200 and b"Hello from second" in await resp.read()


async def test_dns_error_fails_over(localgate, make_fake, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "upstream.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client, first, second = await pair(
        localgate, make_fake, ANTHROPIC, first_url="http://upstream.invalid:9"
    )
    resp = await client.post(MESSAGES.path, json=MESSAGES.body)
    assert resp.status == 200 and b"Hello from second" in await resp.read()


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
@pytest.mark.parametrize(
    "garbage",
    [
        Garbage(200, b"<html><body>Welcome to nginx</body></html>"),
        Garbage(502, b"<html><h1>502 Bad Gateway</h1></html>"),
        Garbage(200, b'{"unterminated": '),
        Garbage(200, b"[1,2,3]", content_type="application/json"),
    ],
    ids=["html-200", "html-502", "truncated-json", "json-array"],
)
async def test_garbage_is_502_in_dialect(localgate, make_fake, side, garbage):
    client, fake = await solo(localgate, make_fake, side)
    fake.default = garbage
    resp = await client.post(side.route.path, json=side.body(False))
    assert resp.status == 502
    body = assert_dialect_error(side.kind, 502, await resp.read())
    assert "solo" in json.dumps(body)  # names the account that misbehaved


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_mid_stream_cut_ends_with_error_event_and_no_duplicate(localgate, make_fake, side):
    client, first, second = await pair(localgate, make_fake, side)
    # Four events carry content in every dialect (Anthropic's first three are its head).
    first.script(Cut(after_events=4, reply=Reply(text="abcdefgh", chunks=4)))
    resp = await client.post(side.route.path, json=side.body(True))
    text = await resp.read()
    assert resp.status == 200
    stream_error_event(side, text)
    assert text.count(side.first_event) == 1
    assert len(second.requests) == 0  # never retried once bytes were out


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_slow_first_byte_is_504_in_dialect(localgate, make_fake, side):
    client, fake = await solo(localgate, make_fake, side, timeouts={"first_byte": 0.2})
    fake.default = Delay(3)
    started = time.monotonic()
    resp = await client.post(side.route.path, json=side.body(True))
    assert resp.status == 504
    assert_dialect_error(side.kind, 504, await resp.read())
    assert time.monotonic() - started < 2


async def test_slow_whole_answer_is_504(localgate, make_fake):
    client, fake = await solo(localgate, make_fake, ANTHROPIC, timeouts={"response": 0.2})
    fake.default = Delay(3)
    resp = await client.post(MESSAGES.path, json=MESSAGES.body)
    assert resp.status == 504
    assert_dialect_error("anthropic", 504, await resp.read())


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_stalled_stream_ends_on_idle_timeout(localgate, make_fake, side):
    client, fake = await solo(localgate, make_fake, side, timeouts={"idle": 0.3})
    fake.default = Reply(text="abcdef", chunks=3, gap=5)
    started = time.monotonic()
    resp = await client.post(side.route.path, json=side.body(True))
    text = await resp.read()
    assert time.monotonic() - started < 3
    if side.kind == "gemini":  # its first chunk is content: the client was reading
        error = stream_error_event(side, text)
    else:  # a stall after the head only: nothing reached the client, a 504 says so
        assert resp.status == 504
        error = assert_dialect_error(side.kind, 504, text)
    assert "stalled" in json.dumps(error)
    assert await fake.wait_disconnects(1) == 1  # and the upstream request was dropped


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_429_storm_across_all_accounts_is_429_with_retry_after(localgate, make_fake, side):
    client, first, second = await pair(localgate, make_fake, side)
    first.default = Error(429, "slow down", headers={"retry-after": "40"})
    second.default = Error(429, "slow down", headers={"retry-after": "20"})
    for _ in range(3):
        resp = await client.post(side.route.path, json=side.body(False))
        assert resp.status == 429
        assert 19 <= int(resp.headers["retry-after"]) <= 40
        assert_dialect_error(side.kind, 429, await resp.read())
    # Cooling accounts are not hammered: each was asked once.
    assert len(first.requests) == 1 and len(second.requests) == 1


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
@pytest.mark.parametrize("status", [500, 503, 529])
async def test_5xx_storm_across_all_accounts_is_an_error_in_dialect(
    localgate, make_fake, side, status
):
    client, first, second = await pair(localgate, make_fake, side)
    first.default = second.default = Error(status, "broken", headers={})
    resp = await client.post(side.route.path, json=side.body(True))
    assert resp.status in (502, 503, 429)
    assert_dialect_error(side.kind, resp.status, await resp.read())
    assert len(first.requests) == 1 and len(second.requests) == 1


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_client_disconnect_closes_upstream_within_a_second(
    localgate, make_fake, side, stream
):
    client, fake = await solo(localgate, make_fake, side)
    fake.default = Hang() if not stream else Reply(text="x" * 100, chunks=100, gap=0.05)
    request = asyncio.ensure_future(client.post(side.route.path, json=side.body(stream)))
    if stream:
        resp = await request
        await resp.content.readany()
        resp.close()
    else:
        deadline = time.monotonic() + 30
        while not fake.requests:  # the upstream has it, and hangs
            assert time.monotonic() < deadline, "the request never reached the upstream"
            await asyncio.sleep(0.01)
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
    started = time.monotonic()
    assert await fake.wait_disconnects(1, timeout=1.0) == 1
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_garbage_instead_of_a_stream_fails_over(localgate, make_fake, side):
    client, first, second = await pair(localgate, make_fake, side)
    first.script(Garbage(200, b"<html><body>captive portal</body></html>"))
    resp = await client.post(side.route.path, json=side.body(True))
    assert resp.status == 200
    assert resp.headers["x-localgate-account"] == "second"
    text = await resp.read()
    assert text.count(side.first_event) == 1 and b"captive" not in text, text[-300:]
    assert len(first.requests) == 1 and len(second.requests) == 1


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_json_instead_of_a_stream_with_no_other_account_is_502(localgate, make_fake, side):
    client, fake = await solo(localgate, make_fake, side)
    fake.script(Garbage(200, b'{"ok": true}', content_type="application/json"))
    resp = await client.post(side.route.path, json=side.body(True))
    assert resp.status == 502
    body = assert_dialect_error(side.kind, 502, await resp.read())
    assert "application/json" in json.dumps(body)


@pytest.mark.parametrize(
    ("content_type", "first", "stream"),
    [
        ("text/event-stream; charset=utf-8", b"<html>", True),  # the declared type settles it
        ("", b"data: {}\n\n", True),
        ("application/octet-stream", b"event: ping\n", True),
        ("", b"\xef\xbb\xbf: comment\n\n", True),
        ("", b"da", True),  # a first chunk cut inside the field name
        ("text/html", b"<html>oops</html>", False),
        ("application/json", b'{"choices": []}', False),
        ("", b"\r\n", False),
    ],
)
def test_is_event_stream(content_type, first, stream):
    from localgate.relay import is_event_stream

    assert is_event_stream(content_type, first) is stream


async def test_client_gone_before_the_stream_headers_is_not_an_error():
    """The soak found it: a client leaving just as the stream is committed was a 500."""
    from aiohttp.client_exceptions import ClientConnectionResetError

    from localgate.events import RequestDone
    from localgate.relay import Passthrough, relay_stream

    class Upstream:
        closed = released = False

        def close(self):
            self.closed = True

        def release(self):
            self.released = True

    class Response:
        async def prepare(self, request):
            raise ClientConnectionResetError("Cannot write to closing transport")

    upstream = Upstream()
    record = RequestDone("r", "anthropic", "messages", "m", True, 0, 0.0, 0.0)
    await relay_stream(upstream, b"event: ping\ndata: {}\n\n", Passthrough("anthropic"),
                       Response(), None, record)  # fmt: skip
    assert record.client_gone and upstream.closed and not upstream.released
