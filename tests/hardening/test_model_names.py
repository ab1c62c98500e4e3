"""Model names as an attack surface: refused at the door, bounded in the cache, cut in the log."""

from __future__ import annotations

import io
import json

import pytest

from localgate.events import AttemptFailed, RequestDone
from localgate.requestlog import MAX_VALUE, RequestLog
from localgate.routing import PlanCache, Target
from tests.hardening.helpers import (
    COMPLETIONS,
    COUNT,
    MESSAGES,
    assert_dialect_error,
    start,
    upstream_calls,
)
from tests.support import logger_to

HOSTILE = [
    "claude-opus-4-8\r\nx-injected: 1",
    "claude-opus-4-8\n",
    "claude-\x00opus",
    "claude-opus-4-8\x1b[31m",
    "claude-" + "o" * 1_000_000,
    "",
]


@pytest.mark.parametrize("route", [MESSAGES, COUNT, COMPLETIONS], ids=lambda r: r.path)
async def test_hostile_model_names_are_400_before_any_upstream_call(localgate, make_fake, route):
    client, fakes = await start(localgate, make_fake, aliases={"*": ["claude-opus-4-8"]})
    for model in HOSTILE:
        resp = await client.post(route.path, json={**route.body, "model": model})
        assert resp.status == 400, repr(model[:40])
        raw = await resp.read()
        assert len(raw) < 2000  # the name is not reflected back
        body = assert_dialect_error(route.dialect, 400, raw)
        assert "model" in json.dumps(body)
    assert upstream_calls(fakes) == 0


async def test_hostile_gemini_model_in_the_url_is_400(localgate, make_fake):
    client, fakes = await start(localgate, make_fake, aliases={"*": ["claude-opus-4-8"]})
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    for model in ("gemini%0D%0Ax-injected:%201", "gemini%00x", "g" * 5000):
        resp = await client.post(f"/v1beta/models/{model}:generateContent", json=body)
        assert resp.status == 400, model[:40]
        assert_dialect_error("gemini", 400, await resp.read())
    assert upstream_calls(fakes) == 0


async def test_a_stream_of_new_names_keeps_the_plan_cache_bounded(localgate, make_fake):
    from localgate.routing import PLAN_CACHE_BYTES
    from localgate.server.keys import GATEWAY

    client, _ = await start(localgate, make_fake)
    gateway = client.server.app[GATEWAY]
    for i in range(6000):  # 6000 * ~250 bytes: 1.5 MB of names
        gateway.plan(f"{i:06d}-" + "m" * 240)
        assert gateway._plans.size <= PLAN_CACHE_BYTES


def test_plan_cache_starts_over_past_its_bound():
    cache = PlanCache(limit=1000)
    made = []

    def make(name):
        made.append(name)
        return [Target(name, ("a",), 0)]

    for i in range(100):
        name = f"model-{i:03d}"
        assert cache.get(name, lambda n=name: make(n))[0].model == name
        assert cache.size <= 1000
    cache.get("model-099", lambda: make("again"))
    assert made[-1] == "model-099"  # the newest is still cached


def test_log_lines_cut_long_values_and_escape_newlines():
    out = io.StringIO()
    log = RequestLog(logger_to(out))
    done = RequestDone("r", "openai", "chat", "m" * 1_000_000, False, 502, 0.0, 0.1)
    done.error = "upstream said: bad\nFAKE 12:00:00 anthropic claude → ok 200"
    log(AttemptFailed("r", "a", "x\r\ny" * 1000, "server_error", "boom\n" * 1000, 1.0))
    log(done)  # failed attempts are written after their request's line
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert all(len(line) < 6 * MAX_VALUE for line in lines)
    assert "\\n" in lines[0]


async def test_the_responses_route_has_the_same_door(localgate, make_fake):
    client, fakes = await start(localgate, make_fake)
    base = {"model": "gpt-4o", "input": "hi"}
    for raw in (
        json.dumps({**base, "model": "gpt-4o\r\nx-injected: 1"}).encode(),
        json.dumps({**base, "model": "g" * 5000}).encode(),
        b'{"model": "gpt-4o", "input": "hi", "temperature": NaN}',
        b'{"model": "gpt-4o", "model": "gpt-4o-mini", "input": "hi"}',
        json.dumps(base).encode("utf-16"),
    ):
        resp = await client.post(
            "/v1/responses", data=raw, headers={"content-type": "application/json"}
        )
        assert resp.status == 400, raw[:60]
        assert "error" in await resp.json()
    assert upstream_calls(fakes) == 0
