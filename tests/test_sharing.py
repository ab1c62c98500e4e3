"""The writer threads step aside for the event loop only while it has idle time:
once it is saturated, a pause shortens no request's wait and costs switches."""

from __future__ import annotations

import asyncio

import pytest

from localgate import sharing


class Clocks:
    """Scripted clocks: the loop's thread ran `shares[i]` of the i-th one-second period."""

    def __init__(self, shares):
        self.points = [(0.0, 0.0)]  # (thread CPU, wall) at each look
        for share in shares:
            cpu, wall = self.points[-1]
            self.points.append((cpu + share, wall + 1.0))
        self.look = 0

    def cpu(self):
        return self.points[self.look][0]

    def clock(self):  # read after cpu() at each look: the next look reads the next point
        wall = self.points[self.look][1]
        self.look = min(self.look + 1, len(self.points) - 1)
        return wall


async def _watch_until(load, clocks, samples):
    task = asyncio.create_task(load.watch(cpu=clocks.cpu, clock=clocks.clock))
    seen = []
    while len(seen) < samples:
        await asyncio.sleep(0)
        if load.samples > len(seen):
            seen.append((round(load.busy, 2), load.saturated))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return seen


async def test_the_load_follows_the_loops_share_of_each_period(monkeypatch):
    monkeypatch.setattr(sharing, "PERIOD", 0)
    load = sharing.LoopLoad()
    clocks = Clocks([0.95, 0.7, 1.0])
    seen = await _watch_until(load, clocks, 3)
    assert seen == [(0.95, True), (0.7, False), (1.0, True)]
    assert load.saturated is False  # the watcher stopped: the writers pace again


@pytest.mark.parametrize("saturated, pauses", [(False, 1), (True, 0)])
def test_a_writer_pauses_only_while_the_loop_has_idle_time(monkeypatch, saturated, pauses):
    slept = []
    monkeypatch.setattr(sharing.time, "sleep", slept.append)
    monkeypatch.setattr(sharing.LOAD, "saturated", saturated)
    sharing.yield_core()
    assert len(slept) == pauses


async def test_the_daemon_watches_its_loops_load(localgate, make_fake, monkeypatch):
    from tests.support import account

    monkeypatch.setattr(sharing, "PERIOD", 0.01)
    monkeypatch.setattr(sharing, "LOAD", sharing.LoopLoad())
    work = await make_fake("openai", "work")
    await localgate([account("work", "openai", work.url)])
    for _ in range(500):  # a bound for a slow machine, not a measure of time
        if sharing.LOAD.samples >= 2:
            break
        await asyncio.sleep(0.01)
    assert sharing.LOAD.samples >= 2
