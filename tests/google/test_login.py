"""The installed-app login: PKCE, loopback redirect, pasted URL, client-secrets files."""

from __future__ import annotations

import json
import threading
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from localgate.errors import LoginFailed
from localgate.google.login import LOGIN_SCOPES, OAuthClient, adc_path, browser_login, paste_login


def client_of(tokens) -> OAuthClient:
    section = tokens.client_secrets()["installed"]
    return OAuthClient(
        section["client_id"], section["client_secret"], section["auth_uri"], section["token_uri"]
    )


def follow_in_a_browser(url: str, pages: list) -> None:
    """What the user's browser does: open the URL, follow Google's redirect to localgate."""

    def browse():
        with urllib.request.urlopen(url, timeout=10) as page:
            pages.append((page.url, page.read()))

    threading.Thread(target=browse, daemon=True).start()


def test_browser_login_follows_the_printed_url_into_the_loopback_listener(fake_google_token):
    printed, pages = [], []
    info, email = browser_login(
        client_of(fake_google_token),
        announce=printed.append,
        open_url=lambda url: follow_in_a_browser(url, pages),
        timeout=10,
    )
    # The printed URL asked for a PKCE S256 code with a refresh token, on a loopback redirect.
    (url,) = printed
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(fake_google_token.auth_uri + "?")
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["access_type"] == "offline"
    assert query["scope"].split() == list(LOGIN_SCOPES)
    assert urlsplit(query["redirect_uri"]).hostname == "127.0.0.1"
    # The browser landed on the listener and saw the done page.
    landed, body = pages[0]
    assert landed.startswith(query["redirect_uri"]) and b"Login complete" in body
    # The code was exchanged with the verifier (the fake checks it against the challenge).
    grant = fake_google_token.grants[-1]
    assert grant["grant_type"] == "authorization_code" and grant["code_verifier"]
    assert info["type"] == "authorized_user"
    assert info["refresh_token"].startswith("1//browser-")
    assert info["token_uri"] == fake_google_token.token_uri
    assert email == fake_google_token.email


@pytest.mark.parametrize("whole_url", [True, False])
def test_pasted_redirect_url_or_bare_code(fake_google_token, whole_url):
    printed = []

    def ask(prompt: str) -> str:
        # The user opened the URL elsewhere; the browser landed on an unreachable page.
        request = urllib.request.Request(printed[0])
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as caught:
            opener.open(request, timeout=10)
        landed = caught.value.headers["location"]
        return landed if whole_url else parse_qs(urlsplit(landed).query)["code"][0]

    info, email = paste_login(client_of(fake_google_token), ask=ask, announce=printed.append)
    assert info["refresh_token"].startswith("1//browser-")
    assert email == fake_google_token.email


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_pasted_url_of_another_login_is_refused(fake_google_token):
    with pytest.raises(LoginFailed, match="state mismatch"):
        paste_login(
            client_of(fake_google_token),
            ask=lambda _: "http://127.0.0.1:1/?code=4/abc&state=someone-else",
            announce=lambda _: None,
        )


def test_denied_consent(fake_google_token):
    printed = []

    def ask(_prompt: str) -> str:
        state = parse_qs(urlsplit(printed[0]).query)["state"][0]
        return f"http://127.0.0.1:1/?error=access_denied&state={state}"

    with pytest.raises(LoginFailed, match="access_denied"):
        paste_login(client_of(fake_google_token), ask=ask, announce=printed.append)


@pytest.mark.parametrize("query", ["code=4/abc", "error=access_denied"])
def test_pasted_url_without_state_is_refused(fake_google_token, query):
    with pytest.raises(LoginFailed, match="state mismatch"):
        paste_login(
            client_of(fake_google_token),
            ask=lambda _: f"http://127.0.0.1:1/?{query}",
            announce=lambda _: None,
        )


def test_wrong_code_is_refused_by_the_token_endpoint(fake_google_token):
    with pytest.raises(LoginFailed, match="Malformed auth code"):
        paste_login(client_of(fake_google_token), ask=lambda _: "4/bogus", announce=print)


def test_browser_login_times_out(fake_google_token):
    with pytest.raises(LoginFailed, match="no login within"):
        browser_login(
            client_of(fake_google_token), announce=print, open_url=lambda _: None, timeout=0.6
        )


def test_client_secrets_file(tmp_path, fake_google_token):
    path = tmp_path / "client.json"
    path.write_text(json.dumps(fake_google_token.client_secrets()))
    assert OAuthClient.from_file(path) == client_of(fake_google_token)
    path.write_text(json.dumps({"type": "service_account"}))
    with pytest.raises(LoginFailed, match="Desktop app"):
        OAuthClient.from_file(path)


def test_a_huge_client_secrets_file_is_refused_unread(tmp_path):
    path = tmp_path / "client.json"
    with open(path, "wb") as sparse:
        sparse.truncate(200 << 20)
    with pytest.raises(LoginFailed, match="holds more than 256 KB"):
        OAuthClient.from_file(path)


def test_adc_path_follows_cloudsdk_config(monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    assert adc_path() == tmp_path / "application_default_credentials.json"
