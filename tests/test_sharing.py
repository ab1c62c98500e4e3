"""The writer threads step aside for the event loop only while it has idle time:
once it is saturated, a pause shortens no request's wait and costs switches."""

from __future__ import annotations

import pytest

from localgate import sharing


class Clocks:
    """Scripted clocks: the loop's thread ran `shares[i]` of the i-th one-second span."""

    def __init__(self, shares):
        self.points = [(0.0, 0.0)]  # (thread CPU, wall) at each measure
        for share in shares:
            cpu, wall = self.points[-1]
            self.points.append((cpu + share, wall + 1.0))
        self.measure = 0

    def cpu(self):
        return self.points[self.measure][0]

    def clock(self):  # read after cpu() at each measure: the next one reads the next point
        wall = self.points[self.measure][1]
        self.measure += 1
        return wall


def test_the_load_is_measured_every_sample_events(monkeypatch):
    monkeypatch.setattr(sharing, "SAMPLE", 3)
    clocks = Clocks([0.95, 0.7, 1.0])
    load = sharing.LoopLoad(cpu=clocks.cpu, clock=clocks.clock)
    seen = []
    for _ in range(12):
        load(object())
        seen.append((round(load.busy, 2), load.saturated))
    # The first measure only starts the clock; each next one spans the time since.
    assert seen[:3] == [(0.0, False)] * 3
    assert seen[5] == (0.95, True) and seen[8] == (0.7, False) and seen[11] == (1.0, True)
    assert load.samples == 3 and clocks.measure == 4


@pytest.mark.parametrize("saturated, pauses", [(False, 1), (True, 0)])
def test_a_writer_pauses_only_while_the_loop_has_idle_time(monkeypatch, saturated, pauses):
    slept = []
    monkeypatch.setattr(sharing.time, "sleep", slept.append)
    monkeypatch.setattr(sharing.LOAD, "saturated", saturated)
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
