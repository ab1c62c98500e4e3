"""google-auth credentials from stored JSON, and the Credential that keeps them fresh.

An account's keyring entry holds one JSON document in google-auth's own
formats: an `authorized_user` (client id and secret, refresh token, token_uri)
from a browser login or gcloud's application-default credentials, or a
`service_account` key. `token_uri` is honoured from the document, so private
endpoints (and tests) are reached instead of oauth2.googleapis.com.

`GoogleCredential.token()` hands out the cached access token; shortly before
it expires it refreshes it in the background (once per account, however many
requests come), and only a caller with no valid token left waits, for a bounded
time. The blocking google-auth refresh runs in a worker thread, never on the
event loop; after a failed refresh the next attempt waits a growing backoff.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from localgate.errors import InputTooLarge, LoginExpired, SecretError, TokenRefreshFailed
from localgate.google import CLOUD_PLATFORM
from localgate.providers.base import Credential

SERVICE_ACCOUNT = "service_account"
AUTHORIZED_USER = "authorized_user"
KINDS = (SERVICE_ACCOUNT, AUTHORIZED_USER)
REFRESH_MARGIN = 300.0  # refresh this long before expiry (at most) …
MARGIN_SHARE = 0.1  # … or this share of the token's lifetime, whichever is shorter
DEFAULT_LIFETIME = 3600.0  # when the token endpoint gives no expires_in
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
REFRESH_WAIT = 30.0  # seconds a caller with no valid token waits for the token endpoint
BACKOFF_FIRST = 10.0  # seconds before the next attempt after a failed refresh …
BACKOFF_MAX = 60.0  # … doubling per failure in a row, up to this
REASON_LENGTH = 160  # characters of the token endpoint's answer kept in a message
# Bytes of a credentials file read at most (a service-account key is ~2.4 KB, a login
# less): more is the wrong file, or a device that never ends.
MAX_CREDENTIALS_FILE = 256 * 1024
# RFC 6749 §5.2 error codes that say the grant itself is dead, so only a new login
# (or a new key) helps: the refresh token or assertion is invalid, expired or revoked
# (invalid_grant), the client is unknown or its secret wrong (invalid_client), the
# client may not use this grant (unauthorized_client), the server does not take this
# grant (unsupported_grant_type), the grant does not cover the scope (invalid_scope).
# invalid_request (a malformed request) says nothing about the login: transient.
DEAD_GRANT = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)


def parse_info(text: str, where: str) -> dict[str, Any]:
    """The credential JSON in `text` (from `where`), checked to be a kind we can use."""
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise SecretError(f"{where} is not JSON: {exc.msg}") from exc
    if not isinstance(info, dict):
        raise SecretError(f"{where} is not a JSON object")
    kind = info.get("type")
    if kind not in KINDS:
        raise SecretError(
            f"{where} holds credentials of type {kind!r}; localgate uses a service-account "
            f"key ({SERVICE_ACCOUNT!r}) or a user login ({AUTHORIZED_USER!r})"
        )
    return info


def google_credentials(info: dict[str, Any], where: str):
    """google-auth credentials for `info` (cloud-platform scope for service accounts)."""
    try:
        if info.get("type") == SERVICE_ACCOUNT:
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_info(
                info, scopes=[CLOUD_PLATFORM]
            )
        return _authorized_user(info)
    except (ValueError, KeyError) as exc:
        raise SecretError(f"{where} cannot be used: {exc}") from exc


def _authorized_user(info: dict[str, Any]):
    """User credentials that refresh at the JSON's own `token_uri`.

    google-auth's `from_authorized_user_info` always replaces token_uri with
    Google's; private endpoints (and tests) need the one in the file.
    """
    from google.oauth2 import credentials

    missing = [k for k in ("client_id", "client_secret", "refresh_token") if not info.get(k)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    # No scopes: a refresh token carries the scopes it was granted, and asking
    # for a narrower set makes google-auth refuse the answer.
    return credentials.Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=info.get("token_uri") or GOOGLE_TOKEN_URI,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        quota_project_id=info.get("quota_project_id"),
    )


def email_of(creds) -> str | None:
    """The account's email: the service account's, or the one in the login's id_token."""
    email = getattr(creds, "service_account_email", None)
    if email:
        return email
    return id_token_email(getattr(creds, "id_token", None))


def id_token_email(id_token: str | None) -> str | None:
    """The `email` claim of an id_token (it came straight from the token endpoint over
    TLS, so it is read, not verified; it is only shown to the user)."""
    if not id_token or id_token.count(".") != 2:
        return None
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    email = claims.get("email") if isinstance(claims, dict) else None
    return email if isinstance(email, str) else None


class GoogleCredential(Credential):
    """A refreshing access token over google-auth credentials.

    `secret` is the stored JSON: only its fingerprint is used (a new login
    changes it, which clears the account's invalid mark in the pool).

    A refused login (LoginExpired) is remembered: `token()` raises it again
    without asking the token endpoint, so requests do not hammer it with a dead
    refresh token. It is not retried on a timer: the pool marks the account
    invalid anyway, and what mends a dead login is a new one, which rebuilds the
    account (new keyring entry, new fingerprint, new credential). What forgets
    it: `forget_refusal()` (the account's reset) and a successful `refresh()`.
    """

    def __init__(
        self,
        secret: str,
        creds,
        *,
        account: str,
        relogin: str,
        clock: Callable[[], float] = time.time,
        transport=None,
        wait: float = REFRESH_WAIT,
    ):
        super().__init__(secret)
        self._creds = creds
        self._account = account
        self._relogin = relogin
        self._clock = clock
        self._transport = transport
        self._wait = wait
        self._access: str | None = None
        self._expires_at: float | None = None
        self._lifetime = DEFAULT_LIFETIME
        self._revoked: LoginExpired | None = None
        self._failure: TokenRefreshFailed | None = None  # the last failed refresh …
        self._failures = 0  # … how many failed in a row …
        self._retry_at = 0.0  # … and when the next attempt may start (clock seconds)
        self._job: asyncio.Future | None = None

    @property
    def expires_at(self) -> float | None:
        """Epoch seconds when the current access token expires; None before the first."""
        return self._expires_at

    @property
    def email(self) -> str | None:
        return email_of(self._creds)

    def fresh(self) -> bool:
        """True while the cached access token has more than the refresh margin left."""
        if self._access is None or self._expires_at is None:
            return False
        margin = min(REFRESH_MARGIN, MARGIN_SHARE * self._lifetime)
        return self._clock() < self._expires_at - margin

    def valid(self) -> bool:
        """True while the cached access token has not expired (margin or not)."""
        return self._access is not None and self._clock() < (self._expires_at or 0)

    async def token(self) -> str:
        """The access token; refreshed in the background inside the refresh margin.

        Only a caller with no valid token waits for the refresh, at most `wait`
        seconds. Raises LoginExpired once the login was refused (until
        `forget_refusal()` or a successful `refresh()`), TokenRefreshFailed when
        the token endpoint fails, times out, or failed moments ago (backoff).
        """
        if self.fresh():
            return self._access  # type: ignore[return-value]
        if self._revoked is not None:
            raise self._revoked
        if self.valid():
            # The old token still works: hand it out now, renew it behind the caller's back.
            if self._job is None and not self._backing_off():
                self._start_refresh()
            return self._access  # type: ignore[return-value]
        if self._job is None and self._backing_off():
            wait = self._retry_at - self._clock()
            raise TokenRefreshFailed(f"{self._failure}; next attempt in {wait:.0f}s")
        return await self._join_refresh()

    async def refresh(self) -> float:
        """Refresh now, whatever the cached token's age or the backoff; the new expiry."""
        await self._join_refresh()
        return self._expires_at  # type: ignore[return-value]

    def invalidate(self) -> None:
        """Forget the access token (the upstream refused it): the next call refreshes."""
        self._access = None

    def forget_refusal(self) -> None:
        """Forget a refused login and the backoff of failed refreshes: the next
        `token()` asks the token endpoint again (the account was reset)."""
        self._revoked = None
        self._failure, self._failures, self._retry_at = None, 0, 0.0

    def blocking_token(self) -> str:
        """The access token, refreshed in the calling thread (one-shot CLI checks only)."""
        if not self.fresh():
            self._adopt(*self._refresh_blocking())
        return self._access  # type: ignore[return-value]

    def _backing_off(self) -> bool:
        # Bounded by BACKOFF_MAX so a wall clock set back cannot stretch the wait.
        return self._failure is not None and 0 < self._retry_at - self._clock() <= BACKOFF_MAX

    def _start_refresh(self) -> asyncio.Future:
        # One refresh per account however many requests wait: they all await the
        # same task. A shared task rather than a lock held by the first waiter,
        # so a waiter that is cancelled (its client went away) does not abandon
        # the refresh the others are waiting for.
        if self._job is None:
            self._job = asyncio.ensure_future(self._run_refresh())
            self._job.add_done_callback(_consume_exception)
        return self._job

    async def _join_refresh(self) -> str:
        job = self._start_refresh()
        try:
            return await asyncio.wait_for(asyncio.shield(job), self._wait)
        except TimeoutError:
            # The job runs on (the transport bounds it); later callers join it.
            raise TokenRefreshFailed(
                f"the Google token endpoint for account {self._account!r} "
                f"did not answer in {self._wait:.0f}s"
            ) from None

    async def _run_refresh(self) -> str:
        loop = asyncio.get_running_loop()
        try:
            token, expires_at = await loop.run_in_executor(None, self._refresh_blocking)
        except LoginExpired as exc:
            self._revoked = exc
            self._access = None
            raise
        except TokenRefreshFailed as exc:
            self._failure, self._failures = exc, self._failures + 1
            backoff = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
            self._retry_at = self._clock() + backoff
            raise
        finally:
            self._job = None
        self._adopt(token, expires_at)
        return token

    def masked(self) -> tuple[str, ...]:
        """The stored login's secret fields and the access token in use (not the
        whole JSON: its field names would mask ordinary words of Google's errors)."""
        try:
            info = json.loads(self.secret)
        except ValueError:
            return (self.secret,)
        fields = ("refresh_token", "client_secret", "private_key", "private_key_id")
        stored = [str(info[f]) for f in fields if isinstance(info, dict) and info.get(f)]
        return (*stored, *([self._access] if self._access else []))

    def _adopt(self, token: str, expires_at: float) -> None:
        self._access, self._expires_at, self._revoked = token, expires_at, None
        self._failure, self._failures, self._retry_at = None, 0, 0.0
        self._lifetime = max(0.0, expires_at - self._clock())

    def _refresh_blocking(self) -> tuple[str, float]:
        """Run google-auth's refresh (blocking); (token, expiry) or a typed error."""
        from google.auth import exceptions

        from localgate.google.transport import Recorder, Request

        answers = Recorder(self._transport or Request())
        try:
            self._creds.refresh(answers)
            token, expiry = self._creds.token, self._creds.expiry
            if not isinstance(token, str) or not token:
                raise ValueError("no access token")
            expires_at = (
                self._clock() + DEFAULT_LIFETIME
                if expiry is None
                else expiry.replace(tzinfo=UTC).timestamp()
            )
        except exceptions.TransportError as exc:
            raise TokenRefreshFailed(
                f"cannot reach the Google token endpoint for account {self._account!r}: "
                f"{self._clean(str(exc))}"
            ) from exc
        except InputTooLarge as exc:  # its body was not kept: there is nothing to quote
            raise TokenRefreshFailed(
                f"the Google token endpoint for account {self._account!r} {exc}, where a token "
                "answer takes a few: it is not Google's, or something between answers for it. "
                "Check the login's token_uri "
                "and the proxy it goes through (HTTPS_PROXY, the account's `proxy`)"
            ) from exc
        except (exceptions.RefreshError, TypeError, KeyError, ValueError, AttributeError) as exc:
            # google-auth reads a 200 answer without checking its shape: a proxy's
            # page or JSON without access_token ends up as a TypeError/KeyError/RefreshError.
            raise self._refused(answers.last) from exc
        return token, expires_at

    def _refused(self, answer) -> LoginExpired | TokenRefreshFailed:
        """LoginExpired for a 4xx OAuth error that means the grant is dead; else transient."""
        status = getattr(answer, "status", 0)
        error = _oauth_error(answer)
        reason = self._summary(answer)
        if 200 <= status < 300:
            return TokenRefreshFailed(
                f"the Google token endpoint for account {self._account!r} answered without "
                f"a usable access token ({reason})"
            )
        if 400 <= status < 500 and status not in (408, 429) and error in DEAD_GRANT:
            return LoginExpired(
                f"the Google login of account {self._account!r} no longer works ({reason}); "
                f"log in again: {self._relogin}"
            )
        return TokenRefreshFailed(
            f"the Google token endpoint failed for account {self._account!r}: {reason}"
        )

    def _summary(self, answer) -> str:
        """A short, one-line, redacted account of the token endpoint's answer."""
        if answer is None:
            return "no answer"
        data = _json(answer)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            text = data["error"]
            if isinstance(data.get("error_description"), str):
                text += f": {data['error_description']}"
        else:
            body = answer.data.decode("utf-8", "replace") if answer.data else ""
            body = re.sub(r"<[^>]*>", " ", body)  # a proxy's HTML page: keep its words
            kind = "JSON" if data is not None else "not JSON"
            text = f"HTTP {answer.status}, {kind}" + (f": {body}" if body.strip() else "")
        return self._clean(text)

    def _clean(self, text: str) -> str:
        from localgate.dialects.common import redact

        text = " ".join(text.split())
        if len(text) > REASON_LENGTH:
            text = text[: REASON_LENGTH - 1] + "…"
        return redact(text.encode(), self.masked()).decode("utf-8", "replace")


def _json(answer):
    """The answer's body as JSON, or None when it is not JSON."""
    try:
        return json.loads(answer.data)
    except (ValueError, TypeError):
        return None


def _oauth_error(answer) -> str | None:
    """The RFC 6749 §5.2 `error` code of an answer, if it is an OAuth error body."""
    data = _json(answer) if answer is not None else None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None


def _consume_exception(job: asyncio.Future) -> None:
    # Every waiter may have been cancelled; the outcome is kept on the credential.
    if not job.cancelled():
        job.exception()
