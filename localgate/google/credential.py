"""google-auth credentials from stored JSON, and the Credential that keeps them fresh.

An account's keyring entry holds one JSON document in google-auth's own
formats: an `authorized_user` (client id and secret, refresh token, token_uri)
from a browser login or gcloud's application-default credentials, or a
`service_account` key. `token_uri` is honoured from the document, so private
endpoints (and tests) are reached instead of oauth2.googleapis.com.

`GoogleCredential.token()` hands out the cached access token until shortly
before it expires, then refreshes it once for every waiting request: the
blocking google-auth refresh runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from localgate.errors import LoginExpired, SecretError, TokenRefreshFailed
from localgate.google import CLOUD_PLATFORM
from localgate.providers.base import Credential

SERVICE_ACCOUNT = "service_account"
AUTHORIZED_USER = "authorized_user"
KINDS = (SERVICE_ACCOUNT, AUTHORIZED_USER)
REFRESH_MARGIN = 300.0  # refresh this long before expiry (at most) …
MARGIN_SHARE = 0.1  # … or this share of the token's lifetime, whichever is shorter
DEFAULT_LIFETIME = 3600.0  # when the token endpoint gives no expires_in
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


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
    ):
        super().__init__(secret)
        self._creds = creds
        self._account = account
        self._relogin = relogin
        self._clock = clock
        self._transport = transport
        self._access: str | None = None
        self._expires_at: float | None = None
        self._lifetime = DEFAULT_LIFETIME
        self._revoked: LoginExpired | None = None
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

    async def token(self) -> str:
        """The access token, refreshed first when it is about to expire.

        Raises LoginExpired once the login was refused (until `refresh()`
        succeeds), TokenRefreshFailed when the token endpoint is unreachable.
        """
        if self.fresh():
            return self._access  # type: ignore[return-value]
        if self._revoked is not None:
            raise self._revoked
        try:
            return await self._join_refresh()
        except TokenRefreshFailed:
            # Inside the margin the old token still works: use it while the endpoint is away.
            if self._access is not None and self._clock() < (self._expires_at or 0):
                return self._access
            raise

    async def refresh(self) -> float:
        """Refresh now, whatever the cached token's age; the new expiry (epoch seconds)."""
        await self._join_refresh()
        return self._expires_at  # type: ignore[return-value]

    def invalidate(self) -> None:
        """Forget the access token (the upstream refused it): the next call refreshes."""
        self._access = None

    def blocking_token(self) -> str:
        """The access token, refreshed in the calling thread (one-shot CLI checks only)."""
        if not self.fresh():
            self._adopt(*self._refresh_blocking())
        return self._access  # type: ignore[return-value]

    async def _join_refresh(self) -> str:
        # One refresh per account however many requests wait: they all await the
        # same task. A shared task rather than a lock held by the first waiter,
        # so a waiter that is cancelled (its client went away) does not abandon
        # the refresh the others are waiting for.
        if self._job is None:
            self._job = asyncio.ensure_future(self._run_refresh())
            self._job.add_done_callback(_consume_exception)
        return await asyncio.shield(self._job)

    async def _run_refresh(self) -> str:
        loop = asyncio.get_running_loop()
        try:
            token, expires_at = await loop.run_in_executor(None, self._refresh_blocking)
        except LoginExpired as exc:
            self._revoked = exc
            self._access = None
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
        self._lifetime = max(0.0, expires_at - self._clock())

    def _refresh_blocking(self) -> tuple[str, float]:
        """Run google-auth's refresh (blocking); (token, expiry) or a typed error."""
        from google.auth import exceptions

        from localgate.google.transport import Request

        try:
            self._creds.refresh(self._transport or Request())
        except exceptions.RefreshError as exc:
            detail = _detail(exc)
            if getattr(exc, "retryable", False):
                raise TokenRefreshFailed(
                    f"the Google token endpoint failed for account {self._account!r}: {detail}"
                ) from exc
            raise LoginExpired(
                f"the Google login of account {self._account!r} no longer works ({detail}); "
                f"log in again: {self._relogin}"
            ) from exc
        except exceptions.TransportError as exc:
            raise TokenRefreshFailed(
                f"cannot reach the Google token endpoint for account {self._account!r}: "
                f"{_detail(exc)}"
            ) from exc
        expiry = self._creds.expiry
        if expiry is None:
            expires_at = self._clock() + DEFAULT_LIFETIME
        else:
            expires_at = expiry.replace(tzinfo=UTC).timestamp()
        return self._creds.token, expires_at


def _detail(exc: Exception) -> str:
    """google-auth puts the readable text first and the response body second."""
    first = exc.args[0] if exc.args else exc
    return str(first)


def _consume_exception(job: asyncio.Future) -> None:
    # Every waiter may have been cancelled; the outcome is kept on the credential.
    if not job.cancelled():
        job.exception()
