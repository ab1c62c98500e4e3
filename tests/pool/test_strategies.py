"""Each strategy's order, round-robin fairness, sticky's bounded session map."""

from __future__ import annotations

from collections import Counter

import pytest

from localgate.pool.strategies import (
    STRATEGIES,
    FillFirst,
    LeastUsed,
    RoundRobin,
    Sticky,
    make_strategy,
)


class View:
    def __init__(self, priorities=None, usage=None):
        self.priorities = priorities or {}
        self.usages = usage or {}

    def priority(self, name):
        return self.priorities.get(name, 0)

    def usage(self, name):
        return self.usages.get(name, (0, 0))


@pytest.mark.parametrize(
    ("priorities", "ready", "expected"),
    [
        ({}, ["a", "b", "c"], ["a", "b", "c"]),  # ties: config order
        ({"c": 5}, ["a", "b", "c"], ["c", "a", "b"]),
        ({"a": -1, "b": 2, "c": 2}, ["a", "b", "c"], ["b", "c", "a"]),
        ({}, [], []),
    ],
)
def test_fill_first(priorities, ready, expected):
    assert FillFirst().order(ready, View(priorities), None) == expected


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({}, ["a", "b", "c"]),
        ({"a": (1, 100), "b": (1, 50)}, ["c", "b", "a"]),
        ({"a": (5, 10), "b": (1, 10), "c": (3, 10)}, ["b", "c", "a"]),  # tokens tie: requests
        ({"a": (1, 0), "b": (9, 0), "c": (0, 1)}, ["a", "b", "c"]),  # tokens before requests
    ],
)
def test_least_used(usage, expected):
    assert LeastUsed().order(["a", "b", "c"], View(usage=usage), None) == expected


def test_round_robin_rotates_and_keeps_every_candidate():
    rr = RoundRobin()
    orders = [rr.order(["a", "b", "c"], View(), None) for _ in range(4)]
    assert orders == [
        ["a", "b", "c"],
        ["b", "c", "a"],
        ["c", "a", "b"],
        ["a", "b", "c"],
    ]


def test_round_robin_is_fair_over_many_selects():
    rr = RoundRobin()
    firsts = Counter(rr.order(["a", "b", "c", "d"], View(), None)[0] for _ in range(4000))
    assert firsts == {"a": 1000, "b": 1000, "c": 1000, "d": 1000}


def test_round_robin_counts_per_candidate_set():
    rr = RoundRobin()
    assert rr.order(["a", "b"], View(), None)[0] == "a"
    assert rr.order(["a", "c"], View(), None)[0] == "a"  # another set: its own turn
    assert rr.order(["a", "b"], View(), None)[0] == "b"
    assert rr.order(["x"], View(), None) == ["x"]


def test_sticky_new_sessions_spread_round_robin():
    sticky = Sticky()
    assert [sticky.order(["a", "b"], View(), None)[0] for _ in range(4)] == ["a", "b", "a", "b"]
    assert sticky.order(["a", "b"], View(), "new")[0] == "a"


def test_sticky_keeps_session_and_fails_over():
    sticky = Sticky()
    sticky.succeeded("b", "s1")
    for _ in range(5):
        assert sticky.order(["a", "b", "c"], View(), "s1") == ["b", "a", "c"]
    # b is not ready: the session goes elsewhere, and rebinds where it succeeds.
    assert set(sticky.order(["a", "c"], View(), "s1")) == {"a", "c"}
    sticky.succeeded("c", "s1")
    assert sticky.order(["a", "b", "c"], View(), "s1") == ["c", "a", "b"]


def test_sticky_session_map_is_bounded_lru():
    sticky = Sticky(max_sessions=3)
    for i in range(3):
        sticky.succeeded("b", f"s{i}")
    sticky.order(["a", "b"], View(), "s0")  # s0 recently seen: survives
    sticky.succeeded("b", "s3")
    assert sticky.bound("s1") is None
    assert [sticky.bound(s) for s in ("s0", "s2", "s3")] == ["b", "b", "b"]


def test_make_strategy():
    assert set(STRATEGIES) == {"sticky", "round-robin", "fill-first", "least-used"}
    for name in STRATEGIES:
        assert make_strategy(name).name == name
    with pytest.raises(ValueError, match="unknown strategy 'random'"):
        make_strategy("random")
