"""Upstream proxies: HTTPS_PROXY / NO_PROXY by default, an account's own `proxy`, never loopback."""

from __future__ import annotations

import pytest

from localgate.providers.proxy import upstream_proxy
from tests.support import account


@pytest.mark.parametrize(
    ("env", "setting", "url", "expected"),
    [
        ({}, None, "https://api.anthropic.com", None),
        ({"HTTPS_PROXY": "http://corp:3128"}, None, "https://api.anthropic.com", "http://corp:3128"),
        ({"https_proxy": "http://corp:3128"}, None, "https://api.openai.com/v1", "http://corp:3128"),
        ({"HTTP_PROXY": "http://corp:3128"}, None, "https://api.anthropic.com", None),
        ({"HTTP_PROXY": "http://corp:3128"}, None, "http://ollama.lan:11434/v1", "http://corp:3128"),
        ({"HTTPS_PROXY": "http://corp:3128", "NO_PROXY": ".anthropic.com"}, None,
         "https://api.anthropic.com", None),
        ({"HTTPS_PROXY": "http://corp:3128", "NO_PROXY": "example.org"}, None,
         "https://api.anthropic.com", "http://corp:3128"),
        ({"HTTPS_PROXY": "http://corp:3128"}, "none", "https://api.anthropic.com", None),
        ({"HTTPS_PROXY": "http://corp:3128"}, "http://own:8080", "https://x.ai/v1",
         "http://own:8080"),
        ({}, "http://own:8080", "https://x.ai/v1", "http://own:8080"),
        # Loopback never goes through a proxy, whatever is set.
        ({"HTTP_PROXY": "http://corp:3128"}, None, "http://127.0.0.1:11434/v1", None),
        ({"HTTP_PROXY": "http://corp:3128"}, "http://own:8080", "http://localhost:8000", None),
        ({"HTTP_PROXY": "http://corp:3128"}, None, "http://[::1]:8000/v1", None),
    ],
)  # fmt: skip
def test_which_proxy(monkeypatch, env, setting, url, expected):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert upstream_proxy(setting, url) == expected


OPENAI_BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


async def test_requests_go_through_the_accounts_proxy(localgate, make_fake):
    """The fake answers as the proxy: it receives the absolute-form request for the
    upstream host (never resolved: the connection goes to the proxy)."""
    proxy = await make_fake("openai", "proxy")
    client = await localgate(
        [account("corp", "openai", "http://api.upstream.invalid/v1", proxy=proxy.url)]
    )
    response = await client.post("/v1/chat/completions", json=OPENAI_BODY)
    assert response.status == 200, await response.text()
    (seen,) = proxy.requests
    assert seen.headers["host"] == "api.upstream.invalid"
    assert seen.headers["authorization"] == "Bearer sk-test-corp-secret"


async def test_environment_proxy_is_honoured(localgate, make_fake, monkeypatch):
    proxy = await make_fake("openai", "proxy")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    client = await localgate([account("corp", "openai", "http://api.upstream.invalid/v1")])
    response = await client.post("/v1/chat/completions", json=OPENAI_BODY)
    assert response.status == 200, await response.text()
    assert proxy.requests[0].headers["host"] == "api.upstream.invalid"


async def test_loopback_upstream_bypasses_the_environment_proxy(localgate, make_fake, monkeypatch):
    upstream = await make_fake("openai", "local")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: used = failure
    client = await localgate([account("local", "openai", upstream.url)])
    response = await client.post("/v1/chat/completions", json=OPENAI_BODY)
    assert response.status == 200 and len(upstream.requests) == 1


def test_google_token_refresh_goes_through_the_accounts_proxy(fake_google_token):
    """The fake token endpoint answers as the proxy: it gets the absolute-form request."""
    import json

    from localgate.google.credential import GoogleCredential, google_credentials
    from localgate.google.transport import Request

    info = {**fake_google_token.authorized_user(), "token_uri": "http://oauth.upstream.invalid/t"}
    credential = GoogleCredential(
        json.dumps(info),
        google_credentials(info, "test"),
        account="gcp",
        relogin="log in again",
        transport=Request(proxy=fake_google_token.url),
    )
    assert credential.blocking_token()
