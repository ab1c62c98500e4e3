"""`localgate accounts test` for each provider kind, against the fakes (no mocked call)."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import account, write_config


@pytest.mark.parametrize(
    ("kind", "key_header", "key"),
    [
        ("anthropic", "x-api-key", "sk-test-work-secret"),
        ("openai", "authorization", "Bearer sk-test-work-secret"),
        ("gemini", "x-goog-api-key", "sk-test-work-secret"),
    ],
)
async def test_each_api_key_provider(cli, config_path, make_fake, kind, key_header, key):
    fake = await make_fake(kind, "work")
    config_path.parent.mkdir(parents=True)
    write_config(config_path, [account("work", kind, fake.url)])
    # The CLI runs its own loop: off this one, which serves the fake.
    result = await asyncio.to_thread(cli, "accounts", "test", "work")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok (") and "accepted the credentials" in result.output
    (checked,) = fake.requests
    assert checked.headers[key_header] == key


async def test_unreachable_account_fails_with_the_reason(cli, config_path):
    config_path.parent.mkdir(parents=True)
    write_config(config_path, [account("work", "openai", "http://127.0.0.1:9/v1")])
    failed = await asyncio.to_thread(cli, "accounts", "test", "work")
    assert failed.exit_code == 1
    assert failed.stderr.startswith("failed: cannot connect to http://127.0.0.1:9/v1")


@pytest.mark.parametrize("status", [401, 200])
async def test_a_flooding_upstream_is_not_read_whole(cli, config_path, status):
    # A refusal is read only to quote it, under [server] max_response_mb; a 200's
    # body (the model list) is not read at all.
    from tests.fakes.flood import flooding

    async with flooding("/v1/models", 50 << 20, status=status) as (url, sent):
        config_path.parent.mkdir(parents=True)
        write_config(
            config_path, [account("work", "openai", url + "/v1")], server={"max_response_mb": 1}
        )
        result = await asyncio.to_thread(cli, "accounts", "test", "work")
    assert sum(sent) < 20 << 20, f"{sum(sent) >> 20} MB were read"
    if status == 200:
        assert result.exit_code == 0, result.output
        assert "accepted the credentials" in result.output
    else:
        assert result.exit_code == 1
        assert "401 from" in result.stderr and "more than 1 MB" in result.stderr
        assert "xxx" not in result.stderr
