"""Google logins for `accounts add --provider vertex`: browser, pasted URL, gcloud ADC, files.

The browser login is OAuth 2.0 for installed apps: PKCE (S256) and a loopback
redirect to a listener on a free port of 127.0.0.1. `--no-browser` prints the
same URL and takes the URL the browser landed on (or just its code) pasted
back, for SSH sessions where the browser runs elsewhere. Each returns the
`authorized_user` JSON google-auth refreshes from, plus the login's email.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from localgate.bounded import read_file
from localgate.errors import InputTooLarge, LoginFailed
from localgate.google import CLOUD_PLATFORM
from localgate.google.credential import AUTHORIZED_USER, MAX_CREDENTIALS_FILE, id_token_email

DEFAULT_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
# openid + email only to show whose login it is; cloud-platform is what Vertex needs.
LOGIN_SCOPES = (CLOUD_PLATFORM, "openid", "https://www.googleapis.com/auth/userinfo.email")
LOGIN_TIMEOUT = 300.0  # seconds the browser login may take
CONNECTION_TIMEOUT = 10.0  # seconds one connection to the loopback listener may sit idle
CLIENT_SECRETS_HELP = (
    "create an OAuth client of type 'Desktop app' in the Google Cloud console "
    "(APIs & Services → Credentials), download its JSON and pass it with --client-secrets FILE"
)
DONE_PAGE = (
    b"<!doctype html><title>localgate</title>"
    b"<p>Login complete. You can close this tab and return to the terminal.</p>"
)
FAILED_PAGE = (
    b"<!doctype html><title>localgate</title>"
    b"<p>The login did not complete. The terminal says why.</p>"
)
FOREIGN_PAGE = (
    b"<!doctype html><title>localgate</title>"
    b"<p>This is not the redirect of the login localgate is waiting for.</p>"
)


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth client of a downloaded client-secrets JSON ("installed" or "web")."""

    client_id: str
    client_secret: str
    auth_uri: str = DEFAULT_AUTH_URI
    token_uri: str = DEFAULT_TOKEN_URI

    @classmethod
    def from_file(cls, path: Path) -> OAuthClient:
        """Read a client-secrets file; LoginFailed says what is wrong and what to download."""
        try:
            data = json.loads(read_file(Path(path), MAX_CREDENTIALS_FILE))
        except (OSError, ValueError, InputTooLarge) as exc:
            raise LoginFailed(f"cannot read client secrets {path}: {exc}") from exc
        section = data.get("installed") or data.get("web") if isinstance(data, dict) else None
        if not isinstance(section, dict) or not section.get("client_id"):
            raise LoginFailed(f"{path} is not an OAuth client-secrets file: {CLIENT_SECRETS_HELP}")
        return cls(
            client_id=section["client_id"],
            client_secret=section.get("client_secret", ""),
            auth_uri=section.get("auth_uri") or DEFAULT_AUTH_URI,
            token_uri=section.get("token_uri") or DEFAULT_TOKEN_URI,
        )


@dataclass(frozen=True)
class LoginAttempt:
    """One authorization request: where Google sends the browser back, and its secrets."""

    client: OAuthClient
    redirect_uri: str
    state: str
    verifier: str

    @classmethod
    def start(cls, client: OAuthClient, port: int) -> LoginAttempt:
        # RFC 7636: 43-128 characters from the unreserved set; token_urlsafe gives those.
        return cls(
            client,
            f"http://127.0.0.1:{port}/",
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(64),
        )

    @property
    def url(self) -> str:
        """The URL the user opens to grant access."""
        digest = hashlib.sha256(self.verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        query = {
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(LOGIN_SCOPES),
            "state": self.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "access_type": "offline",  # ask for a refresh token
            "prompt": "consent",  # … every time, even when access was granted before
        }
        separator = "&" if "?" in self.client.auth_uri else "?"
        return self.client.auth_uri + separator + urlencode(query)

    def ours(self, query: dict[str, list[str]]) -> bool:
        """True when the redirect carries this login's state (RFC 6749 §10.12: CSRF)."""
        return query.get("state", [""])[0] == self.state

    def code_from(self, query: dict[str, list[str]]) -> str:
        """The code in the redirect's query, after checking its state and error."""
        if not self.ours(query):
            raise LoginFailed("the redirect does not belong to this login (state mismatch)")
        if "error" in query:
            raise LoginFailed(f"Google refused the login: {query['error'][0]}")
        code = query.get("code", [""])[0]
        if not code:
            raise LoginFailed("the redirect carries no authorization code")
        return code

    def exchange(self, code: str) -> tuple[dict[str, Any], str | None]:
        """Trade the code for a refresh token: (authorized_user info, email)."""
        from localgate.google.transport import Request

        body = urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self.client.client_id,
                "client_secret": self.client.client_secret,
                "code_verifier": self.verifier,
            }
        ).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        try:
            answer = Request()(self.client.token_uri, "POST", body, headers)
        except InputTooLarge as exc:
            raise LoginFailed(
                f"the token endpoint {self.client.token_uri} {exc}, where a token answer "
                "takes a few: check the token_uri of the client-secrets file and any proxy "
                "between (HTTPS_PROXY)"
            ) from exc
        except Exception as exc:  # google.auth TransportError
            raise LoginFailed(f"cannot reach {self.client.token_uri}: {exc}") from exc
        try:
            data = json.loads(answer.data)
        except ValueError:
            data = {}
        if answer.status != 200 or not isinstance(data, dict):
            error = data.get("error_description") or data.get("error") if data else None
            raise LoginFailed(
                f"the token endpoint refused the login ({answer.status}: {error or 'no detail'})"
            )
        if not data.get("refresh_token"):
            raise LoginFailed(
                "Google returned no refresh token; remove the app's access at "
                "https://myaccount.google.com/permissions and log in again"
            )
        info = {
            "type": AUTHORIZED_USER,
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
            "refresh_token": data["refresh_token"],
            "token_uri": self.client.token_uri,
        }
        return info, id_token_email(data.get("id_token"))


def browser_login(
    client: OAuthClient,
    *,
    open_url: Callable[[str], object],
    announce: Callable[[str], object],
    timeout: float = LOGIN_TIMEOUT,
) -> tuple[dict[str, Any], str | None]:
    """Log in through the browser; the redirect lands on a listener on 127.0.0.1.

    The listener serves each connection in its own thread, each with an idle
    timeout: a browser's preconnect (or any idle socket) cannot hold it up.
    Hits that are not this login's redirect (no or another state) get a 400
    and the listener keeps waiting for the real one.
    """
    received: dict[str, list[str]] = {}
    landed = threading.Event()
    first = threading.Lock()  # connections are served in threads
    attempt: LoginAttempt | None = None

    class Redirect(BaseHTTPRequestHandler):
        timeout = CONNECTION_TIMEOUT  # StreamRequestHandler: the connection's socket timeout

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            query = parse_qs(urlsplit(self.path).query)
            if not ("code" in query or "error" in query) or attempt is None:
                return self._page(404, FOREIGN_PAGE)
            if not attempt.ours(query):
                return self._page(400, FOREIGN_PAGE)
            self._page(200, FAILED_PAGE if "error" in query else DONE_PAGE)
            with first:  # the first redirect of this login wins
                if not landed.is_set():
                    received.update(query)
                    landed.set()

        def _page(self, status: int, page: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:  # the query holds the code: never log it
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    server.daemon_threads = True  # an idle connection's thread must not delay the exit
    serving = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True)
    try:
        attempt = LoginAttempt.start(client, server.server_address[1])
        serving.start()
        announce(attempt.url)
        open_url(attempt.url)
        if not landed.wait(timeout):
            raise LoginFailed(
                f"no login within {timeout:.0f}s; run the command again "
                "(or add --no-browser to paste the URL instead)"
            )
    finally:
        if serving.is_alive():
            server.shutdown()
        server.server_close()
    return attempt.exchange(attempt.code_from(received))


def paste_login(
    client: OAuthClient,
    *,
    ask: Callable[[str], str],
    announce: Callable[[str], object],
) -> tuple[dict[str, Any], str | None]:
    """Log in with the browser elsewhere: print the URL, take the landed-on URL or code."""
    attempt = LoginAttempt.start(client, _free_port())
    announce(attempt.url)
    answer = ask("Paste the URL your browser landed on (or only its code)").strip()
    if not answer:
        raise LoginFailed("nothing pasted: no login")
    if "code=" in answer or "error=" in answer:
        code = attempt.code_from(parse_qs(urlsplit(answer).query or answer))
    else:
        code = answer
    return attempt.exchange(code)


def adc_path() -> Path:
    """gcloud's application-default credentials file (CLOUDSDK_CONFIG moves it)."""
    config_dir = os.environ.get("CLOUDSDK_CONFIG")
    if config_dir:
        base = Path(config_dir)
    elif sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"]) / "gcloud"
    else:
        base = Path.home() / ".config" / "gcloud"
    return base / "application_default_credentials.json"


def _free_port() -> int:
    """A port nothing listens on now; the pasted flow only needs it in the redirect URI."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
