"""Quota-aware rotation on a fake clock: configured limits, spent provider figures, headroom."""

from __future__ import annotations

import pytest

from localgate.pool import ALL_MODELS, STRATEGIES, QuotaLimits
from localgate.providers.ratelimit import LimitSnapshot
from tests.pool.test_pool import MODEL, OTHER, make_pool


def figure(clock, dimension, limit, remaining, reset_in):
    reset = None if reset_in is None else clock.wall() + reset_in
    return LimitSnapshot(dimension, limit, remaining, reset, clock.wall())


def test_rpm_moves_work_before_the_provider_would_refuse(clock):
    pool = make_pool(clock, "a", "b", strategy="fill-first")
    pool.configure_limits({"a": QuotaLimits(rpm=2)})
    for _ in range(2):
        assert pool.select(MODEL, ["a", "b"]).ready[0] == "a"
        pool.observe("a", MODEL)  # the upstream answered
    selection = pool.select(MODEL, ["a", "b"])
    assert (selection.ready, selection.cooling) == (["b"], ["a"])
    assert 59 <= pool.select(MODEL, ["a"]).wait <= 60
    (status, _) = pool.status()
    assert status.state == "cooling"
    assert status.reason == "rpm limit reached (2 requests per minute)"
    assert status.cooldowns[0].model == ALL_MODELS
    clock.advance(61)
    assert pool.select(MODEL, ["a", "b"]).ready == ["a", "b"]


def test_tpm_counts_tokens_of_finished_requests(clock):
    pool = make_pool(clock, "a", "b", strategy="fill-first")
    pool.configure_limits({"a": QuotaLimits(tpm=1000)})
    pool.observe("a", MODEL)
    pool.record_success("a", MODEL, tokens=999)
    assert pool.select(MODEL, ["a", "b"]).ready[0] == "a"
    pool.record_success("a", MODEL, tokens=1)
    assert pool.select(MODEL, ["a", "b"]).ready == ["b"]


def test_rpd_rests_until_the_oldest_request_leaves_the_day(clock):
    pool = make_pool(clock, "a")
    pool.configure_limits({"a": QuotaLimits(rpd=3)})
    for _ in range(3):
        pool.observe("a", MODEL)
        clock.advance(3600)
    wait = pool.select(MODEL, ["a"]).wait
    assert 86400 - 3 * 3600 - 60 <= wait <= 86400 - 3 * 3600
    (status,) = pool.status()
    assert status.local_limits[0].name == "rpd" and status.local_limits[0].used == 3
    assert status.requests_today == 0  # upstream answers; none served a client yet
    pool.served("a", 10)
    assert pool.status()[0].requests_today == 1


def test_limits_follow_a_reload_and_go_away(clock):
    pool = make_pool(clock, "a")
    pool.configure_limits({"a": QuotaLimits(rpm=1)})
    pool.observe("a", MODEL)
    assert pool.select(MODEL, ["a"]).ready == []
    pool.configure_limits({})
    assert pool.select(MODEL, ["a"]).ready == ["a"]


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_skips_a_spent_account(clock, strategy):
    pool = make_pool(clock, "a", "b", strategy=strategy)
    pool.observe("a", MODEL, [figure(clock, "requests", 50, 0, 30)])
    for _ in range(4):
        assert pool.select(MODEL, ["a", "b"], session="s").ready == ["b"]
    # Only that model is spent; others still go to a.
    assert "a" in pool.select(OTHER, ["a", "b"]).ready
    clock.advance(31)
    assert "a" in pool.select(MODEL, ["a", "b"]).ready


@pytest.mark.parametrize(
    ("remaining", "reset_in"),
    [(1, 30), (0, None), (0, -5)],  # budget left; no reset known; reset already past
)
def test_figures_that_do_not_rest(clock, remaining, reset_in):
    pool = make_pool(clock, "a")
    pool.observe("a", MODEL, [figure(clock, "tokens", 1000, remaining, reset_in)])
    assert pool.select(MODEL, ["a"]).ready == ["a"]


def test_a_later_figure_with_budget_ends_the_rest(clock):
    pool = make_pool(clock, "a")
    pool.observe("a", MODEL, [figure(clock, "requests", 50, 0, 30)])
    assert pool.select(MODEL, ["a"]).ready == []
    pool.observe("a", MODEL, [figure(clock, "requests", 50, 50, 60)])
    assert pool.select(MODEL, ["a"]).ready == ["a"]


def test_least_used_picks_by_headroom(clock):
    pool = make_pool(clock, "a", "b", "c", strategy="least-used")
    pool.observe("a", MODEL, [figure(clock, "requests", 100, 10, 30)])
    pool.observe("b", MODEL, [figure(clock, "requests", 100, 90, 30)])
    pool.configure_limits({"c": QuotaLimits(rpm=10)})
    for _ in range(5):
        pool.observe("c", MODEL)  # half its rpm used
    assert pool.select(MODEL, ["a", "b", "c"]).ready == ["b", "c", "a"]
    # Same headroom: recent load decides.
    other = make_pool(clock, "x", "y", strategy="least-used")
    other.record_success("x", MODEL, tokens=100)
    assert other.select(MODEL, ["x", "y"]).ready == ["y", "x"]


def test_status_shows_one_rest_per_model_when_a_429_also_reports(clock):
    from localgate.pool import Failure, FailureKind

    pool = make_pool(clock, "a")
    pool.observe("a", MODEL, [figure(clock, "requests", 50, 0, 30)])
    pool.record_failure("a", MODEL, Failure(FailureKind.RATE_LIMITED, "429", retry_after=30))
    (status,) = pool.status()
    assert [c.model for c in status.cooldowns] == [MODEL]
    assert status.provider_limits == ((MODEL, figure(clock, "requests", 50, 0, 30)),)


def test_seeded_counts_keep_limits_after_a_restart(clock):
    pool = make_pool(clock, "a")
    pool.configure_limits({"a": QuotaLimits(rpm=2)})
    wall = clock.wall()
    pool.seed_usage("a", [(wall - 30, 2, 40)], (7, 900))
    assert pool.select(MODEL, ["a"]).ready == []
    (status,) = pool.status()
    assert (status.requests_today, status.tokens_today) == (7, 900)
    assert (status.requests_last_minute, status.tokens_last_minute) == (2, 40)
    clock.advance(31)
    assert pool.select(MODEL, ["a"]).ready == ["a"]
