"""Hostile upstreams: an endless stream event, a huge answer. Bounded work, never a hang.

One event is capped by [server] max_event_mb, a whole answer by max_response_mb;
past a cap the attempt is garbage: another account answers when no byte has
reached the client, the dialect's error event ends the stream otherwise.
"""

from __future__ import annotations

import time

import pytest

from localgate import sse
from localgate.errors import EventTooLarge
from localgate.relay import Passthrough
from tests.fakes import Flood, Reply
from tests.hardening.helpers import assert_dialect_error
from tests.hardening.test_faults import SIDES, pair, solo

MB = 1 << 20
SMALL_CAPS = {"strategy": "fill-first", "max_wait": 0, "max_event_mb": 1, "max_response_mb": 1}


def endless_event(total: int, chunk: int):
    yield b"data: {"
    for _ in range(total // chunk):
        yield b"x" * chunk


@pytest.mark.parametrize("make", [sse.SSEParser, lambda: Passthrough("anthropic")])
def test_parsing_one_long_event_is_linear_in_its_bytes(make, monkeypatch):
    """8 MB in 2 KB chunks: searching the whole held tail for the event's end on each
    chunk would search ~16 GB. Each byte is searched once (and the 3 before a chunk
    again, for a boundary split across chunks): counted, not timed."""
    searched: list[int] = []
    search = sse._boundary_end

    def counting(data, start):
        searched.append(len(data) - start)
        return search(data, start)

    monkeypatch.setattr(sse, "_boundary_end", counting)
    parser = make()
    fed = 0
    for piece in endless_event(8 * MB, 2048):
        parser.feed(piece)
        fed += len(piece)
    assert len(searched) == 8 * MB // 2048 + 1
    assert sum(searched) <= fed + 3 * len(searched)


@pytest.mark.parametrize(
    "make", [sse.SSEParser, lambda limit: Passthrough("anthropic", max_event=limit)]
)
def test_an_event_past_the_cap_is_refused(make):
    parser = make(MB)
    with pytest.raises(EventTooLarge, match="max_event_mb"):
        for piece in endless_event(2 * MB, 4096):
            parser.feed(piece)


def test_boundaries_split_across_chunks_are_found():
    stream = b"data: 1\r\n\r\ndata: 2\n\ndata: 3\r\rdata: 4\n\n"
    for size in range(1, 6):
        parser = sse.SSEParser()
        events = [e for i in range(0, len(stream), size) for e in parser.feed(stream[i : i + size])]
        assert [e.data for e in events] == ["1", "2", "3", "4"], size
        assert not parser.pending


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_endless_event_mid_stream_ends_with_the_dialect_error(localgate, make_fake, side):
    client, fake = await solo(localgate, make_fake, side, server=SMALL_CAPS)
    # Four events carry content in every dialect (Anthropic's first three are its head,
    # held back: an endless event there fails over unseen, see the next test).
    fake.script(Flood(50 * MB, events=4))
    started = time.monotonic()
    resp = await client.post(side.route.path, json=side.body(True))
    text = await resp.read()
    assert resp.status == 200
    assert time.monotonic() - started < 10
    last = [e for e in sse.SSEParser().feed(text)][-1]
    assert "max_event_mb" in last.data, text[-300:]
    assert await fake.wait_disconnects(1) == 1  # the gateway stopped reading it


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_endless_event_before_any_content_fails_over(localgate, make_fake, side):
    client, first, second = await pair(localgate, make_fake, side, server=SMALL_CAPS)
    first.script(Flood(50 * MB, events=1 if side.kind != "gemini" else 0))
    second.script(Reply(text="small and fine", chunks=1))
    resp = await client.post(side.route.path, json=side.body(True))
    assert resp.status == 200
    assert b"small and fine" in await resp.read()
    assert len(first.requests) == 1 and len(second.requests) == 1


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
async def test_huge_answer_fails_over_to_another_account(localgate, make_fake, side, declared):
    client, first, second = await pair(localgate, make_fake, side, server=SMALL_CAPS)
    first.script(Flood(50 * MB, declared=declared))
    second.script(Reply(text="small and fine"))
    resp = await client.post(side.route.path, json=side.body(False))
    assert resp.status == 200
    assert b"small and fine" in await resp.read()
    assert len(first.requests) == 1 and len(second.requests) == 1


@pytest.mark.parametrize("side", SIDES, ids=lambda s: s.kind)
async def test_huge_answer_with_no_other_account_is_502_naming_the_key(localgate, make_fake, side):
    client, fake = await solo(localgate, make_fake, side, server=SMALL_CAPS)
    fake.default = Flood(50 * MB)
    resp = await client.post(side.route.path, json=side.body(False))
    assert resp.status == 502
    body = assert_dialect_error(side.kind, 502, await resp.read())
    assert "max_response_mb" in str(body)


async def test_a_translated_answer_near_the_cap_is_served(localgate, make_fake):
    # Answers under the cap are served whole, translated, with the body released as read.
    fake = await make_fake("anthropic", "ant")
    from tests.support import account

    client = await localgate([account("ant", "anthropic", fake.url)], server={"max_response_mb": 2})
    fake.script(Reply(text="y" * (MB + MB // 2)))
    resp = await client.post(
        "/v1/chat/completions",
        json={"model": "claude-opus-4-8", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["choices"][0]["message"]["content"] == "y" * (MB + MB // 2)


async def test_a_huge_model_listing_is_not_read_whole(localgate):
    # GET /v1/models asks each upstream for its list: the same cap holds there.
    from tests.fakes.flood import flooding
    from tests.support import account

    head = b'{"data": [{"id": "claude-opus-4-8", "pad": "'
    async with flooding("/v1/models", 5 * MB, head=head, tail=b'"}]}') as (url, _):
        client = await localgate([account("ant", "anthropic", url)], server={"max_response_mb": 1})
        resp = await client.get("/v1/models")
        assert resp.status == 200
        ids = [m["id"] for m in (await resp.json())["data"]]
        assert "claude-opus-4-8" not in ids  # the 5 MB listing was refused, not parsed


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
async def test_a_huge_json_media_answer_fails_over(localgate, make_fake, declared):
    # A media route reads the first bytes to tell a file from JSON; the rest of a
    # JSON answer is capped like any whole answer.
    from tests.server.test_media import two

    client, first, second = await two(localgate, make_fake, max_response_mb=1)
    first.script(Flood(50 * MB, declared=declared))
    resp = await client.post(
        "/v1/images/generations", json={"model": "gpt-image-1", "prompt": "a red fox"}
    )
    assert resp.status == 200
    assert (await resp.json())["data"][0]["b64_json"]
    assert len(first.requests) == 1 and len(second.requests) == 1
