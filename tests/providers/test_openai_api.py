"""Which API an OpenAI account speaks: `api`, the base URL, and Responses-only models."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from localgate.config import AccountConfig
from localgate.providers.base import Credential
from localgate.providers.openai import OpenAIProvider

OFFICIAL = "https://api.openai.com/v1"
COMPATIBLE = "https://openrouter.ai/api/v1"


def provider(base_url: str | None, api: str | None = None) -> OpenAIProvider:
    extra = MappingProxyType({"api": api} if api else {})
    account = AccountConfig("oai", "openai", base_url=base_url, extra=extra)
    return OpenAIProvider(account, Credential("sk-test"))


@pytest.mark.parametrize(
    ("base_url", "api", "model", "spoken"),
    [
        (None, None, "gpt-4o", ("openai", "responses")),  # api.openai.com speaks both
        (OFFICIAL, None, "gpt-4o", ("openai", "responses")),
        (COMPATIBLE, None, "gpt-4o", ("openai",)),  # most compatible services: chat only
        (COMPATIBLE, "responses", "gpt-4o", ("responses",)),
        (None, "chat", "gpt-4o", ("openai",)),
        (None, "chat", "gpt-5-codex", ("responses",)),  # exists only in the Responses API
        (COMPATIBLE, None, "o3-pro", ("responses",)),
    ],
)
def test_dialects(base_url, api, model, spoken):
    assert provider(base_url, api).dialects_for(model) == spoken


def test_each_client_is_relayed_in_its_own_dialect_where_the_account_speaks_both():
    oai = provider(None)
    assert oai.upstream_dialect("gpt-4o", "openai") == "openai"
    assert oai.upstream_dialect("gpt-4o", "responses") == "responses"
    assert oai.upstream_dialect("gpt-4o", "anthropic") == "openai"  # translated to chat
    assert provider(COMPATIBLE).upstream_dialect("gpt-4o", "responses") == "openai"
