"""A fake Google OAuth server: token endpoint and authorization endpoint, on 127.0.0.1.

It runs in its own thread (stdlib ThreadingHTTPServer) because google-auth
refreshes with blocking calls: from a worker thread of the server under test,
and from the test's own thread when a CLI command runs under CliRunner.

    tokens = FakeGoogleToken(); tokens.start()
    tokens.authorized_user()          # credential JSON whose token_uri is this fake
    tokens.expires_in = 2             # short-lived access tokens
    tokens.revoked.add("1//refresh")  # that refresh token now gets invalid_grant
    tokens.refreshes                  # refresh_token + jwt-bearer grants answered
    tokens.answer = (502, "text/html", b"<h1>Bad Gateway</h1>")  # every token answer, as is
    tokens.flood = 50 << 20           # every token answer: 50 MB of JSON-looking junk, streamed
    tokens.flood_declared = False     # … sent until the connection closes, no length up front

Grants: refresh_token, urn:ietf:params:oauth:grant-type:jwt-bearer (RS256
assertions checked against keys registered in `public_keys`), and
authorization_code (PKCE S256 checked against what /auth received).
GET /auth redirects the browser to `redirect_uri?code=…&state=…`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ID = "1234-fake.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret"
REVOKED = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def id_token(email: str, audience: str) -> str:
    """An (unsigned) id_token carrying `email`, shaped like Google's."""
    header = b64url(json.dumps({"alg": "RS256", "kid": "fake", "typ": "JWT"}).encode())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "email": email,
        "email_verified": True,
        "sub": "1098",
        "iat": int(time.time()),
    }
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(b'sig')}"


class FakeGoogleToken:
    """Token and authorization endpoints; every knob is a plain attribute."""

    def __init__(self) -> None:
        self.expires_in = 3600
        self.delay = 0.0  # seconds each token answer waits (to pile up concurrent callers)
        self.email = "dev@example.com"
        self.revoked: set[str] = set()  # refresh tokens or service-account emails refused
        self.public_keys: dict[str, object] = {}  # service-account email -> RSA public key
        self.down = False  # answer every token request with a 503
        self.answer: tuple[int, str, bytes] | None = None  # (status, content type, body) canned
        self.flood = 0  # bytes of junk each token answer sends instead (a hostile endpoint)
        self.flood_declared = True  # the flood's Content-Length is sent (else: until close)
        self.flood_sent = 0  # bytes of the last flood the client took before it hung up
        self.refreshes = 0
        self.grants: list[dict[str, str]] = []  # every token request's form, in order
        self.authorizations: list[dict[str, str]] = []  # every /auth query
        self.issued: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.url = ""
        self._codes: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> FakeGoogleToken:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake._authorize(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._token(self)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    @property
    def auth_uri(self) -> str:
        return self.url + "/auth"

    # -- what tests build from it -----------------------------------------------

    def authorized_user(self, refresh_token: str = "1//fake-refresh") -> dict:
        """An authorized-user credential JSON (as gcloud ADC writes it) against this fake."""
        return {
            "type": "authorized_user",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": refresh_token,
            "token_uri": self.token_uri,
        }

    def client_secrets(self) -> dict:
        """A downloaded 'Desktop app' client-secrets JSON pointing at this fake."""
        return {
            "installed": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "project_id": "fake-project",
                "auth_uri": self.auth_uri,
                "token_uri": self.token_uri,
                "redirect_uris": ["http://localhost"],
            }
        }

    def live(self, authorization: str | None) -> bool:
        """True when `authorization` is `Bearer <token>` this fake issued and not yet expired."""
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            expiry = self.issued.get(token)
        return expiry is not None and time.time() < expiry

    # -- serving --------------------------------------------------------------------

    def _authorize(self, handler: BaseHTTPRequestHandler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        self.authorizations.append(query)
        code = "4/0A" + secrets.token_urlsafe(24)
        self._codes[code] = query
        answer = {"code": code, "state": query.get("state", ""), "scope": query.get("scope", "")}
        handler.send_response(302)
        handler.send_header("location", query.get("redirect_uri", "") + "?" + urlencode(answer))
        handler.send_header("content-length", "0")
        handler.end_headers()

    def _token(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.grants.append(form)
            status, body = self._grant(form)
        if self.flood:
            return self._flood(handler)
        kind, data = "application/json; charset=utf-8", json.dumps(body).encode()
        if self.answer is not None:  # a proxy's page, a broken endpoint…
            status, kind, data = self.answer
        handler.send_response(status)
        handler.send_header("content-type", kind)
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _flood(self, handler: BaseHTTPRequestHandler) -> None:
        """A 200 whose body never ends in time: `{"access_token": "xxxx…`, `flood` bytes."""
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        if self.flood_declared:
            handler.send_header("content-length", str(self.flood))
        handler.end_headers()
        handler.close_connection = True  # without a length, the end of the body is the close
        junk, sent = b"x" * 65536, 0
        try:
            handler.wfile.write(b'{"access_token": "')
            sent = 18
            while sent < self.flood:
                part = junk[: self.flood - sent]
                handler.wfile.write(part)
                sent += len(part)
        except OSError:  # the client stopped reading and hung up: what a bounded one does
            pass
        finally:
            self.flood_sent = sent

    def _grant(self, form: dict[str, str]) -> tuple[int, dict]:
        if self.down:
            return 503, {"error": "internal_failure", "error_description": "Backend Error"}
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
            if form.get("refresh_token") in self.revoked:
                return 400, REVOKED
            self.refreshes += 1
            return 200, self._access(id_token(self.email, CLIENT_ID))
        if grant == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        if grant == "authorization_code":
            return self._code_grant(form)
        return 400, {"error": "unsupported_grant_type", "error_description": str(grant)}

    def _access(self, id_token_value: str | None = None, **more) -> dict:
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        self.issued[token] = time.time() + self.expires_in
        body = {
            "access_token": token,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            **more,
        }
        if id_token_value:
            body["id_token"] = id_token_value
        return body

    def _jwt_grant(self, assertion: str) -> tuple[int, dict]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            header, payload, signature = assertion.split(".")
            claims = json.loads(unb64url(payload))
        except ValueError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT."}
        key = self.public_keys.get(claims.get("iss"))
        if key is None or claims.get("iss") in self.revoked:
            return 400, {
                "error": "invalid_grant",
                "error_description": "Invalid grant: account not found",
            }
        try:
            key.verify(
                unb64url(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        # google-auth always addresses its assertions to Google's endpoint, as Google expects.
        audiences = (self.token_uri, GOOGLE_TOKEN_URI)
        if claims.get("aud") not in audiences or "cloud-platform" not in claims.get("scope", ""):
            return 400, {"error": "invalid_scope", "error_description": "bad aud or scope"}
        self.refreshes += 1
        return 200, self._access()

    def _code_grant(self, form: dict[str, str]) -> tuple[int, dict]:
        asked = self._codes.pop(form.get("code", ""), None)
        if asked is None:
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        verifier = form.get("code_verifier", "")
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        if asked.get("code_challenge_method") != "S256" or challenge != asked.get("code_challenge"):
            return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
        if form.get("redirect_uri") != asked.get("redirect_uri"):
            return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        refresh = "1//browser-" + secrets.token_urlsafe(12)
        return 200, self._access(id_token(self.email, CLIENT_ID), refresh_token=refresh)
