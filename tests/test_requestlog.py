"""The request log: one line per request, lines of one loop tick in one write."""

from __future__ import annotations

import asyncio
import io

from localgate.events import RequestDone
from localgate.requestlog import FLUSH_DELAY, RequestLog


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def done(n: int) -> RequestDone:
    return RequestDone(f"req_{n}", "openai", "chat", "gpt-4o", False, 200, 0.0, 0.01, account="a")


async def test_lines_of_one_tick_share_one_write():
    stream = CountingStream()
    log = RequestLog(stream, color=False)
    for n in range(3):
        log(done(n))
    assert stream.writes == 0  # nothing on the request path
    await asyncio.sleep(FLUSH_DELAY * 3)
    assert stream.writes == 1
    assert stream.getvalue().count("gpt-4o → a 200") == 3
    log(done(4))
    await asyncio.sleep(FLUSH_DELAY * 3)
    assert stream.writes == 2 and stream.getvalue().count("\n") == 4


def test_without_a_loop_lines_go_out_at_once():
    stream = CountingStream()
    RequestLog(stream, color=False)(done(1))
    assert stream.writes == 1 and "gpt-4o → a 200" in stream.getvalue()


def test_other_operations_are_named():
    out = io.StringIO()
    log = RequestLog(out, color=False)  # no loop here: lines go out at once
    log(RequestDone("req_1", "openai", "transcribe", "whisper-1", False, 200, 0.0, 0.1))
    log(done(2))
    first, second = out.getvalue().splitlines()
    assert first.endswith("op=transcribe") and "op=" not in second
