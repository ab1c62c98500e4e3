"""Browser attacks on localhost and the proxy token: refused before any upstream is called."""

from __future__ import annotations

import anthropic
import pytest

from localgate.proxytoken import rotate_proxy_token
from tests.hardening.helpers import (
    COMPLETIONS,
    COUNT,
    GENERATE,
    GET_PATHS,
    MESSAGES,
    POST_ROUTES,
    assert_dialect_error,
    start,
    upstream_calls,
)
from tests.sdks import anthropic_sdk, openai_sdk

PAGE = "http://evil.example"


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: r.path)
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8080", "", "127.0.0.1.evil.example", "0.0.0.0:8080"]
)
async def test_rebinding_host_is_refused_in_dialect(localgate, make_fake, route, host):
    client, fakes = await start(localgate, make_fake)
    resp = await client.post(route.path, json=route.body, headers={"Host": host})
    assert resp.status == 403
    body = assert_dialect_error(route.dialect, 403, await resp.read())
    assert "DNS rebinding" in str(body)
    assert "access-control-allow-origin" not in resp.headers
    assert upstream_calls(fakes) == 0


@pytest.mark.parametrize("host", ["localhost:8080", "127.0.0.1", "[::1]:8080", "app.localhost"])
async def test_loopback_hosts_are_served(localgate, make_fake, host):
    client, fakes = await start(localgate, make_fake)
    resp = await client.post(MESSAGES.path, json=MESSAGES.body, headers={"Host": host})
    assert resp.status == 200


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: r.path)
async def test_hostile_page_cannot_post(localgate, make_fake, route):
    client, fakes = await start(localgate, make_fake)
    resp = await client.post(route.path, json=route.body, headers={"Origin": PAGE})
    assert resp.status == 403
    assert_dialect_error(route.dialect, 403, await resp.read())
    assert "access-control-allow-origin" not in resp.headers
    assert upstream_calls(fakes) == 0


@pytest.mark.parametrize("site", ["Cross-Site", "CROSS-SITE", "Same-Site"])
async def test_sec_fetch_site_is_compared_without_case(localgate, make_fake, site):
    client, fakes = await start(localgate, make_fake)
    resp = await client.get("/health", headers={"Sec-Fetch-Site": site})
    assert resp.status == 403
    resp = await client.post(MESSAGES.path, json=MESSAGES.body, headers={"Sec-Fetch-Site": site})
    assert resp.status == 403
    assert upstream_calls(fakes) == 0


@pytest.mark.parametrize("path", GET_PATHS)
async def test_hostile_page_cannot_read(localgate, make_fake, path):
    client, _ = await start(localgate, make_fake)
    for headers in ({"Origin": PAGE}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = await client.get(path, headers=headers)
        assert resp.status == 403, headers
        assert not any(h.lower().startswith("access-control") for h in resp.headers)


async def test_hostile_preflight_gets_no_cors(localgate, make_fake):
    client, _ = await start(localgate, make_fake)
    resp = await client.options(
        MESSAGES.path,
        headers={"Origin": PAGE, "Access-Control-Request-Method": "POST"},
    )
    assert resp.status == 403
    assert not any(h.lower().startswith("access-control") for h in resp.headers)


async def test_allowed_origin_gets_preflight_and_cors_headers(localgate, make_fake):
    origin = "http://localhost:3000"
    client, fakes = await start(localgate, make_fake, server={"allowed_origins": [origin + "/"]})
    pre = await client.options(
        COMPLETIONS.path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert pre.status == 204
    assert pre.headers["access-control-allow-origin"] == origin
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-headers"] == "authorization, content-type"
    assert upstream_calls(fakes) == 0
    resp = await client.post(COMPLETIONS.path, json=COMPLETIONS.body, headers={"Origin": origin})
    assert resp.status == 200
    assert resp.headers["access-control-allow-origin"] == origin
    assert resp.headers["vary"] == "Origin"
    assert "x-request-id" in resp.headers["access-control-expose-headers"]
    # Other origins stay refused.
    other = await client.post(COMPLETIONS.path, json=COMPLETIONS.body, headers={"Origin": PAGE})
    assert other.status == 403


async def test_no_cors_headers_by_default(localgate, make_fake):
    client, _ = await start(localgate, make_fake)
    resp = await client.post(MESSAGES.path, json=MESSAGES.body)
    assert resp.status == 200
    assert not any(h.lower().startswith("access-control") for h in resp.headers)


async def test_non_loopback_bind_host_is_trusted(aiohttp_client, config_path):
    from localgate.config import load_config
    from localgate.server.app import create_app

    token = {"x-api-key": rotate_proxy_token()}  # beyond loopback, a token is required
    app = create_app(load_config(config_path), bind_host="192.0.2.7")
    client = await aiohttp_client(app)
    ok = await client.get("/health", headers={"Host": "192.0.2.7:8080", **token})
    assert ok.status == 200
    other = await client.get("/health", headers={"Host": "192.0.2.8:8080", **token})
    assert other.status == 403


# -- the proxy token ------------------------------------------------------------


async def test_token_unset_any_key_works(localgate, make_fake):
    client, _ = await start(localgate, make_fake)
    resp = await client.post(MESSAGES.path, json=MESSAGES.body, headers={"x-api-key": "anything"})
    assert resp.status == 200


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: r.path)
async def test_token_missing_or_wrong_is_401_in_dialect(localgate, make_fake, route):
    token = rotate_proxy_token()
    client, fakes = await start(localgate, make_fake)
    for headers in (
        {},
        {"x-api-key": token[:-1]},
        {"Authorization": "Bearer " + token + "x"},
        {"Authorization": "Basic " + token},
        {"x-api-key": "é" + token},
    ):
        resp = await client.post(route.path, json=route.body, headers=headers)
        assert resp.status == 401, headers
        body = assert_dialect_error(route.dialect, 401, await resp.read())
        assert token not in str(body)
    assert upstream_calls(fakes) == 0


async def test_token_accepted_in_every_place(localgate, make_fake):
    token = rotate_proxy_token()
    client, _ = await start(localgate, make_fake)
    for headers in (
        {"x-api-key": token},
        {"Authorization": "Bearer " + token},
        {"authorization": "bearer  " + token},
        {"x-goog-api-key": token},
        {"x-api-key": "wrong", "Authorization": "Bearer " + token},
    ):
        resp = await client.post(MESSAGES.path, json=MESSAGES.body, headers=headers)
        assert resp.status == 200, headers
    resp = await client.post(GENERATE.path + f"?key={token}", json=GENERATE.body)
    assert resp.status != 401  # Google clients send it in the query


async def test_query_key_only_on_routes_whose_dialect_uses_it(localgate, make_fake):
    token = rotate_proxy_token()
    client, fakes = await start(localgate, make_fake)
    for route in (MESSAGES, COUNT, COMPLETIONS):
        resp = await client.post(route.path + f"?beta=true&key={token}", json=route.body)
        assert resp.status == 401, route.path
        assert_dialect_error(route.dialect, 401, await resp.read())
    assert (await client.get(f"/health?key={token}")).status == 401
    assert upstream_calls(fakes) == 0
    assert (await client.get(f"/v1beta/models?key={token}")).status == 200


async def test_token_guards_every_route_but_the_probe(localgate, make_fake):
    rotate_proxy_token()
    client, _ = await start(localgate, make_fake)
    for path in GET_PATHS:
        assert (await client.get(path)).status == 401, path
    assert (await client.head("/")).status == 200


async def test_sdks_with_the_token(localgate, make_fake):
    token = rotate_proxy_token()
    client, fakes = await start(localgate, make_fake)
    ant = anthropic_sdk(client, api_key=token)
    message = await ant.messages.create(**MESSAGES.body)
    assert message.content[0].text == "Hello from ant"
    oai = openai_sdk(client, api_key=token)
    done = await oai.chat.completions.create(**COMPLETIONS.body)
    assert done.choices[0].message.content == "Hello from oai"
    # The proxy token is never forwarded upstream; the account's own key is.
    for fake in fakes:
        assert token not in str(fake.requests[-1].headers)
    bad = anthropic_sdk(client, api_key="x")
    with pytest.raises(anthropic.AuthenticationError):
        await bad.messages.create(**MESSAGES.body)


async def test_rotation_is_picked_up_without_restart(localgate, make_fake, monkeypatch):
    from localgate.proxytoken import ProxyTokenSource, clear_proxy_token

    old = rotate_proxy_token()
    source = ProxyTokenSource()
    assert source.value == old
    new = rotate_proxy_token()
    watcher = __import__("asyncio").create_task(source.watch(interval=0.01))
    try:
        for _ in range(100):
            if source.value == new:
                break
            await __import__("asyncio").sleep(0.01)
        assert source.value == new
        clear_proxy_token()
        for _ in range(100):
            if source.value is None:
                break
            await __import__("asyncio").sleep(0.01)
        assert source.value is None
    finally:
        watcher.cancel()


async def test_keyring_failure_on_reread_keeps_the_token():
    import asyncio

    from localgate.errors import SecretError
    from localgate.proxytoken import ProxyTokenSource

    answers = iter(["lg-first"])

    def read():
        try:
            return next(answers)
        except StopIteration:
            raise SecretError("keyring locked") from None

    source = ProxyTokenSource(read)
    watcher = asyncio.create_task(source.watch(interval=0.01))
    await asyncio.sleep(0.1)
    watcher.cancel()
    assert source.value == "lg-first"


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("localhost", True),
        ("LOCALHOST.:8080", True),
        ("a.localhost", True),
        ("127.0.0.1:8080", True),
        ("127.8.9.10", True),
        ("[::1]:8080", True),
        ("::1", True),
        ("127.0.0.1.evil.example", False),
        ("127.evil.example", False),
        ("localhost.evil.example", False),
        ("evil-localhost", False),
        ("0.0.0.0", False),
        ("", False),
        ("[::1", False),
        ("[::1]evil.com", False),
        ("[::1]evil.com:8080", False),
        ("[::1]:8080evil", False),
        ("[::1]:", False),
        ("192.168.1.2:8080", False),
    ],
)
def test_is_loopback_host(host, loopback):
    from localgate.server.guard import is_loopback_host

    assert is_loopback_host(host) is loopback
