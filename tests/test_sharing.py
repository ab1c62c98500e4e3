"""The writer threads step aside for the event loop only while it has idle time:
once it is saturated, a pause shortens no request's wait and costs switches."""

from __future__ import annotations

import pytest

from localgate import sharing


class Clocks:
    """The loop thread's CPU time and the wall clock, moved by hand."""

    def __init__(self):
        self.cpu_time = self.wall = 0.0

    def cpu(self):
        return self.cpu_time

    def clock(self):
        return self.wall

    def run(self, share, seconds=1.0):
        """`seconds` pass, of which the loop's thread ran `share`."""
        self.cpu_time += share * seconds
        self.wall += seconds


def test_the_load_is_measured_every_sample_events(monkeypatch):
    monkeypatch.setattr(sharing, "SAMPLE", 3)
    clocks = Clocks()
    load = sharing.LoopLoad(cpu=clocks.cpu, clock=clocks.clock)
    seen = []
    for share in (None, 0.5, 0.95, 0.7):
        if share is not None:
            clocks.run(share, 0.01)
        for _ in range(3):
            load(object())
        seen.append((round(load.busy, 2), load.saturated, load.samples))
    # The first measure only starts the clock; each next one spans the time since.
    assert seen == [(0.0, False, 0), (0.5, False, 1), (0.95, True, 2), (0.7, False, 3)]


def test_a_saturated_measure_holds_only_a_moment(monkeypatch):
    """A loop that went quiet after a burst measures nothing more: the verdict lapses."""
    monkeypatch.setattr(sharing, "SAMPLE", 1)
    clocks = Clocks()
    load = sharing.LoopLoad(cpu=clocks.cpu, clock=clocks.clock)
    load(object())
    clocks.run(0.95, 0.01)
    load(object())
    assert load.saturated
    clocks.run(0.0, sharing.HOLD)
    assert not load.saturated


@pytest.mark.parametrize("saturated, pauses", [(False, 1), (True, 0)])
def test_a_writer_pauses_only_while_the_loop_has_idle_time(monkeypatch, saturated, pauses):
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
