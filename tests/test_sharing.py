"""The writer threads step aside for the event loop only while it has room to give:
once requests queue for a loop that is busy all the time, a pause shortens no
request's wait and costs context switches."""

from __future__ import annotations

import pytest

from localgate import sharing
from localgate.events import RequestDone


class Clocks:
    """The loop thread's CPU time and the wall clock, moved by hand."""

    def __init__(self):
        self.cpu_time = self.wall = 0.0

    def cpu(self):
        return self.cpu_time

    def clock(self):
        return self.wall

    def run(self, share, seconds):
        """`seconds` pass, of which the loop's thread ran `share`."""
        self.cpu_time += share * seconds
        self.wall += seconds


def ended(latency: float) -> RequestDone:
    return RequestDone("req_1", "openai", "chat", "gpt-x", False, 200, 0.0, latency)


def test_saturated_is_busy_with_requests_queued(monkeypatch):
    """Every SAMPLE events: the loop's share of the time since the last measure, and
    the requests in flight on average (their latencies over that time)."""
    monkeypatch.setattr(sharing, "SAMPLE", 4)
    clocks = Clocks()
    load = sharing.LoopLoad(cpu=clocks.cpu, clock=clocks.clock)
    for _ in range(4):
        load(object())  # the first measure only starts the clock
    seen = []
    for share, latency in ((0.5, 0.1), (0.95, 0.1), (0.95, 0.002), (0.7, 0.1)):
        clocks.run(share, 0.01)
        for _ in range(2):  # two of the four events a request's end, here
            load(ended(latency))
            load(object())
        seen.append((round(load.busy, 2), round(load.in_flight, 1), load.saturated))
    assert seen == [
        (0.5, 20.0, False),  # requests queued, but the loop had room
        (0.95, 20.0, True),
        (0.95, 0.4, False),  # busy with one request at a time: nobody queued
        (0.7, 20.0, False),
    ]
    assert load.samples == 4


def test_a_saturated_measure_holds_only_a_moment(monkeypatch):
    """A loop that went quiet after a burst measures nothing more: the verdict lapses."""
    monkeypatch.setattr(sharing, "SAMPLE", 1)
    clocks = Clocks()
    load = sharing.LoopLoad(cpu=clocks.cpu, clock=clocks.clock)
    load(object())
    clocks.run(0.95, 0.01)
    load(ended(0.1))
    assert load.saturated
    clocks.run(0.0, sharing.HOLD)
    assert not load.saturated


@pytest.mark.parametrize("saturated, pauses", [(False, 1), (True, 0)])
def test_a_writer_pauses_only_while_the_loop_is_not_saturated(monkeypatch, saturated, pauses):
    slept = []
    monkeypatch.setattr(sharing.time, "sleep", slept.append)
    monkeypatch.setattr(sharing.LOAD, "_saturated_until", float("inf") if saturated else 0.0)
    sharing.yield_core()
    assert len(slept) == pauses


async def test_the_daemon_measures_its_loops_load_as_it_serves(localgate, make_fake, monkeypatch):
    from tests.sdks import openai_sdk
    from tests.support import account

    monkeypatch.setattr(sharing, "SAMPLE", 1)
    monkeypatch.setattr(sharing, "LOAD", sharing.LoopLoad())
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    for _ in range(3):
        await openai_sdk(client).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert sharing.LOAD.samples >= 2
