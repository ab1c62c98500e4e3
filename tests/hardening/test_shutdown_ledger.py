"""A real `localgate serve` stopped by SIGTERM/SIGINT keeps every ledger row.

Rows reach the disk in batches (about once a second), so the rows of the
requests answered just before the signal are still in memory when it lands,
and only the cleanup's flush can write them; the in-flight stream's row only
exists once the drain let the stream finish. Both must be in the ledger file
after the process exited 0, and `localgate usage` must read the same figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from localgate.config import default_state_dir
from localgate.ledger import LedgerStore, ledger_path
from tests.fakes import Error, Reply, Usage
from tests.hardening.helpers import COMPLETIONS, MESSAGES, Route
from tests.hardening.test_shutdown import refused_soon
from tests.support import account, write_config

LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
STARTUP_TIMEOUT = 60  # seconds: the machine is shared, a cold start may be slow
EXIT_TIMEOUT = 60
GRACE = 30.0  # the daemon's shutdown_grace: far longer than the in-flight stream needs

# (route, stream, account, the fake's behavior, status the client sees)
BEFORE_SIGNAL = (
    (MESSAGES, False, "ant", Reply(usage=Usage(input=11, output=3)), 200),
    (MESSAGES, True, "ant", Reply(usage=Usage(13, 4, cache_read=100, cache_creation=20)), 200),
    (MESSAGES, False, "ant", Error(400), 400),
    (COMPLETIONS, False, "oai", Reply(usage=Usage(input=17, output=6, cache_read=8)), 200),
    (COMPLETIONS, True, "oai", Reply(usage=Usage(input=19, output=7)), 200),
    (COMPLETIONS, True, "oai", Reply(usage=Usage(input=5, output=2, cache_read=3)), 200),
)
# The in-flight stream: ~8 s, well under the grace, long enough that the
# requests above are all answered while it runs even on a busy machine, with
# seconds to spare to see the listener closed while it still runs.
STREAM_CHUNKS, STREAM_GAP = 40, 0.2
IN_FLIGHT_USAGE = Usage(input=23, output=9, cache_read=2)
LAST_EVENT = {"anthropic": b'data: {"type":"message_stop"}', "openai": b"data: [DONE]"}


async def serve_on_any_port(config_path: Path) -> tuple[asyncio.subprocess.Process, int]:
    """`localgate serve --port 0` and the port it announced on its first line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localgate", "--config", str(config_path), "serve", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), STARTUP_TIMEOUT)
    except TimeoutError:
        await killed(proc)
        raise
    found = LISTENING.search(first)
    if found is None:
        await killed(proc)
        raise AssertionError((first + await proc.stdout.read()).decode())
    return proc, int(found.group(1))


def usage_row(acct: str, behavior, stream: bool, status: int) -> tuple:
    """The row a request should leave: account, stream, status, client_gone, 4 token counts."""
    if isinstance(behavior, Error):  # the account refused it: no tokens spent
        return (acct, int(stream), status, 0, 0, 0, 0, 0)
    u = behavior.usage
    return (acct, int(stream), status, 0, u.input, u.output, u.cache_read, u.cache_creation)


def ledger_rows(path: Path) -> Counter:
    """Every request row of the ledger file, as `usage_row` tuples (read-only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT account, stream, status, client_gone, input_tokens, output_tokens, "
            "cache_read_tokens, cache_creation_tokens FROM requests"
        ).fetchall()
    finally:
        db.close()
    return Counter(rows)


async def post(http: aiohttp.ClientSession, port: int, route: Route, stream: bool):
    body = route.stream_body if stream else route.body
    return await http.post(f"http://127.0.0.1:{port}{route.path}", json=body)


async def usage_report(config_path: Path) -> dict:
    """`localgate usage --json --since 1d` in a subprocess with the test's environment."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localgate", "--config", str(config_path),
        "usage", "--json", "--since", "1d",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), EXIT_TIMEOUT)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def start_daemon(config_path: Path, make_fake, first: tuple[str, Reply] | None = None):
    """A daemon with accounts "ant" and "oai" on fakes scripted for BEFORE_SIGNAL.

    `first` (account, reply) is scripted ahead of them: the in-flight stream.
    Returns (process, port).
    """
    fakes = {"ant": await make_fake("anthropic", "ant"), "oai": await make_fake("openai", "oai")}
    write_config(
        config_path,
        [account(name, fake.kind, fake.url) for name, fake in fakes.items()],
        server={"shutdown_grace": GRACE},
    )
    if first is not None:
        fakes[first[0]].script(first[1])
    for _, _, acct, behavior, _ in BEFORE_SIGNAL:
        fakes[acct].script(behavior)
    return await serve_on_any_port(config_path)


async def send_before_signal(http: aiohttp.ClientSession, port: int) -> None:
    for route, stream, _, _, status in BEFORE_SIGNAL:
        async with await post(http, port, route, stream) as resp:
            body = await resp.read()
            assert resp.status == status, body


async def killed(proc: asyncio.subprocess.Process) -> None:
    """Kill the daemon unless it already exited."""
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def exit_code(proc: asyncio.subprocess.Process) -> int:
    """The daemon's exit code once it stopped; its output must be clean."""
    try:
        code = await asyncio.wait_for(proc.wait(), EXIT_TIMEOUT)
    finally:
        await killed(proc)
    output = (await proc.stdout.read()).decode()
    assert "Traceback" not in output and "usage ledger" not in output, output
    assert "localgate stopped" in output, output
    return code


async def assert_ledger_holds(config_path: Path, expected: Counter) -> None:
    """The ledger file holds exactly `expected` (usage_row tuples); `usage` agrees."""
    state_dir = default_state_dir()
    assert state_dir.is_relative_to(os.environ["XDG_STATE_HOME"])  # the test's own dirs
    store = LedgerStore.open_existing(ledger_path(state_dir))
    assert store is not None, f"no ledger in {state_dir}"
    try:
        assert store.count() == expected.total()
        by_account = {row.key: row for row in store.usage(0, "account")}
    finally:
        store.close()
    assert ledger_rows(ledger_path(state_dir)) == expected

    report = await usage_report(config_path)
    reported = {entry["account"]: entry for entry in report["rows"]}
    assert set(reported) == set(by_account) == {"ant", "oai"}  # the 400 counts on its account
    for name, row in by_account.items():
        for key in ("requests", "errors", "input_tokens", "output_tokens", "tokens"):
            assert reported[name][key] == getattr(row, key), (name, key)
    assert report["total"]["requests"] == expected.total()
    assert report["total"]["errors"] == 1  # the upstream's 400
    assert report["total"]["tokens"] == sum(sum(row[4:]) for row in expected.elements())


def expected_before_signal() -> Counter:
    return Counter(
        usage_row(acct, behavior, stream, status)
        for _, stream, acct, behavior, status in BEFORE_SIGNAL
    )


@pytest.mark.parametrize(
    ("sig", "in_flight"),
    [(signal.SIGTERM, MESSAGES), (signal.SIGINT, COMPLETIONS)],
    ids=["SIGTERM-anthropic-stream", "SIGINT-openai-stream"],
)
async def test_rows_of_earlier_requests_and_the_in_flight_stream_are_on_disk(
    config_path, make_fake, sig, in_flight
):
    in_flight_acct = "ant" if in_flight is MESSAGES else "oai"
    slow = Reply(
        text="x" * STREAM_CHUNKS, chunks=STREAM_CHUNKS, gap=STREAM_GAP, usage=IN_FLIGHT_USAGE
    )
    proc, port = await start_daemon(config_path, make_fake, first=(in_flight_acct, slow))
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            async with await post(http, port, in_flight, True) as resp:
                assert resp.status == 200
                first = await resp.content.readany()
                started = time.monotonic()
                await send_before_signal(http, port)  # answered while the stream runs
                proc.send_signal(sig)
                # Else the stream was (nearly) over before the signal and proves nothing.
                assert time.monotonic() - started < STREAM_CHUNKS * STREAM_GAP - 3
                reading = asyncio.ensure_future(resp.read())
                assert await refused_soon(port)  # draining: no one new gets in …
                assert not reading.done()  # … and the stream goes on
                rest = await reading
    except BaseException:
        await killed(proc)  # and the original failure is the one reported
        raise
    assert await exit_code(proc) == 0
    text = first + rest
    assert text.rstrip().endswith(LAST_EVENT[in_flight.dialect]), text[-300:]
    expected = expected_before_signal()
    expected[usage_row(in_flight_acct, slow, True, 200)] += 1
    await assert_ledger_holds(config_path, expected)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_rows_still_queued_when_the_signal_lands_are_on_disk(config_path, make_fake, sig):
    # No stream holds the drain open: the signal follows the last answer at
    # once, so (the writer batches about once a second) the last rows are
    # only in memory; the cleanup's flush is all that can write them.
    proc, port = await start_daemon(config_path, make_fake)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            await send_before_signal(http, port)
        proc.send_signal(sig)
    except BaseException:
        await killed(proc)
        raise
    assert await exit_code(proc) == 0
    await assert_ledger_holds(config_path, expected_before_signal())
