"""The one-minute usage window stays bounded and forgets old traffic."""

from __future__ import annotations

from localgate.pool.usage import UsageWindow


def test_counts_within_the_window_and_forgets_after():
    window = UsageWindow()
    window.add(100.0, 10)
    window.add(100.5, 5)
    window.add(130.0, 1)
    assert window.totals(130.0) == (3, 16)
    assert window.totals(159.9) == (3, 16)
    assert window.totals(160.0) == (1, 1)
    assert window.totals(191.0) == (0, 0)


def test_memory_is_bounded_under_heavy_traffic():
    window = UsageWindow()
    for i in range(100_000):
        window.add(i / 100, 1)  # 100 requests a second for 1000 s
    assert len(window._buckets) <= 61
    assert window.totals(999.99) == (6000, 6000)


def test_negative_tokens_count_as_zero():
    window = UsageWindow()
    window.add(1.0, -5)
    assert window.totals(1.0) == (1, 0)
