"""Figures a provider garbles or never expires: the view stays up and they do not linger."""

from __future__ import annotations

import json
import time

import pytest

from localgate.config import AccountConfig
from localgate.ledger import LedgerStore, ledger_path
from localgate.limits import iso, limits_table, limits_view, offline_view
from localgate.pool.failures import Failure, FailureKind
from localgate.pool.signals import read_limits
from localgate.providers.ratelimit import (
    FIGURE_LIFETIME,
    LimitSnapshot,
    anthropic_reset_wait,
    limit_snapshots,
)
from tests.limits.live import free_port, run_cli
from tests.pool.test_pool import MODEL, Clock, make_pool
from tests.support import account, write_config

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z


@pytest.mark.parametrize("wall", [1e20, -1e20, float("inf"), float("nan"), -62135646000.0])
def test_iso_is_total(wall):
    assert iso(wall) is None


def test_an_absurd_openai_reset_is_dropped_not_stored():
    given = {
        "x-ratelimit-limit-requests": "10",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1e20",
    }
    (figure,) = limit_snapshots(given, "openai", NOW)
    assert figure.reset_at is None and figure.remaining == 0


@pytest.mark.parametrize(
    "reset",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2020-01-01T00:00:00Z"],
)
def test_an_anthropic_reset_outside_a_sane_window_is_dropped(reset):
    given = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": reset,
    }
    (figure,) = limit_snapshots(given, "anthropic", NOW)
    assert figure.reset_at is None
    assert anthropic_reset_wait(given, NOW) is None


def test_a_huge_count_is_clamped():
    given = {"x-ratelimit-limit-tokens": "1e30", "x-ratelimit-remaining-tokens": "1e30"}
    (figure,) = limit_snapshots(given, "openai", NOW)
    assert figure.limit == figure.remaining == 2**63 - 1


def test_a_google_retry_far_away_is_not_a_reset():
    failure = Failure(FailureKind.QUOTA_EXHAUSTED, "429", until_wall=1e20)
    figures = read_limits("gemini", {}, b"", failure, NOW)
    assert all(f.reset_at is None or f.reset_at <= NOW + 400 * 86400 for f in figures)


def test_the_view_survives_a_stored_absurd_reset():
    clock = Clock()
    pool = make_pool(clock, "a")
    wall = clock.wall()
    pool.observe("a", MODEL, [LimitSnapshot("requests", 10, 5, 1e20, wall)], count=False)
    view = limits_view([AccountConfig("a", "anthropic")], pool, now_wall=wall)
    assert view["accounts"][0]["limits"][0]["reset"] is None
    assert "a" in limits_table(view, now_wall=wall)


async def test_limits_offline_with_an_absurd_reset_in_the_ledger(config_path):
    accounts = [account("a", "anthropic", "http://127.0.0.1:9")]
    write_config(config_path, accounts, server={"port": free_port()})
    from localgate.config import load_config

    config = load_config(config_path)
    store = LedgerStore.open(ledger_path(config.state_dir))
    now = time.time()
    store.write([], [("a", MODEL, "requests", 10, 5, 1e20, now)])
    store.write([], [("a", MODEL, "tokens", 10, 5, -62135646000.0, now)])
    store.close()
    assert offline_view(config, None, now_wall=now)["accounts"]
    result = await run_cli(config_path, "limits", "--json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    result = await run_cli(config_path, "limits")
    assert result.exit_code == 0, result.output


# -- figures without a reset time expire --------------------------------------


def test_a_spent_figure_without_reset_expires():
    clock = Clock()
    pool = make_pool(clock, "a", "b", strategy="least-used")
    wall = clock.wall()
    pool.observe("a", MODEL, [LimitSnapshot("requests", 10, 0, None, wall)], count=False)
    assert pool.select(MODEL, ["a", "b"]).ready[0] == "b"
    clock.advance(FIGURE_LIFETIME + 1)
    assert pool.select(MODEL, ["a", "b"]).ready == ["a", "b"]  # headroom equal again
    (status, _) = pool.status()
    assert status.provider_limits == ()  # gone from the view, too


def test_gemini_quota_ids_give_a_lifetime():
    failure = Failure(FailureKind.QUOTA_EXHAUSTED, "429 quota")
    body = json.dumps(
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"},
                            {"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"},
                        ],
                    }
                ],
            }
        }
    ).encode()
    minute, day = read_limits("gemini", {}, body, failure, NOW)
    assert minute.reset_at == NOW + 60
    assert NOW + 60 < day.reset_at <= NOW + 86400


def test_the_ledger_forgets_expired_figures(tmp_path):
    now = time.time()
    store = LedgerStore.open(ledger_path(tmp_path))
    try:
        store.write(
            [],
            [
                ("a", MODEL, "requests", 10, 0, None, now - 3 * 86400),  # no reset, days old
                ("a", MODEL, "tokens", 10, 0, now - 3600, now - 7200),  # reset an hour ago
                ("a", MODEL, "input-tokens", 10, 4, now + 600, now - 10),  # still good
            ],
        )
        store.write([], [("b", MODEL, "requests", 10, 0, 1e20, now - 120)])  # pre-fix junk
        assert [s.dimension for _, _, s in store.limits(now)] == ["input-tokens"]
        store.prune(now - 86400, now)
        count = store._db.execute("SELECT COUNT(*) FROM limits").fetchone()[0]
        assert count == 1
    finally:
        store.close()
