"""GoogleCredential when the token endpoint misbehaves: which answers kill a login,
which pass; malformed 200s; backoff; bounded waits; short, redacted reasons."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest
from google.auth import exceptions

from localgate.errors import LoginExpired, TokenRefreshFailed
from localgate.google.transport import Request
from tests.google.support import credential
from tests.google.test_credential import Clock, until

HTML = "text/html; charset=utf-8"
JSON = "application/json"
PROXY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    + b"<!-- padding -->\r\n" * 200
    + b"</body>\r\n</html>\r\n"
)


def oauth(error: str, description: str = "detail") -> bytes:
    return json.dumps({"error": error, "error_description": description}).encode()


@pytest.mark.parametrize(
    "status, kind, body",
    [
        (502, HTML, PROXY_PAGE),
        (403, HTML, b"<html><body>Forbidden by policy</body></html>"),
        (404, JSON, b'{"message": "no such route"}'),
        (400, JSON, oauth("invalid_request")),  # says nothing about the login
        (502, JSON, oauth("invalid_grant")),  # a dead-grant code, but not from a 4xx
        (401, HTML, b"invalid_grant"),  # the word, but not an OAuth error body
    ],
)
async def test_non_oauth_refusals_are_transient(fake_google_token, status, kind, body):
    clock = Clock()
    cred = credential(fake_google_token.authorized_user(), clock=clock)
    fake_google_token.answer = (status, kind, body)
    with pytest.raises(TokenRefreshFailed) as caught:
        await cred.token()
    assert not isinstance(caught.value, LoginExpired)
    assert f"HTTP {status}" in str(caught.value) or "invalid_" in str(caught.value)
    # Nothing sticks: once the endpoint is back and the backoff passed, it works.
    fake_google_token.answer = None
    clock.shift = 11
    assert fake_google_token.live(f"Bearer {await cred.token()}")


@pytest.mark.parametrize(
    "status, error",
    [
        (400, "invalid_grant"),
        (401, "invalid_client"),
        (400, "unauthorized_client"),
        (400, "unsupported_grant_type"),
        (400, "invalid_scope"),
    ],
)
async def test_oauth_codes_of_a_dead_grant_expire_the_login(fake_google_token, status, error):
    cred = credential(fake_google_token.authorized_user(), name="gcp")
    fake_google_token.answer = (status, JSON, oauth(error))
    with pytest.raises(LoginExpired, match=f"{error}: detail.*log in again"):
        await cred.token()


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Welcome to the captive portal</html>",
        b'{"token_type": "Bearer"}',
        b"[1, 2]",
        b'{"access_token": "ya29.x", "expires_in": "soon"}',
        b'{"access_token": 7}',
    ],
)
async def test_a_200_without_a_usable_token_is_transient(fake_google_token, body):
    cred = credential(fake_google_token.authorized_user())
    fake_google_token.answer = (200, JSON, body)
    with pytest.raises(TokenRefreshFailed, match="without a usable access token") as caught:
        await cred.refresh()
    assert not isinstance(caught.value, LoginExpired)
    with pytest.raises(TokenRefreshFailed, match="without a usable access token"):
        cred.blocking_token()  # the CLI's check takes the same path


async def test_forget_refusal_asks_the_endpoint_again(fake_google_token):
    fake_google_token.revoked.add("1//fake-refresh")
    cred = credential(fake_google_token.authorized_user())
    with pytest.raises(LoginExpired):
        await cred.token()
    with pytest.raises(LoginExpired):
        await cred.token()
    assert len(fake_google_token.grants) == 1  # the refusal is remembered …
    fake_google_token.revoked.clear()
    cred.forget_refusal()  # … until the account is reset
    assert fake_google_token.live(f"Bearer {await cred.token()}")
    assert len(fake_google_token.grants) == 2


async def test_inside_the_margin_the_valid_token_comes_at_once(fake_google_token):
    clock = Clock()
    cred = credential(fake_google_token.authorized_user(), clock=clock)
    first = await cred.token()
    clock.shift = 3600 - 100  # inside the margin, still valid
    fake_google_token.delay = 5.0  # the endpoint is slow
    started = time.monotonic()
    tokens = await asyncio.gather(*(cred.token() for _ in range(50)))
    assert time.monotonic() - started < 2.5  # none waited for the 5 s refresh
    assert set(tokens) == {first}
    await until(cred.fresh, limit=30)  # renewed behind the callers' backs, once
    assert fake_google_token.refreshes == 2
    assert await cred.token() != first


async def test_failed_refreshes_back_off_before_asking_again(fake_google_token):
    clock = Clock()
    cred = credential(fake_google_token.authorized_user(), clock=clock)
    fake_google_token.answer = (502, HTML, PROXY_PAGE)
    with pytest.raises(TokenRefreshFailed):
        await cred.token()
    assert len(fake_google_token.grants) == 1
    # Moments later: the last failure again, without asking.
    with pytest.raises(TokenRefreshFailed, match="next attempt in 10s"):
        await cred.token()
    assert len(fake_google_token.grants) == 1
    clock.shift = 11  # the first backoff (10 s) passed: one more try …
    with pytest.raises(TokenRefreshFailed):
        await cred.token()
    assert len(fake_google_token.grants) == 2
    clock.shift = 22  # … and the next one waits 20 s
    with pytest.raises(TokenRefreshFailed, match="next attempt in 9s"):
        await cred.token()
    assert len(fake_google_token.grants) == 2
    # An explicit refresh (POST /refresh-token) does not wait for the backoff.
    fake_google_token.answer = None
    assert await cred.refresh() > time.time()
    assert len(fake_google_token.grants) == 3


async def test_backoff_in_the_margin_keeps_serving_the_old_token(fake_google_token):
    clock = Clock()
    cred = credential(fake_google_token.authorized_user(), clock=clock)
    first = await cred.token()
    clock.shift = 3600 - 100
    fake_google_token.answer = (502, HTML, PROXY_PAGE)
    assert await cred.token() == first
    await until(lambda: cred._job is None and len(fake_google_token.grants) == 2)
    for _ in range(10):
        assert await cred.token() == first
    assert len(fake_google_token.grants) == 2  # backing off: no new attempt per request


async def test_a_caller_without_a_token_waits_a_bounded_time(fake_google_token):
    cred = credential(fake_google_token.authorized_user(), wait=0.3)
    fake_google_token.delay = 5.0
    started = time.monotonic()
    with pytest.raises(TokenRefreshFailed, match="did not answer in 0s"):
        await cred.token()
    assert time.monotonic() - started < 2.5  # the 0.3 s wait, not the 5 s refresh
    # The refresh itself ran on; once it lands, callers have their token.
    await until(cred.fresh, limit=30)
    assert fake_google_token.refreshes == 1


def test_the_transport_bounds_a_trickling_answer():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        stop = threading.Event()

        def trickle():
            peer, _ = listener.accept()
            with peer:
                peer.recv(65536)
                peer.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.wait(0.05):  # a header byte every 50 ms: no read ever idles
                    try:
                        peer.sendall(b"x")
                    except OSError:
                        return

        threading.Thread(target=trickle, daemon=True).start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/token"
        started = time.monotonic()
        try:
            with pytest.raises(exceptions.TransportError, match="no whole answer within 0.5s"):
                Request(timeout=10.0, total=0.5)(url, "POST", b"", {})
        finally:
            stop.set()
        assert time.monotonic() - started < 5  # the 0.5 s total, not the 10 s timeout


async def test_reasons_are_one_short_line_without_secrets(fake_google_token):
    info = fake_google_token.authorized_user("1//0gSecretRefreshTokenValue-abcdefgh")
    cred = credential(info)
    fake_google_token.answer = (502, HTML, PROXY_PAGE)
    with pytest.raises(TokenRefreshFailed) as caught:
        await cred.token()
    message = str(caught.value)
    assert "502 Bad Gateway" in message and "\n" not in message and "\r" not in message
    assert "<" not in message and len(message) < 300
    echo = oauth("invalid_grant", "refresh token 1//0gSecretRefreshTokenValue-abcdefgh revoked")
    fake_google_token.answer = (400, JSON, echo)
    with pytest.raises(LoginExpired) as caught:
        await cred.refresh()
    message = str(caught.value)
    assert "0gSecretRefreshTokenValue" not in message and "[redacted]" in message
    assert "invalid_grant: refresh token" in message
