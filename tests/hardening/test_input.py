"""Bad input on every route: a clear error in the route's dialect, never a 500, never upstream."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.hardening.helpers import (
    COMPLETIONS,
    COUNT,
    GENERATE,
    JSON,
    MESSAGES,
    POST_ROUTES,
    assert_dialect_error,
    start,
    upstream_calls,
)
from tests.hardening.test_hostile_json import door_cases


def bad_bodies(route) -> list[tuple[str, bytes]]:
    """(what, raw body) pairs every route must refuse with 400."""
    cases = [
        ("empty", b""),
        ("not json", b"{model: claude"),
        ("truncated", json.dumps(route.body).encode()[:-3]),
        ("array", b"[1, 2]"),
        ("string", b'"hello"'),
        ("null", b"null"),
        ("invalid utf-8", b'{"model": "\xff\xfe", "messages": []}'),
        ("nan", b'{"model": NaN}'),
    ]
    cases += door_cases(route)  # parse in Python, but are not JSON any API takes
    if route.dialect != "gemini":
        base = route.body
        cases += [
            ("model missing", _dump({k: v for k, v in base.items() if k != "model"})),
            ("model a number", _dump({**base, "model": 42})),
            ("model a list", _dump({**base, "model": ["claude-opus-4-8"]})),
            ("messages missing", _dump({k: v for k, v in base.items() if k != "messages"})),
            ("messages an object", _dump({**base, "messages": {"role": "user"}})),
            ("stream a string", _dump({**base, "stream": "yes"})),
        ]
    if route is MESSAGES:
        cases += [
            (
                "max_tokens missing",
                _dump({k: v for k, v in MESSAGES.body.items() if k != "max_tokens"}),
            ),
            ("max_tokens a string", _dump({**MESSAGES.body, "max_tokens": "10"})),
            ("max_tokens a boolean", _dump({**MESSAGES.body, "max_tokens": True})),
        ]
    return cases


def _without(body: dict, key: str) -> dict:
    return {k: v for k, v in body.items() if k != key}


def _dump(body: dict) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: r.path)
async def test_malformed_bodies_are_400_in_dialect(localgate, make_fake, route):
    client, fakes = await start(localgate, make_fake)
    for what, raw in bad_bodies(route):
        resp = await client.post(route.path, data=raw, headers=JSON)
        assert resp.status == 400, what
        assert_dialect_error(route.dialect, 400, await resp.read())
    assert upstream_calls(fakes) == 0


@pytest.mark.parametrize("route", [MESSAGES, COUNT, COMPLETIONS], ids=lambda r: r.path)
async def test_unknown_model_is_404_in_dialect(localgate, make_fake, route):
    client, fakes = await start(localgate, make_fake)
    resp = await client.post(route.path, json={**route.body, "model": "no-such-model-9"})
    assert resp.status == 404
    body = assert_dialect_error(route.dialect, 404, await resp.read())
    assert "no-such-model-9" in json.dumps(body)
    assert upstream_calls(fakes) == 0


async def test_unknown_routes_and_methods_in_dialect(localgate, make_fake):
    client, fakes = await start(localgate, make_fake)
    resp = await client.post("/v1/nothing", json={})
    assert resp.status == 404
    assert_dialect_error("openai", 404, await resp.read())
    resp = await client.get("/v1/messages")
    assert resp.status == 405 or resp.status == 400
    assert_dialect_error("anthropic", resp.status, await resp.read())
    resp = await client.post("/v1beta/models/gemini-2.5-flash:explode", json=GENERATE.body)
    assert resp.status == 404
    assert_dialect_error("gemini", 404, await resp.read())
    assert upstream_calls(fakes) == 0


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: r.path)
async def test_body_over_the_limit_is_413(localgate, make_fake, route):
    client, fakes = await start(localgate, make_fake, server={"max_body_mb": 0.01})
    big = _dump({**route.body, "padding": "x" * 20_000})
    resp = await client.post(route.path, data=big, headers=JSON)
    assert resp.status == 413
    body = assert_dialect_error(route.dialect, 413, await resp.read())
    assert "max_body_mb" in json.dumps(body)
    assert upstream_calls(fakes) == 0


@pytest.mark.parametrize("route", [MESSAGES, COMPLETIONS], ids=lambda r: r.path)
async def test_chunked_body_over_the_limit_is_413(localgate, make_fake, route):
    client, fakes = await start(localgate, make_fake, server={"max_body_mb": 0.01})

    async def chunks():
        yield b'{"model": "claude-opus-4-8", "padding": "'
        for _ in range(40):
            yield b"x" * 1000
        yield b'"}'

    resp = await client.post(route.path, data=chunks(), headers=JSON)
    assert resp.status == 413
    assert_dialect_error(route.dialect, 413, await resp.read())
    assert upstream_calls(fakes) == 0


async def test_body_within_the_limit_passes(localgate, make_fake):
    client, fakes = await start(localgate, make_fake, server={"max_body_mb": 0.01})
    resp = await client.post(MESSAGES.path, json={**MESSAGES.body, "pad": "x" * 5000})
    assert resp.status == 200


async def raw_exchange(client, request: bytes, *, then: bytes = b"", pause: float = 0) -> bytes:
    """Send raw bytes on a fresh connection; return all the server answered until it closed."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        if pause:
            await asyncio.sleep(pause)
        if then:
            writer.write(then)
            await writer.drain()
        return await asyncio.wait_for(reader.read(1 << 20), 5)
    finally:
        writer.close()


async def test_slow_body_times_out_with_408(localgate, make_fake):
    client, fakes = await start(localgate, make_fake, server={"body_timeout": 0.3})
    body = _dump(MESSAGES.body)
    head = (
        f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Half the body, then silence: a slowloris client.
    answer = await raw_exchange(client, head + body[:10])
    assert loop.time() - started < 3
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 408 " in status_line
    payload = rest.split(b"\r\n\r\n", 1)[1]
    assert_dialect_error("anthropic", 408, payload)
    assert upstream_calls(fakes) == 0


async def test_huge_headers_get_a_clean_4xx(localgate, make_fake):
    client, fakes = await start(localgate, make_fake)
    for headers in ({"x-big": "a" * 70_000}, {f"x-h{i}": "v" for i in range(300)}):
        resp = await client.post(MESSAGES.path, json=MESSAGES.body, headers=headers)
        assert 400 <= resp.status < 500, resp.status
    head = (
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    )
    answer = await raw_exchange(client, head)
    assert answer[:10] in (b"HTTP/1.0 4", b"HTTP/1.1 4"), answer[:80]
    assert upstream_calls(fakes) == 0
    # The server is still fine afterwards.
    assert (await client.post(MESSAGES.path, json=MESSAGES.body)).status == 200


async def test_garbage_request_line_gets_a_clean_4xx(localgate, make_fake):
    client, fakes = await start(localgate, make_fake)
    for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", b"GARBAGE\r\n\r\n"):
        answer = await raw_exchange(client, junk)
        assert answer == b"" or answer[:10] in (b"HTTP/1.0 4", b"HTTP/1.1 4"), answer[:80]
    assert upstream_calls(fakes) == 0
    assert (await client.get("/health")).status == 200
