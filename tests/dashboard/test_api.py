"""The dashboard's JSON under /ui/api/…: shapes, filters, ranges, an empty and a big ledger."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import time

from localgate.server.keys import READER
from tests.dashboard.helpers import generated_rows, row
from tests.fakes import Error
from tests.limits.live import HI, post_messages, written
from tests.support import account

NOW = time.time()


async def get_json(client, path, status=200):
    async with client.get(path) as resp:
        assert resp.status == status, await resp.text()
        return await resp.json()


async def two_accounts(dashboard, make_fake, **kwargs):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    client = await dashboard(
        [
            account("work", "anthropic", a.url, priority=1, rpm=50),
            account("spare", "anthropic", b.url),
        ],
        server={"strategy": "fill-first"},
        **kwargs,
    )
    return client, a, b


async def test_page_and_session(dashboard, make_fake):
    client, _, _ = await two_accounts(dashboard, make_fake)
    async with client.get("/ui") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        text = await resp.text()
        assert '<script type="module" src="/ui/static/app.js">' in text
    for name, kind in (("app.js", "javascript"), ("chart.js", "javascript"), ("style.css", "css")):
        async with client.get(f"/ui/static/{name}") as resp:
            assert resp.status == 200 and kind in resp.content_type
    session = await get_json(client, "/ui/api/session")
    assert set(session) == {"version", "csrf", "login_required", "now", "started"}
    assert session["login_required"] is False and len(session["csrf"]) == 64


async def test_accounts_show_state_reason_fix_and_limits(dashboard, make_fake):
    client, a, _ = await two_accounts(dashboard, make_fake)
    a.script(Error(429, "slow down", headers={"retry-after": "120"}))
    await post_messages(client)  # work cools, spare serves
    view = await get_json(client, "/ui/api/accounts")
    assert view["summary"] == {
        "accounts": 2,
        "ok": 1,
        "cooling": 1,
        "invalid": 0,
        "disabled": 0,
    }
    work, spare = view["accounts"]
    assert (work["name"], work["state"], work["fix"]) == ("work", "cooling", None)
    assert work["cooldowns"][0]["reason"] and work["cooldowns"][0]["until"]
    assert work["configured"] == {"rpm": {"limit": 50, "used": 1}}
    assert work["refreshable"] is False
    assert spare["state"] == "ok" and spare["usage"]["last_used"]
    assert spare["limits"], "the fake reports anthropic-ratelimit-* figures"
    assert {f["dimension"] for f in spare["limits"]} >= {"requests"}
    assert abs(view["now"] - time.time()) < 5


async def test_invalid_account_names_the_command_that_fixes_it(dashboard, make_fake):
    client, a, _ = await two_accounts(dashboard, make_fake)
    a.script(Error(401, "invalid x-api-key"))
    await post_messages(client)
    work = (await get_json(client, "/ui/api/accounts"))["accounts"][0]
    assert work["state"] == "invalid"
    assert work["fix"].startswith("localgate accounts add work")


async def test_matrix_cells(dashboard, make_fake):
    client, a, _ = await two_accounts(dashboard, make_fake)
    a.script(Error(429, "slow down", headers={"retry-after": "120"}))
    await post_messages(client)
    m = await get_json(client, "/ui/api/matrix")
    assert m["accounts"] == ["work", "spare"]
    row_ = next(r for r in m["models"] if r["model"] == HI["model"])
    work, spare = row_["cells"]
    assert work["state"] == "cooling" and work["until"] and work["text"].startswith("wait ")
    assert spare["state"] == "ok"


async def test_traffic_history_filters_and_failover_chain(dashboard, make_fake):
    client, a, _ = await two_accounts(dashboard, make_fake)
    a.script(Error(429, "slow down", headers={"retry-after": "120"}))
    await post_messages(client)
    await post_messages(client)
    items = (await get_json(client, "/ui/api/traffic"))["items"]
    assert len(items) == 2
    first = items[0]
    assert (first["account"], first["status"], first["dialect"], first["op"]) == (
        "spare",
        200,
        "anthropic",
        "messages",
    )
    assert first["failovers"] == [
        {
            "account": "work",
            "model": HI["model"],
            "kind": "rate_limited",
            "reason": first["failovers"][0]["reason"],
            "cooldown": first["failovers"][0]["cooldown"],
        }
    ]
    assert first["latency_ms"] > 0 and first["input_tokens"] > 0
    assert items[1]["failovers"] == []
    assert len((await get_json(client, "/ui/api/traffic?account=work"))["items"]) == 0
    assert len((await get_json(client, "/ui/api/traffic?status=ok&limit=1"))["items"]) == 1
    assert len((await get_json(client, "/ui/api/traffic?status=error"))["items"]) == 0
    assert len((await get_json(client, "/ui/api/traffic?status=200"))["items"]) == 2
    bad = await get_json(client, "/ui/api/traffic?status=weird", status=400)
    assert bad["error"]["param"] == "status"
    await get_json(client, "/ui/api/traffic?limit=0", status=400)


async def test_traffic_stream_delivers_requests_as_they_finish(dashboard, make_fake):
    client, _, _ = await two_accounts(dashboard, make_fake)
    async with client.get("/ui/api/traffic/stream?account=work") as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry: 3000")
        await post_messages(client)
        event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
    assert event.startswith(b"event: request\ndata: {")
    assert b'"account": "work"' in event


async def test_usage_on_an_empty_ledger(dashboard, make_fake):
    client, _, _ = await two_accounts(dashboard, make_fake)
    for span, step, count in (
        ("24h", None, 24),
        ("7d", None, 7),
        ("30d", "day", 30),
        ("90d", "day", 90),
        ("7d", "hour", 168),
    ):
        query = f"range={span}" + (f"&step={step}" if step else "")
        answer = await get_json(client, f"/ui/api/usage?{query}")
        assert len(answer["buckets"]) == len(answer["labels"]) == count
        assert answer["series"] == [] and answer["keys"] == []
        assert answer["totals"]["requests"] == 0 and answer["totals"]["cache_hit_ratio"] is None
        assert answer["buckets"] == sorted(answer["buckets"])


async def test_usage_sums_by_account_and_model_with_filters(dashboard, make_fake):
    rows = [
        row(NOW - 60, "work", "m1", tokens=(100, 10, 300, 0)),
        row(NOW - 120, "work", "m2", status=429),
        row(NOW - 3 * 86400, "spare", "m1"),
        row(NOW - 40 * 86400, "work", "m1"),  # outside 30 days
    ]
    client, _, _ = await two_accounts(dashboard, make_fake, rows=rows)
    answer = await get_json(client, "/ui/api/usage?range=7d&by=account")
    assert answer["keys"] == ["work", "spare"]
    work = answer["series"][0]
    assert sum(work["requests"]) == 2 and sum(work["errors"]) == 1
    assert work["requests"][-1] + work["requests"][-2] == 2  # today (or just after midnight)
    assert answer["totals"]["cache_read_tokens"] == 300
    # prompt tokens: input 100 + 10 + 10, cache read 300
    assert answer["totals"]["cache_hit_ratio"] == round(300 / 420, 4)
    by_model = await get_json(client, "/ui/api/usage?range=7d&by=model&account=work")
    assert {s["key"]: sum(s["requests"]) for s in by_model["series"]} == {"m1": 1, "m2": 1}
    assert by_model["filters"] == {"account": "work"}
    only_m1 = await get_json(client, "/ui/api/usage?range=90d&model=m1")
    assert only_m1["totals"]["requests"] == 3
    for bad, param in (("range=1y", "range"), ("step=week", "step"), ("by=dialect", "by")):
        assert (await get_json(client, f"/ui/api/usage?{bad}", 400))["error"]["param"] == param


async def test_usage_csv(dashboard, make_fake):
    rows = [row(NOW - 60, "work", "m1", tokens=(100, 10, 300, 0)), row(NOW - 90, "spare", "m1")]
    client, _, _ = await two_accounts(dashboard, make_fake, rows=rows)
    async with client.get("/ui/api/usage.csv?range=24h&by=account") as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        table = list(csv.reader(io.StringIO(await resp.text())))
    assert table[0][:3] == ["hour", "account", "requests"]
    assert sorted(r[1] for r in table[1:]) == ["spare", "work"]
    work = next(r for r in table[1:] if r[1] == "work")
    assert work[2:4] == ["1", "0"] and work[-1] == "0.75"  # 300 read of 400 prompt tokens


async def test_usage_sums_images_audio_seconds_and_speech_characters(dashboard, make_fake):
    rows = [
        row(NOW - 60, "work", "gpt-image-1", media=(3, 0.0, 0)),
        row(NOW - 70, "work", "gpt-image-1", media=(1, 0.0, 0)),
        row(NOW - 80, "work", "whisper-1", media=(0, 12.25, 0)),
        row(NOW - 90, "work", "whisper-1", media=(0, 0.5, 0)),
        row(NOW - 100, "spare", "tts-1", media=(0, 0.0, 120)),
        row(NOW - 110, "spare", "m1"),  # a row from before media was measured (NULLs)
    ]
    client, _, _ = await two_accounts(dashboard, make_fake, rows=rows)
    answer = await get_json(client, "/ui/api/usage?range=24h&by=model")
    totals = answer["totals"]
    assert (totals["images"], totals["audio_seconds"], totals["speech_characters"]) == (
        4,
        12.75,
        120,
    )
    series = {s["key"]: s for s in answer["series"]}
    assert sum(series["gpt-image-1"]["images"]) == 4
    assert sum(series["whisper-1"]["audio_seconds"]) == 12.75
    assert sum(series["tts-1"]["speech_characters"]) == 120
    assert sum(series["m1"]["images"]) == 0

    async with client.get("/ui/api/usage.csv?range=24h&by=model") as resp:
        table = list(csv.reader(io.StringIO(await resp.text())))
    head = table[0]
    assert head[-4:] == ["images", "audio_seconds", "speech_characters", "cache_hit_ratio"]
    # The CSV has a line per hour: rows a few seconds apart can straddle one.
    by_model: dict[str, dict[str, float]] = {}
    for line in table[1:]:
        sums = by_model.setdefault(line[1], {})
        for name, value in zip(head, line, strict=True):
            if name in ("images", "audio_seconds", "speech_characters"):
                sums[name] = sums.get(name, 0) + float(value)
    assert by_model["gpt-image-1"]["images"] == 4
    assert by_model["whisper-1"]["audio_seconds"] == 12.75
    assert by_model["tts-1"]["speech_characters"] == 120
    assert by_model["m1"]["images"] == 0


async def test_usage_new_requests_reach_the_chart(dashboard, make_fake):
    client, _, _ = await two_accounts(dashboard, make_fake)
    await post_messages(client)

    await written(client)
    answer = await get_json(client, "/ui/api/usage?range=24h")
    assert answer["totals"]["requests"] == 1 and answer["keys"] == ["work"]


async def test_usage_reads_the_rollup_not_the_requests(dashboard, make_fake):
    """On a big ledger the chart's cost must follow the quarters asked for, not the
    rows: every usage query reads only `usage_quarters`. (How fast that is, is the
    benchmark's to say; a timed assertion here would measure the machine.)"""
    rows = list(generated_rows(200_000, NOW, days=30))
    client, _, _ = await two_accounts(dashboard, make_fake, rows=rows)
    tables_read: set[str] = set()

    def watch(store):
        def authorize(action, table, *_):
            if action == sqlite3.SQLITE_READ:
                tables_read.add(table)
            return sqlite3.SQLITE_OK

        store._db.set_authorizer(authorize)  # the reader thread's own connection

    await client.server.app[READER].run(watch)
    answer = await get_json(client, "/ui/api/usage?range=30d&step=hour&by=model")
    assert len(answer["buckets"]) == 720
    expected = sum(1 for r in rows if r[0] >= answer["buckets"][0])
    assert answer["totals"]["requests"] == expected > 190_000
    for query in ("range=90d&by=account", "range=24h&step=hour", "range=7d&step=hour"):
        assert (await get_json(client, f"/ui/api/usage?{query}"))["totals"]["requests"] > 0
    assert "usage_quarters" in tables_read and "requests" not in tables_read
