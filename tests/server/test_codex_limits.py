"""The x-codex-* rate-limit headers on /v1/responses answers, read with the openai SDK.

The fake accounts send their provider's rate-limit headers; what the client
gets is the served account's figures in the header family Codex reads.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import Reply
from tests.sdks import openai_sdk
from tests.support import account

CODEX_HEADERS = "x-codex-"


def anthropic_figures(limit: int, remaining: int, reset_in: int) -> tuple[dict, int]:
    """Anthropic's request figures resetting in `reset_in` seconds, and that reset (epoch)."""
    reset = (datetime.now(UTC) + timedelta(seconds=reset_in)).replace(microsecond=0)
    headers = {
        "anthropic-ratelimit-requests-limit": str(limit),
        "anthropic-ratelimit-requests-remaining": str(remaining),
        "anthropic-ratelimit-requests-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return headers, int(reset.timestamp())


def codex_headers(raw) -> dict[str, str]:
    return {k: v for k, v in raw.headers.items() if k.lower().startswith(CODEX_HEADERS)}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_an_anthropic_accounts_figures_reach_a_responses_client(localgate, make_fake, stream):
    claude = await make_fake("anthropic", "claude")
    figures, reset = anthropic_figures(50, 10, 40)
    # Every other figure of the fake is nearly unused: requests (80 % used) is the tightest.
    claude.default = Reply(headers=figures)
    client = await localgate([account("claude", "anthropic", claude.url)])
    sdk = openai_sdk(client)
    raw = await sdk.responses.with_raw_response.create(
        model="claude-sonnet-4-5", input="hi", stream=stream
    )
    assert codex_headers(raw) == {
        "x-codex-primary-used-percent": "80",
        "x-codex-primary-reset-at": str(reset),
    }
    answer = raw.parse()
    if stream:
        events = [event.type async for event in answer]
        assert events[-1] == "response.completed"
    else:
        assert answer.output_text == "Hello from claude"


async def test_an_openai_accounts_tightest_figure_is_primary(localgate, make_fake):
    gpt = await make_fake("openai", "gpt")
    gpt.default = Reply(
        headers={
            "x-ratelimit-limit-requests": "100",
            "x-ratelimit-remaining-requests": "75",
            "x-ratelimit-reset-requests": "30s",
            "x-ratelimit-limit-tokens": "1000",
            "x-ratelimit-remaining-tokens": "100",
            "x-ratelimit-reset-tokens": "1m0s",
        }
    )
    client = await localgate([account("gpt", "openai", gpt.url, api="responses")])
    before = time.time()
    raw = await openai_sdk(client).responses.with_raw_response.create(model="gpt-5", input="hi")
    after = time.time()
    found = codex_headers(raw)
    assert found["x-codex-primary-used-percent"] == "90"  # tokens: 900 of 1000
    assert math.ceil(before + 60) <= int(found["x-codex-primary-reset-at"]) <= after + 61
    assert set(found) == {"x-codex-primary-used-percent", "x-codex-primary-reset-at"}
    assert raw.parse().output_text == "Hello from gpt"


async def test_configured_limits_fill_both_windows(localgate, make_fake):
    gemini = await make_fake("gemini", "gem")  # sends no rate-limit figures of its own
    client = await localgate([account("gem", "gemini", gemini.url, rpm=4, rpd=200)])
    sdk = openai_sdk(client)
    for used in ("25", "50"):
        raw = await sdk.responses.with_raw_response.create(model="gemini-2.5-pro", input="hi")
        assert codex_headers(raw) == {
            "x-codex-primary-used-percent": used,  # this request counted: 1, then 2 of 4
            "x-codex-primary-window-minutes": "1",
            "x-codex-secondary-used-percent": str(float(used) / 50).removesuffix(".0"),
            "x-codex-secondary-window-minutes": "1440",
        }


async def test_nothing_known_no_headers_and_other_routes_none(localgate, make_fake):
    gemini = await make_fake("gemini", "gem")
    claude = await make_fake("anthropic", "claude")
    claude.default = Reply(headers=anthropic_figures(50, 10, 40)[0])
    client = await localgate(
        [account("gem", "gemini", gemini.url), account("claude", "anthropic", claude.url)]
    )
    sdk = openai_sdk(client)
    raw = await sdk.responses.with_raw_response.create(model="gemini-2.5-pro", input="hi")
    assert raw.headers["x-localgate-account"] == "gem"
    assert codex_headers(raw) == {}  # no figures, no configured limit: nothing is made up
    # Chat Completions clients are not Codex: the same figures, no x-codex-* headers.
    raw = await sdk.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-localgate-account"] == "claude"
    assert codex_headers(raw) == {}
    raw = await sdk.responses.with_raw_response.create(model="claude-sonnet-4-5", input="hi")
    assert codex_headers(raw)["x-codex-primary-used-percent"] == "80"
