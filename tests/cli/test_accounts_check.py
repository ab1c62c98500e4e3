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
