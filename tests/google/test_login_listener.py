"""The loopback listener of the browser login against idle sockets and foreign hits."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

from localgate.google import login
from localgate.google.login import browser_login
from tests.google.test_login import client_of


def login_in_a_thread(fake_google_token, open_url, timeout: float = 10) -> dict:
    """Run browser_login in a thread (a listener that hangs must not hang the test)."""
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = browser_login(
                client_of(fake_google_token),
                announce=lambda _: None,
                open_url=open_url,
                timeout=timeout,
            )
        except Exception as exc:  # reported to the test below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout + 2)
    assert not worker.is_alive(), "the login listener hung"
    return outcome


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as page:
            return page.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_idle_connection_does_not_hold_up_the_redirect(fake_google_token):
    idle: list[socket.socket] = []
    statuses: list[int] = []

    def browser(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        port = urlsplit(redirect).port

        def browse():
            # A preconnect that never sends a request, then the real redirect.
            idle.append(socket.create_connection(("127.0.0.1", port)))
            with urllib.request.urlopen(url, timeout=10) as page:
                statuses.append(page.status)

        threading.Thread(target=browse, daemon=True).start()

    started = time.monotonic()
    try:
        outcome = login_in_a_thread(fake_google_token, browser, timeout=6)
    finally:
        for sock in idle:
            sock.close()
    assert "error" not in outcome, outcome.get("error")
    info, _ = outcome["result"]
    assert info["refresh_token"].startswith("1//browser-") and statuses == [200]
    assert time.monotonic() - started < login.CONNECTION_TIMEOUT  # not after the idle one


def test_an_idle_connection_is_dropped_after_its_timeout(fake_google_token, monkeypatch):
    monkeypatch.setattr(login, "CONNECTION_TIMEOUT", 0.3)
    dropped: list[float] = []

    def browser(url: str) -> None:
        port = urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port

        def browse():
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.settimeout(5)
                started = time.monotonic()
                assert sock.recv(1) == b""  # the listener hung up on the idle connection
                dropped.append(time.monotonic() - started)
            with urllib.request.urlopen(url, timeout=10) as page:
                page.read()

        threading.Thread(target=browse, daemon=True).start()

    outcome = login_in_a_thread(fake_google_token, browser, timeout=6)
    assert "error" not in outcome, outcome.get("error")
    assert dropped and dropped[0] < 2


def test_hits_of_another_state_are_answered_400_and_ignored(fake_google_token):
    statuses: list[int] = []

    def browser(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]

        def browse():
            statuses.append(status_of(redirect + "?code=4/forged&state=someone-else"))
            statuses.append(status_of(redirect + "?code=4/forged"))  # no state at all
            statuses.append(status_of(redirect + "?error=access_denied&state=x"))
            statuses.append(status_of(redirect + "favicon.ico"))
            statuses.append(status_of(url))  # the real login, through the fake Google

        threading.Thread(target=browse, daemon=True).start()

    outcome = login_in_a_thread(fake_google_token, browser)
    assert "error" not in outcome, outcome.get("error")
    assert statuses == [400, 400, 400, 404, 200]
    assert outcome["result"][0]["refresh_token"].startswith("1//browser-")
    # Only the real code was traded at the token endpoint.
    codes = [g["code"] for g in fake_google_token.grants if g["grant_type"] == "authorization_code"]
    assert len(codes) == 1 and codes[0] != "4/forged"
