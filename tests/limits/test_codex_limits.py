"""The x-codex-* headers Codex reads, worked out from what the pool knows (a fake clock)."""

from __future__ import annotations

from localgate.codex_limits import CodexLimits
from localgate.pool import QuotaLimits
from tests.limits.test_quota import figure
from tests.pool.test_pool import MODEL, OTHER, make_pool


def headers(pool, account="a", model=MODEL) -> dict[str, str]:
    return dict(CodexLimits(pool).headers(account, model))


def test_nothing_known_sends_nothing(clock):
    pool = make_pool(clock, "a")
    assert headers(pool) == {}
    assert headers(pool, "nobody") == {}


def test_the_most_spent_provider_figure_is_primary(clock):
    pool = make_pool(clock, "a")
    pool.observe(
        "a",
        MODEL,
        [
            figure(clock, "requests", 4000, 3000, 30.2),  # 25 % used
            figure(clock, "input-tokens", 2_000_000, 500_000, 12.5),  # 75 % used
            figure(clock, "output-tokens", None, 100, 5),  # used share unknown: left out
        ],
        count=False,
    )
    wall = clock.wall()
    assert headers(pool) == {
        # No window length: rate-limit headers never say how long their window is.
        "x-codex-primary-used-percent": "75",
        "x-codex-primary-reset-at": str(int(wall) + 13),  # whole seconds, rounded up
    }
    assert headers(pool, model=OTHER) == {}  # figures are per model


def test_configured_limits_give_both_windows(clock):
    pool = make_pool(clock, "a")
    pool.configure_limits({"a": QuotaLimits(rpm=8, tpm=1000, rpd=400)})
    for _ in range(2):
        pool.observe("a", MODEL)  # 2 of 8 requests this minute, 2 of 400 today
    pool.record_success("a", MODEL, tokens=500)  # 500 of 1000 tokens this minute
    assert headers(pool) == {
        "x-codex-primary-used-percent": "50",  # tpm, tighter than rpm's 25 %
        "x-codex-primary-window-minutes": "1",
        "x-codex-secondary-used-percent": "0.5",
        "x-codex-secondary-window-minutes": "1440",
    }  # sliding windows: no reset time to tell


def test_a_google_daily_quota_is_secondary_and_full(clock):
    pool = make_pool(clock, "a")
    pool.configure_limits({"a": QuotaLimits(rpd=400)})
    pool.observe("a", MODEL)  # 1 of 400 today: a day too, less spent than Google's
    spent = figure(clock, "GenerateRequestsPerDayPerProjectPerModel", 50, 0, 3600)
    pool.observe("a", MODEL, [spent], count=False)
    assert headers(pool) == {
        "x-codex-secondary-used-percent": "100",
        "x-codex-secondary-window-minutes": "1440",
        "x-codex-secondary-reset-at": str(int(spent.reset_at)),
    }


def test_spent_without_a_limit_is_full(clock):
    pool = make_pool(clock, "a")
    pool.observe("a", MODEL, [figure(clock, "retry-after", None, 0, 20)], count=False)
    assert headers(pool)["x-codex-primary-used-percent"] == "100"


def test_headers_are_kept_until_the_figures_change_or_expire(clock):
    pool = make_pool(clock, "a")
    limits = CodexLimits(pool)
    pool.observe("a", MODEL, [figure(clock, "tokens", 1000, 900, 30)], count=False)
    first = limits.headers("a", MODEL)
    assert dict(first)["x-codex-primary-used-percent"] == "10"
    clock.advance(10)
    assert limits.headers("a", MODEL) is first  # the same object: not worked out again
    pool.observe("a", MODEL, [figure(clock, "tokens", 1000, 400, 30)], count=False)
    assert dict(limits.headers("a", MODEL))["x-codex-primary-used-percent"] == "60"
    clock.advance(31)  # its reset passed: what was used is no longer known
    assert limits.headers("a", MODEL) == ()


def test_local_counts_refresh_the_headers(clock):
    pool = make_pool(clock, "a")
    limits = CodexLimits(pool)
    assert limits.headers("a", MODEL) == ()
    pool.configure_limits({"a": QuotaLimits(rpm=4)})  # a reload set a limit
    pool.observe("a", MODEL)
    assert dict(limits.headers("a", MODEL))["x-codex-primary-used-percent"] == "25"
    pool.observe("a", MODEL)
    assert dict(limits.headers("a", MODEL))["x-codex-primary-used-percent"] == "50"
    clock.advance(61)  # both requests left the minute, without any new event
    assert dict(limits.headers("a", MODEL))["x-codex-primary-used-percent"] == "0"
