"""The pool's rules, on a fake clock: readiness, cooldowns, invalid marks, strategies."""

from __future__ import annotations

import pytest

from localgate.pool import ALL_MODELS, AccountEntry, Failure, FailureKind, Pool

RL = FailureKind.RATE_LIMITED
MODEL = "claude-sonnet-4"
OTHER = "claude-haiku-4"


class Clock:
    """A monotonic and a wall clock that move together, only when told."""

    def __init__(self):
        self.mono = 500.0
        self.wall_offset = 1_700_000_000.0 - 500.0

    def __call__(self):
        return self.mono

    def wall(self):
        return self.mono + self.wall_offset

    def advance(self, seconds):
        self.mono += seconds


@pytest.fixture
def clock():
    return Clock()


def make_pool(clock, *names, strategy="round-robin", **kwargs):
    pool = Pool(strategy=strategy, clock=clock, wall=clock.wall, **kwargs)
    pool.sync([AccountEntry(n, 0, True, "r1") for n in names])
    return pool


def test_all_ready_by_default(clock):
    pool = make_pool(clock, "a", "b")
    sel = pool.select(MODEL, ["a", "b"])
    assert (sel.ready, sel.wait, sel.cooling, sel.invalid, sel.disabled) == (
        ["a", "b"],
        None,
        [],
        [],
        [],
    )


def test_unknown_names_are_left_out(clock):
    pool = make_pool(clock, "a")
    assert pool.select(MODEL, ["ghost", "a"]).ready == ["a"]


def test_model_scoped_cooldown_and_recovery(clock):
    pool = make_pool(clock, "a", "b")
    assert pool.record_failure("a", MODEL, Failure(RL, "429 slow down", retry_after=10)) == 10
    sel = pool.select(MODEL, ["a", "b"])
    assert (sel.ready, sel.cooling, sel.wait) == (["b"], ["a"], 10)
    assert pool.select(OTHER, ["a", "b"]).cooling == []  # other models unaffected
    clock.advance(9.5)
    assert pool.select(MODEL, ["a", "b"]).wait == pytest.approx(0.5)
    clock.advance(0.5)
    assert set(pool.select(MODEL, ["a", "b"]).ready) == {"a", "b"}


def test_whole_account_cooldown_covers_every_model(clock):
    pool = make_pool(clock, "a", "b")
    failure = Failure(FailureKind.CONNECTION, "refused", model_scoped=False)
    assert pool.record_failure("a", MODEL, failure) == 1
    for model in (MODEL, OTHER, "anything"):
        assert pool.select(model, ["a", "b"]).cooling == ["a"]


def test_until_wall_wins_and_is_converted_to_the_monotonic_clock(clock):
    pool = make_pool(clock, "a")
    failure = Failure(RL, "daily", retry_after=5, until_wall=clock.wall() + 120)
    assert pool.record_failure("a", MODEL, failure) == 120
    clock.advance(100)
    assert pool.select(MODEL, ["a"]).wait == pytest.approx(20)


def test_backoff_grows_caps_and_resets_on_success(clock):
    pool = make_pool(clock, "a", backoff_base=2, backoff_max=10)
    waits = []
    for _ in range(5):
        waits.append(pool.record_failure("a", MODEL, Failure(FailureKind.SERVER_ERROR, "500")))
        clock.advance(waits[-1])  # the rest ends, the next try fails again
    assert waits == [2, 4, 8, 10, 10]
    pool.record_success("a", MODEL)
    assert pool.record_failure("a", MODEL, Failure(FailureKind.SERVER_ERROR, "500")) == 2


def test_backoff_is_per_model(clock):
    pool = make_pool(clock, "a")
    pool.record_failure("a", MODEL, Failure(FailureKind.SERVER_ERROR, "500"))
    clock.advance(1)
    assert pool.record_failure("a", MODEL, Failure(FailureKind.SERVER_ERROR, "500")) == 2
    assert pool.record_failure("a", OTHER, Failure(FailureKind.SERVER_ERROR, "500")) == 1


def test_concurrent_failures_are_one_incident(clock):
    pool = make_pool(clock, "a")
    for _ in range(5):  # five in-flight requests fail at once
        assert pool.record_failure("a", MODEL, Failure(FailureKind.OVERLOADED, "529")) == 1


def test_backoff_streak_is_forgotten_after_a_quiet_spell(clock):
    pool = make_pool(clock, "a", backoff_max=10)
    pool.record_failure("a", MODEL, Failure(FailureKind.SERVER_ERROR, "500"))
    clock.advance(1)
    assert pool.record_failure("a", MODEL, Failure(FailureKind.SERVER_ERROR, "500")) == 2
    clock.advance(2 + 11)
    assert pool.record_failure("a", MODEL, Failure(FailureKind.SERVER_ERROR, "500")) == 1


def test_success_keeps_an_active_rest(clock):
    pool = make_pool(clock, "a")
    pool.record_failure("a", MODEL, Failure(RL, "429", retry_after=30))
    pool.record_success("a", MODEL)  # a request sent before the 429 finished fine
    assert pool.select(MODEL, ["a"]).cooling == ["a"]


def test_shorter_failure_does_not_shorten_a_longer_rest(clock):
    pool = make_pool(clock, "a")
    pool.record_failure("a", MODEL, Failure(FailureKind.QUOTA_EXHAUSTED, "quota"))
    assert pool.record_failure("a", MODEL, Failure(RL, "429", retry_after=1)) == 3600
    assert pool.status()[0].reason == "quota"


def test_wait_is_the_earliest_recovery(clock):
    pool = make_pool(clock, "a", "b", "c")
    pool.record_failure("a", MODEL, Failure(RL, "429", retry_after=30))
    pool.record_failure("b", MODEL, Failure(RL, "429", retry_after=5))
    pool.record_failure("c", MODEL, Failure(RL, "429", retry_after=60, model_scoped=False))
    sel = pool.select(MODEL, ["a", "b", "c"])
    assert (sel.ready, sel.cooling, sel.wait) == ([], ["a", "b", "c"], 5)


def test_auth_marks_invalid_until_reset(clock):
    pool = make_pool(clock, "a", "b")
    assert pool.record_failure("a", MODEL, Failure(FailureKind.AUTH, "401 bad key")) is None
    sel = pool.select(MODEL, ["a", "b"])
    assert (sel.ready, sel.invalid, sel.wait) == (["b"], ["a"], None)
    assert pool.status()[0].state == "invalid"
    assert pool.status()[0].reason == "401 bad key"
    pool.reset("a")
    assert pool.select(MODEL, ["a", "b"]).invalid == []


def test_sync_clears_invalid_only_on_revision_change(clock):
    pool = make_pool(clock, "a")
    pool.record_failure("a", MODEL, Failure(FailureKind.AUTH, "401"))
    pool.record_failure("a", OTHER, Failure(RL, "429", retry_after=50))
    pool.sync([AccountEntry("a", 3, True, "r1")])
    assert pool.select(MODEL, ["a"]).invalid == ["a"]
    pool.sync([AccountEntry("a", 3, True, "r2")])  # the user fixed the key
    assert pool.select(MODEL, ["a"]).ready == ["a"]
    assert pool.select(OTHER, ["a"]).cooling == ["a"]  # rests survive a reload


def test_sync_drops_removed_accounts_and_adds_new_ones(clock):
    pool = make_pool(clock, "a", "b")
    pool.record_failure("b", MODEL, Failure(RL, "429", retry_after=50))
    pool.sync([AccountEntry("c", 0, True, "r1"), AccountEntry("a", 0, True, "r1")])
    assert [s.name for s in pool.status()] == ["c", "a"]
    assert pool.select(MODEL, ["a", "b", "c"]).cooling == []
    pool.sync([AccountEntry("b", 0, True, "r1")])  # b comes back with a clean slate
    assert pool.select(MODEL, ["b"]).ready == ["b"]


def test_disabled_accounts_are_never_selected(clock):
    pool = make_pool(clock, "a", "b")
    pool.sync([AccountEntry("a", 0, False, "r1"), AccountEntry("b", 0, True, "r1")])
    for _ in range(3):
        sel = pool.select(MODEL, ["a", "b"])
        assert (sel.ready, sel.disabled) == (["b"], ["a"])
    assert pool.status()[0].state == "disabled"


@pytest.mark.parametrize(
    ("strategy", "priorities", "expected"),
    [
        ("fill-first", {"a": 0, "b": 5, "c": 1}, ["b", "c", "a"]),
        ("round-robin", {}, ["a", "b", "c"]),
        ("sticky", {}, ["a", "b", "c"]),
        ("least-used", {}, ["a", "b", "c"]),
    ],
)
def test_strategy_orders(clock, strategy, priorities, expected):
    pool = Pool(strategy=strategy, clock=clock, wall=clock.wall)
    pool.sync([AccountEntry(n, priorities.get(n, 0), True, "r1") for n in "abc"])
    assert pool.select(MODEL, list("abc")).ready == expected


def test_least_used_prefers_idle_accounts_and_forgets_after_a_minute(clock):
    pool = make_pool(clock, "a", "b", "c", strategy="least-used")
    pool.record_success("a", MODEL, tokens=500)
    pool.record_success("b", MODEL, tokens=100)
    assert pool.select(MODEL, list("abc")).ready == ["c", "b", "a"]
    clock.advance(61)
    assert pool.select(MODEL, list("abc")).ready == ["a", "b", "c"]


def test_round_robin_skips_cooling_and_stays_fair(clock):
    pool = make_pool(clock, "a", "b", "c")
    pool.record_failure("b", MODEL, Failure(RL, "429", retry_after=1000))
    firsts = [pool.select(MODEL, list("abc")).ready[0] for _ in range(6)]
    assert sorted(firsts) == ["a", "a", "a", "c", "c", "c"]


def test_sticky_session_stickiness_failover_and_rebinding(clock):
    pool = make_pool(clock, "a", "b", "c", strategy="sticky")
    first = pool.select(MODEL, list("abc"), session="s").ready[0]
    pool.record_success(first, MODEL, session="s")
    for _ in range(5):  # other traffic must not move the session
        assert pool.select(MODEL, list("abc")).ready
        assert pool.select(MODEL, list("abc"), session="s").ready[0] == first
    pool.record_failure(first, MODEL, Failure(RL, "429", retry_after=30))
    failover = pool.select(MODEL, list("abc"), session="s").ready
    assert first not in failover and len(failover) == 2
    pool.record_success(failover[0], MODEL, session="s")
    clock.advance(31)  # the old account recovers; the session stays where it is now
    assert pool.select(MODEL, list("abc"), session="s").ready[0] == failover[0]


def test_set_strategy(clock):
    pool = make_pool(clock, "a", "b", strategy="sticky")
    pool.record_success("b", MODEL, session="s")
    pool.set_strategy("sticky")  # a reload with the same name keeps sessions
    assert pool.select(MODEL, ["a", "b"], session="s").ready[0] == "b"
    pool.set_strategy("fill-first")
    assert pool.strategy == "fill-first"
    assert pool.select(MODEL, ["a", "b"], session="s").ready == ["a", "b"]
    with pytest.raises(ValueError):
        pool.set_strategy("chaos")
    assert pool.strategy == "fill-first"
    with pytest.raises(ValueError):
        Pool(strategy="chaos")


def test_status(clock):
    pool = make_pool(clock, "a", "b")
    pool.record_success("a", MODEL, tokens=40)
    pool.record_success("a", OTHER, tokens=2)
    pool.record_failure("b", MODEL, Failure(RL, "429 slow", retry_after=10))
    pool.record_failure("b", OTHER, Failure(FailureKind.CONNECTION, "down", model_scoped=False))
    a, b = pool.status()
    assert (a.name, a.state, a.reason, a.cooldowns) == ("a", "ok", None, [])
    assert (a.requests_last_minute, a.tokens_last_minute) == (2, 42)
    assert a.last_used_wall == clock.wall()
    assert (b.state, b.reason, b.last_used_wall) == ("cooling", "429 slow", None)
    assert b.cooldowns == [
        (ALL_MODELS, clock.wall() + 1, "down", "connection"),
        (MODEL, clock.wall() + 10, "429 slow", "rate_limited"),
    ]
    clock.advance(10)
    assert pool.status()[1].state == "ok"


def test_export_restore_round_trip(clock):
    pool = make_pool(clock, "a", "b", "c")
    pool.record_failure("a", MODEL, Failure(FailureKind.AUTH, "401"))
    pool.record_failure("b", MODEL, Failure(RL, "429", retry_after=100))
    data = pool.export()

    later = Clock()
    later.mono, later.wall_offset = 10.0, clock.wall() + 40 - 10.0  # restarted 40 s later
    fresh = Pool(clock=later, wall=later.wall)
    fresh.sync(
        [
            AccountEntry("a", 0, True, "r1"),
            AccountEntry("b", 0, True, "r1"),
            AccountEntry("c", 0, True, "r1"),
        ]
    )
    fresh.restore(data)
    sel = fresh.select(MODEL, list("abc"))
    assert (sel.ready, sel.cooling, sel.invalid) == (["c"], ["b"], ["a"])
    assert sel.wait == pytest.approx(60)


def test_restore_skips_changed_revisions_and_junk(clock):
    pool = make_pool(clock, "a")
    pool.record_failure("a", MODEL, Failure(FailureKind.AUTH, "401"))
    data = pool.export()
    fresh = Pool(clock=clock, wall=clock.wall)
    fresh.sync([AccountEntry("a", 0, True, "r2")])
    fresh.restore(data)
    assert fresh.select(MODEL, ["a"]).ready == ["a"]
    for junk in (
        {},
        {"accounts": []},
        {"accounts": {"a": "x"}},
        {
            "accounts": {
                "a": {
                    "cooldowns": [
                        None,
                        {"model": 1},
                        {"model": "m", "until": "soon"},
                        {"model": "m", "until": float("nan")},
                    ]
                }
            }
        },
        [],
    ):
        fresh.restore(junk)
    assert fresh.select("m", ["a"]).ready == ["a"]


def test_cooldown_records_stay_bounded(clock):
    pool = make_pool(clock, "a", backoff_max=10)
    for i in range(1000):  # many distinct model names, each failing once
        pool.record_failure("a", f"claude-{i}", Failure(FailureKind.SERVER_ERROR, "500"))
        clock.advance(1)
    assert len(pool._accounts["a"].cooldowns) <= 64
