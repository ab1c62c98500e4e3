# ruff: noqa: E501  (the table snapshot has the long lines the table prints)
"""Snapshot tests of the /account-limits view, JSON and plain text, on a fixed clock."""

from __future__ import annotations

from localgate import providers
from localgate.config import AccountConfig
from localgate.limits import TODAY_MEANS, limits_table, limits_view
from localgate.pool import AccountEntry, Failure, FailureKind, Pool, QuotaLimits
from localgate.providers.ratelimit import LimitSnapshot
from tests.pool.test_pool import Clock

OPUS = "claude-opus-4-8"
SONNET = "claude-sonnet-4-5"
ACCOUNTS = (
    AccountConfig("work", "anthropic", rpm=50),
    AccountConfig("personal", "anthropic"),
    AccountConfig("broken", "anthropic"),
    AccountConfig("oa", "openai", enabled=False),
)


def scene() -> tuple[Pool, Clock]:
    """Four accounts after some traffic: ok with figures, cooling, invalid, disabled."""
    clock = Clock()  # wall 2023-11-14T22:13:20Z
    pool = Pool(strategy="fill-first", clock=clock, wall=clock.wall)
    pool.sync([AccountEntry(a.name, 0, a.enabled, "r") for a in ACCOUNTS])
    pool.configure_limits({a.name: QuotaLimits.of(a) for a in ACCOUNTS})
    wall = clock.wall()
    figures = [
        LimitSnapshot("requests", 4000, 3997, wall + 1, wall),
        LimitSnapshot("input-tokens", 2_000_000, 400_000, wall + 40, wall),
    ]
    for answer in ([], [], figures):
        pool.observe("work", OPUS, answer)
        pool.record_success("work", OPUS, tokens=1500)
        pool.served("work", 1500)  # the client got its answer (the ledger's row)
    pool.observe("personal", SONNET, [LimitSnapshot("requests", 50, 0, wall + 90, wall)])
    pool.record_failure(
        "personal", OPUS, Failure(FailureKind.RATE_LIMITED, "429 rate limited", retry_after=42)
    )
    pool.record_failure(
        "broken", OPUS, Failure(FailureKind.AUTH, "401 invalid x-api-key", model_scoped=False)
    )
    clock.advance(2)
    return pool, clock


EXPECTED_JSON = {
    "generated_at": "2023-11-14T22:13:22Z",
    "today": TODAY_MEANS,
    "summary": {"accounts": 4, "ok": 1, "cooling": 1, "invalid": 1, "disabled": 1},
    "accounts": [
        {
            "name": "work",
            "provider": "anthropic",
            "enabled": True,
            "models": ["claude-*"],
            "state": "ok",
            "reason": None,
            "cooldowns": [],
            "limits": [
                {
                    "model": OPUS,
                    "dimension": "input-tokens",
                    "limit": 2000000,
                    "remaining": 400000,
                    "reset": "2023-11-14T22:14:00Z",
                    "observed": "2023-11-14T22:13:20Z",
                },
            ],
            "usage": {
                "requests_last_minute": 3,
                "tokens_last_minute": 4500,
                "requests_today": 3,
                "tokens_today": 4500,
                "last_used": "2023-11-14T22:13:20Z",
            },
            "configured": {"rpm": {"limit": 50, "used": 3}},
        },
        {
            "name": "personal",
            "provider": "anthropic",
            "enabled": True,
            "models": ["claude-*"],
            "state": "cooling",
            "reason": "provider reports requests exhausted (0 of 50 left)",
            "cooldowns": [
                {
                    "model": OPUS,
                    "until": "2023-11-14T22:14:02Z",
                    "reason": "429 rate limited",
                    "kind": "rate_limited",
                },
                {
                    "model": SONNET,
                    "until": "2023-11-14T22:14:50Z",
                    "reason": "provider reports requests exhausted (0 of 50 left)",
                    "kind": "quota_exhausted",
                },
            ],
            "limits": [
                {
                    "model": SONNET,
                    "dimension": "requests",
                    "limit": 50,
                    "remaining": 0,
                    "reset": "2023-11-14T22:14:50Z",
                    "observed": "2023-11-14T22:13:20Z",
                }
            ],
            "usage": {
                "requests_last_minute": 0,
                "tokens_last_minute": 0,
                "requests_today": 0,  # an upstream attempt, not a served request
                "tokens_today": 0,
                "last_used": None,
            },
            "configured": {},
        },
        {
            "name": "broken",
            "provider": "anthropic",
            "enabled": True,
            "models": ["claude-*"],
            "state": "invalid",
            "reason": "401 invalid x-api-key",
            "cooldowns": [],
            "limits": [],
            "usage": {
                "requests_last_minute": 0,
                "tokens_last_minute": 0,
                "requests_today": 0,
                "tokens_today": 0,
                "last_used": None,
            },
            "configured": {},
        },
        {
            "name": "oa",
            "provider": "openai",
            "enabled": False,
            "models": list(providers.info("openai").default_models),
            "state": "disabled",
            "reason": None,
            "cooldowns": [],
            "limits": [],
            "usage": {
                "requests_last_minute": 0,
                "tokens_last_minute": 0,
                "requests_today": 0,
                "tokens_today": 0,
                "last_used": None,
            },
            "configured": {},
        },
    ],
}

EXPECTED_TABLE = """\
4 accounts: 1 ok, 1 cooling, 1 invalid, 1 disabled

ACCOUNT   PROVIDER   STATE     REQ/MIN  TOK/MIN  TODAY            LIMITS    DETAIL
work      anthropic  ok        3        4.5k     3 req, 4.5k tok  rpm 3/50
personal  anthropic  cooling   0        0        0 req, 0 tok     -         claude-opus-4-8 back in 40s: 429 rate limited; claude-sonnet-4-5 back in 1m28s: provider reports requests exhausted (0 of 50 left)
broken    anthropic  invalid   0        0        0 req, 0 tok     -         401 invalid x-api-key
oa        openai     disabled  0        0        0 req, 0 tok     -

MODEL              work        personal    broken   oa
claude-opus-4-8    400k/2M in  wait 40s    invalid  disabled
claude-sonnet-4-5  47/50 rpm   wait 1m28s  invalid  disabled
"""


def test_json_view():
    pool, clock = scene()
    assert limits_view(ACCOUNTS, pool, now_wall=clock.wall()) == EXPECTED_JSON


def test_text_table():
    pool, clock = scene()
    view = limits_view(ACCOUNTS, pool, now_wall=clock.wall())
    text = limits_table(view, now_wall=clock.wall())
    assert text == EXPECTED_TABLE
    assert "\x1b" not in text


def test_the_work_account_reset_since_shows_full_again():
    pool, clock = scene()
    clock.advance(60)  # both of work's figures have reset, personal's opus rest is over
    view = limits_view(ACCOUNTS, pool, now_wall=clock.wall())
    assert view["accounts"][0]["limits"] == []  # figures past their reset are forgotten
    text = limits_table(view, now_wall=clock.wall())
    assert text.splitlines()[-1].split()[:2] == ["claude-sonnet-4-5", "50/50"]
