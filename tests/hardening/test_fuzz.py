"""Hypothesis against every route's body and headers: no 500, dialect-shaped errors,
and nothing localgate refuses ever reaches an upstream.

localgate and its fakes run on an event loop in a thread, so hypothesis drives
plain blocking HTTP at them, one example after another on the same server.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FAKES
from tests.hardening.helpers import (
    ANTHROPIC_KEY,
    FUZZED_ROUTES,
    GET_PATHS,
    OPENAI_KEY,
    POST_ROUTES,
    assert_dialect_error,
)
from tests.support import account, write_config

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MODELS = ["claude-opus-4-8", "gpt-4o", "gemini-2.5-flash", "no-such-model", ""]


class LiveServer:
    """localgate on 127.0.0.1 with Anthropic and OpenAI fakes, served from a thread."""

    def __init__(self, config_path):
        self.config_path = config_path
        self.loop = asyncio.new_event_loop()
        self.fakes = []
        self.port = 0
        self._runner = None

    def start(self) -> None:
        ready = threading.Event()
        thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        thread.start()
        assert ready.wait(10), "localgate did not start"
        self.thread = thread

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._setup())
        ready.set()
        self.loop.run_forever()

    async def _setup(self) -> None:
        from aiohttp import web

        from localgate.config import load_config
        from localgate.server.app import create_app

        for kind in ("anthropic", "openai"):
            fake = FAKES[kind](name=kind)
            await fake.start()
            self.fakes.append(fake)
        ant, oai = self.fakes
        write_config(
            self.config_path,
            [
                account("ant", "anthropic", ant.url, key=ANTHROPIC_KEY),
                account("oai", "openai", oai.url, key=OPENAI_KEY),
            ],
            server={"max_body_mb": 0.05, "body_timeout": 2},
        )
        app = create_app(load_config(self.config_path))
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        async def teardown():
            await self._runner.cleanup()
            for fake in self.fakes:
                await fake.close()

        asyncio.run_coroutine_threadsafe(teardown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    @property
    def upstream_calls(self) -> int:
        return sum(len(fake.requests) for fake in self.fakes)

    def request(self, method: str, path: str, body: bytes | None, headers: dict):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()


@pytest.fixture
def server(config_path):
    live = LiveServer(config_path)
    live.start()
    yield live
    live.stop()


def check(server, route_dialect: str, method: str, path: str, body, headers) -> None:
    before = server.upstream_calls
    status, answer_headers, raw = server.request(method, path, body, headers)
    assert status != 500, raw[:300]
    if status < 400:
        return
    lower = {k.lower(): v for k, v in answer_headers.items()}
    if "x-localgate-account" in lower:
        return  # the upstream's own error, relayed untouched
    assert_dialect_error(route_dialect, status, raw)
    if status < 500 and status != 429:
        assert server.upstream_calls == before, (status, raw[:300])


# -- strategies ---------------------------------------------------------------------

# Surrogates included: json.dumps escapes them, and a lone one must be a 400.
text = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated(draw, route) -> bytes:
    """A route's valid body with fields replaced, dropped or added."""
    body = dict(route.body)
    for key in draw(st.lists(st.sampled_from([*route.body, "model", "stream", "x"]), max_size=3)):
        action = draw(st.sampled_from(["drop", "replace", "model"]))
        if action == "drop":
            body.pop(key, None)
        elif action == "model":
            body["model"] = draw(st.sampled_from(MODELS) | text)
        else:
            body[key] = draw(json_values)
    return json.dumps(body).encode()


def bodies(route):
    return st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        mutated(route),
        st.just(json.dumps(route.body).encode()).map(lambda b: b[: len(b) // 2]),
    )


header_names = st.sampled_from(
    [
        "Host",
        "Origin",
        "Content-Type",
        "Authorization",
        "x-api-key",
        "x-goog-api-key",
        "anthropic-version",
        "anthropic-beta",
        "x-claude-code-session-id",
        "Sec-Fetch-Site",
        "Accept-Encoding",
        "Transfer-Encoding",
        "X-Whatever",
    ]
)
# http.client sends str headers as latin-1; keep to what it can put on the wire.
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
headers = st.dictionaries(header_names, header_values, max_size=4)


@pytest.mark.parametrize("route", FUZZED_ROUTES, ids=lambda r: r.path)
def test_fuzz_bodies(server, route):
    @FUZZ
    @given(body=bodies(route))
    def run(body):
        check(server, route.dialect, "POST", route.path, body, {"Content-Type": "application/json"})

    run()


@pytest.mark.parametrize("route", FUZZED_ROUTES, ids=lambda r: r.path)
def test_fuzz_headers(server, route):
    @settings(FUZZ, max_examples=100)
    @given(extra=headers, body=st.one_of(st.just(route.body), st.none()))
    def run(extra, body):
        raw = json.dumps(body).encode() if body is not None else b""
        sent = {"Content-Type": "application/json", **extra}
        sent.pop("Transfer-Encoding", None)  # a framing lie desyncs the connection itself
        check(server, route.dialect, "POST", route.path, raw, sent)

    run()


def test_fuzz_get_routes_and_queries(server):
    @settings(FUZZ, max_examples=80)
    @given(
        path=st.sampled_from([*GET_PATHS, "/", "/v1/messages", "/nope"]),
        query=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30),
        extra=headers,
    )
    def run(path, query, extra):
        extra.pop("Transfer-Encoding", None)
        from urllib.parse import quote

        target = path + "?" + quote(query, safe="=&")
        from localgate.server.guard import dialect_for_path

        # Model lookups answer in the shape of the SDK their headers betray.
        dialect = dialect_for_path(path, extra)
        check(server, dialect, "GET", target, None, extra)

    run()


LONE = "\\ud800"  # a JSON escape of half a surrogate pair
PAIR = "\\ud83d\\ude00"  # an emoji, as Python's json.dumps escapes it


def with_text(route, text_escape: str, model: str | None = None) -> bytes:
    """The route's valid body, its prompt replaced by a raw JSON string escape."""
    body = dict(route.body)
    if model is not None:
        body["model"] = model
    raw = json.dumps(body).replace('"hi"', f'"hi {text_escape}"')
    assert text_escape in raw
    return raw.encode()


@pytest.mark.parametrize(
    ("route", "model"),
    [(r, None) for r in POST_ROUTES] + [(POST_ROUTES[2], "claude-opus-4-8")],
    ids=lambda v: getattr(v, "path", v),
)
def test_lone_surrogate_is_a_400_in_dialect(server, route, model):
    before = server.upstream_calls
    status, _, body = server.request(
        "POST", route.path, with_text(route, LONE, model), {"Content-Type": "application/json"}
    )
    assert status == 400, body
    error = assert_dialect_error(route.dialect, status, body)
    assert "surrogate" in json.dumps(error)
    assert server.upstream_calls == before


@pytest.mark.parametrize("model", ["claude-opus-4-8", "gpt-4o"], ids=["translated", "passthrough"])
def test_paired_surrogate_escapes_are_served(server, model):
    route = POST_ROUTES[2]  # /v1/chat/completions
    status, _, body = server.request(
        "POST", route.path, with_text(route, PAIR, model), {"Content-Type": "application/json"}
    )
    assert status == 200, body
    sent = server.fakes[0 if model.startswith("claude") else 1].requests[-1].json
    assert "hi \U0001f600" in json.dumps(sent, ensure_ascii=False)
