"""The dashboard's security: origins, CSRF, headers, login links, the proxy token."""

from __future__ import annotations

import pytest

from localgate.dashboard import SECURITY_HEADERS
from localgate.dashboard.session import PageSessions
from tests.dashboard.helpers import own_origin, page_headers
from tests.limits.live import HI
from tests.support import account

TOKEN = "lg-test-proxy-token"


async def one_account(dashboard, make_fake, **kwargs):
    fake = await make_fake("anthropic", "a")
    return await dashboard([account("work", "anthropic", fake.url)], **kwargs)


async def csrf_of(client, **kwargs) -> str:
    async with client.get("/ui/api/session", **kwargs) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["csrf"]


@pytest.mark.parametrize("path", ["/ui", "/ui/api/accounts", "/ui/api/usage"])
async def test_a_foreign_origin_is_refused(dashboard, make_fake, path):
    client = await one_account(dashboard, make_fake)
    for origin in ("http://evil.example", "null", "http://localhost:1", "https://127.0.0.1"):
        async with client.get(path, headers={"Origin": origin}) as resp:
            assert resp.status == 403, origin
    async with client.get(path, headers={"Sec-Fetch-Site": "cross-site"}) as resp:
        assert resp.status == 403


async def test_the_pages_own_origin_is_allowed_on_the_dashboard_only(dashboard, make_fake):
    client = await one_account(dashboard, make_fake)
    async with client.get("/ui/api/accounts", headers={"Origin": own_origin(client)}) as resp:
        assert resp.status == 200
        assert "Access-Control-Allow-Origin" not in resp.headers  # same origin needs no CORS
    # The gateway's routes still refuse every origin not in [server] allowed_origins.
    async with client.get("/v1/models", headers={"Origin": own_origin(client)}) as resp:
        assert resp.status == 403


async def test_a_rebinding_host_is_refused_even_with_a_matching_origin(dashboard, make_fake):
    client = await one_account(dashboard, make_fake)
    headers = {"Host": "evil.example:8080", "Origin": "http://evil.example:8080"}
    async with client.get("/ui/api/accounts", headers=headers) as resp:
        assert resp.status == 403


async def test_actions_need_the_same_origin_and_the_csrf_token(dashboard, make_fake):
    client = await one_account(dashboard, make_fake)
    csrf = await csrf_of(client)
    path = "/ui/api/accounts/work/reset"
    async with client.post(path, headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 403  # no Origin: not the page
        assert "own page" in (await resp.json())["error"]["message"]
    async with client.post(path, headers=page_headers(client)) as resp:
        assert resp.status == 403  # no token
    async with client.post(path, headers=page_headers(client, "0" * 64)) as resp:
        assert resp.status == 403  # a wrong token
    evil = {"Origin": "http://evil.example", "X-CSRF-Token": csrf}
    async with client.post(path, headers=evil) as resp:
        assert resp.status == 403
    async with client.post(path, headers=page_headers(client, csrf)) as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "name": "work",
            "action": "reset",
            "state": "ok",
            "ok": True,
            "detail": None,
        }


async def test_security_headers_on_the_page_and_api_and_not_elsewhere(dashboard, make_fake):
    client = await one_account(dashboard, make_fake)
    for path in ("/ui", "/ui/static/app.js", "/ui/api/accounts", "/ui/api/nope"):
        async with client.get(path) as resp:
            for name, value in SECURITY_HEADERS.items():
                assert resp.headers.get(name) == value, (path, name)
    assert "default-src 'self'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    async with client.get("/ui/api/accounts") as resp:
        assert resp.headers["Cache-Control"] == "no-store"


async def test_root_and_api_routes_are_as_before(dashboard, make_fake):
    client = await one_account(dashboard, make_fake, token=TOKEN)
    async with client.head("/") as resp:
        assert resp.status == 200 and "Content-Security-Policy" not in resp.headers
    async with client.get("/") as resp:
        assert (await resp.text()).startswith("localgate ")
        assert "X-Frame-Options" not in resp.headers
    async with client.get("/v1/models") as resp:
        assert resp.status == 401  # the token is still required for the API
    async with client.get("/v1/models", headers={"Origin": "http://evil.example"}) as resp:
        assert resp.status == 403


async def test_no_secret_is_rendered(dashboard, make_fake):
    fake = await make_fake("anthropic", "a")
    client = await dashboard(
        [account("work", "anthropic", fake.url, key="sk-ant-very-secret-key")], token=TOKEN
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with client.post("/v1/messages", headers=headers, json=HI) as resp:
        assert resp.status == 200
    for path in (
        "/ui/api/accounts",
        "/ui/api/matrix",
        "/ui/api/traffic",
        "/ui/api/session",
        "/ui/api/usage",
        "/ui/api/usage.csv",
    ):
        async with client.get(path, headers=headers) as resp:
            text = await resp.text()
            assert resp.status == 200, path
            assert "sk-ant-very-secret-key" not in text and TOKEN not in text, path


async def test_with_a_token_the_api_needs_a_session_but_the_page_loads(dashboard, make_fake):
    client = await one_account(dashboard, make_fake, token=TOKEN)
    async with client.get("/ui") as resp:
        assert resp.status == 200  # the page holds no data: it explains how to log in
    async with client.get("/ui/static/app.js") as resp:
        assert resp.status == 200
    for path in ("/ui/api/session", "/ui/api/accounts", "/ui/api/traffic/stream"):
        async with client.get(path) as resp:
            assert resp.status == 401, path
    async with client.get("/ui/api/accounts", cookies={"localgate_ui": "forged"}) as resp:
        assert resp.status == 401


async def test_login_link_is_single_use_and_sets_a_strict_httponly_cookie(dashboard, make_fake):
    client = await one_account(dashboard, make_fake, token=TOKEN)
    async with client.post("/ui/api/login-link") as resp:
        assert resp.status == 401  # only the token holder (`localgate dashboard`) gets one
    async with client.post(
        "/ui/api/login-link", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as resp:
        link = await resp.json()
    assert link["url"].startswith("/ui/login?code=") and link["expires_in"] == 300
    async with client.get(link["url"], allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/ui"
        cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie
    session = resp.cookies["localgate_ui"].value
    jar = {"localgate_ui": session}
    async with client.get("/ui/api/accounts", cookies=jar) as resp:
        assert resp.status == 200
    async with client.get("/v1/models", cookies=jar) as resp:
        assert resp.status == 401  # the cookie opens the dashboard, not the gateway
    # Used once: the same link no longer logs anyone in.
    client.session.cookie_jar.clear()
    async with client.get(link["url"], allow_redirects=False) as resp:
        assert resp.status == 403 and "localgate dashboard" in await resp.text()
        assert "Set-Cookie" not in resp.headers
    # An action with the session: its own CSRF token, not the open page's.
    csrf = await csrf_of(client, cookies=jar)
    async with client.post(
        "/ui/api/accounts/work/reset", headers=page_headers(client, csrf), cookies=jar
    ) as resp:
        assert resp.status == 200


def test_sessions_end_when_the_token_changes_or_expires():
    token = ["one"]
    clock = [1000.0]
    sessions = PageSessions(lambda: token[0], clock=lambda: clock[0])
    session = sessions.redeem(sessions.login_code())
    assert sessions.valid(session)
    token[0] = "two"  # `localgate token rotate` revokes every page session
    assert not sessions.valid(session)
    token[0] = "one"
    clock[0] += 86401
    assert not sessions.valid(session)
    code = sessions.login_code()
    clock[0] += 301
    assert sessions.redeem(code) is None  # a link waits five minutes at most
    assert sessions.redeem("") is None and sessions.redeem(None) is None
    assert sessions.csrf("a") != sessions.csrf("b") and sessions.csrf_ok("a", sessions.csrf("a"))
    assert not sessions.csrf_ok("a", None)
