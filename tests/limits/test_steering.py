"""Proactive limits in a running app: work moves before the provider would answer 429."""

from __future__ import annotations

from tests.fakes import Reply
from tests.ledger.test_ledger_app import spent_headers
from tests.limits.live import HI, post_messages
from tests.support import account

FILL_FIRST = {"strategy": "fill-first"}


async def test_rpm_sends_the_third_request_to_the_other_account(localgate, make_fake):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    client = await localgate(
        [account("a", "anthropic", a.url, priority=1, rpm=2), account("b", "anthropic", b.url)],
        server=FILL_FIRST,
    )
    served = []
    for _ in range(3):
        async with client.post("/v1/messages", json=HI) as resp:
            assert resp.status == 200
            served.append(resp.headers["x-localgate-account"])
    assert served == ["a", "a", "b"]
    assert (len(a.requests), len(b.requests)) == (2, 1)  # a never saw the third


async def test_rpm_holds_under_a_burst(localgate, make_fake):
    """Requests count as they leave: six at once put two on `a` (rpm=2), four on `b`."""
    import asyncio

    from tests.fakes import Delay

    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    a.default = b.default = Delay(0.5)
    client = await localgate(
        [account("a", "anthropic", a.url, priority=1, rpm=2), account("b", "anthropic", b.url)],
        server=FILL_FIRST,
    )

    async def one() -> str:
        async with client.post("/v1/messages", json=HI) as resp:
            assert resp.status == 200
            return resp.headers["x-localgate-account"]

    served = await asyncio.gather(*(one() for _ in range(6)))
    assert sorted(served) == ["a", "a", "b", "b", "b", "b"]
    assert len(a.requests) == 2


async def test_all_accounts_at_their_limit_is_a_429_with_retry_after(localgate, make_fake):
    a = await make_fake("anthropic", "a")
    client = await localgate([account("a", "anthropic", a.url, rpm=1)], server={"max_wait": 0})
    await post_messages(client)
    async with client.post("/v1/messages", json=HI) as resp:
        assert resp.status == 429
        assert 0 < float(resp.headers["retry-after"]) <= 61
    assert len(a.requests) == 1


async def test_an_exhausted_figure_skips_the_account_until_reset(localgate, make_fake):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    client = await localgate(
        [account("a", "anthropic", a.url, priority=1), account("b", "anthropic", b.url)],
        server=FILL_FIRST,
    )
    a.script(Reply(headers=spent_headers()))  # served, but that was the last request
    await post_messages(client)
    await post_messages(client)
    await post_messages(client)
    assert (len(a.requests), len(b.requests)) == (1, 2)
    async with client.get("/account-limits") as resp:
        view = await resp.json()
    a_view = view["accounts"][0]
    assert a_view["state"] == "cooling"
    assert "requests exhausted (0 of 50 left)" in a_view["reason"]
    requests = [x for x in a_view["limits"] if x["dimension"] == "requests"]
    assert requests[0]["remaining"] == 0 and requests[0]["limit"] == 50


async def test_openai_figures_steer_least_used_by_headroom(localgate, make_fake):
    a = await make_fake("openai", "a")
    b = await make_fake("openai", "b")
    client = await localgate(
        [account("a", "openai", a.url), account("b", "openai", b.url)],
        server={"strategy": "least-used"},
    )
    # The fake's default reset (6ms) would make the figure stale before the next
    # request on a busy machine: a's low headroom must hold for the whole test.
    low = {
        "x-ratelimit-limit-requests": "100",
        "x-ratelimit-remaining-requests": "5",
        "x-ratelimit-reset-requests": "60s",
    }
    a.default = Reply(headers=low)  # a reports 5% left; b (the fake default) 99.99%
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
    for _ in range(6):
        async with client.post("/v1/chat/completions", json=body) as resp:
            assert resp.status == 200
    assert len(a.requests) <= 1 and len(b.requests) >= 5
