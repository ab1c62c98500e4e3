"""Who may use the dashboard: one-time login links, page sessions and CSRF tokens.

With no proxy token set, the page is open to whoever the guard lets through
(loopback Host, no foreign Origin). With a token set, `localgate dashboard`
(which holds the token) asks the daemon for a one-time login code and opens
`/ui/login?code=…`; redeeming it sets an HttpOnly, SameSite=Strict cookie
naming a page session, so the page never sees or asks for the token.
Sessions live in the daemon's memory (a restart means logging in again) and
end when the token changes: rotating the token is how a user revokes them.

State-changing actions also need a CSRF token, derived from a per-daemon
secret and the session, which only a same-origin page can read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

COOKIE = "localgate_ui"
CODE_LIFETIME = 300.0  # seconds a login link may wait to be opened
SESSION_LIFETIME = 86400.0  # seconds a page session lasts
MAX_SESSIONS = 64  # the oldest session goes when a new one would exceed this
MAX_CODES = 16


def _fingerprint(token: str | None) -> str:
    return hashlib.sha256((token or "").encode("utf-8", "backslashreplace")).hexdigest()


class PageSessions:
    """Login codes and sessions of one daemon; `token()` returns the current proxy token."""

    def __init__(self, token: Callable[[], str | None], clock: Callable[[], float] = time.time):
        self._token = token
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._codes: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._sessions: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def token(self) -> str | None:
        """The proxy token in force now (None: none is set)."""
        return self._token()

    @property
    def required(self) -> bool:
        """True when a page needs a session (a proxy token is set)."""
        return self._token() is not None

    def login_code(self) -> str:
        """A new single-use code for `/ui/login?code=…`, valid for CODE_LIFETIME."""
        code = secrets.token_urlsafe(32)
        self._remember(self._codes, code, CODE_LIFETIME, MAX_CODES)
        return code

    def redeem(self, code: str | None) -> str | None:
        """A new session id for a valid, unused code (which is used up); else None."""
        if not code or not self._alive(self._codes.pop(code, None)):
            return None
        session = secrets.token_urlsafe(32)
        self._remember(self._sessions, session, SESSION_LIFETIME, MAX_SESSIONS)
        return session

    def valid(self, session: str | None) -> bool:
        """True for a live session granted under the current proxy token."""
        return bool(session) and self._alive(self._sessions.get(session))

    def csrf(self, session: str | None) -> str:
        """The CSRF token of a page session (of the open page when there is none)."""
        message = (session or "").encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def csrf_ok(self, session: str | None, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf(session), presented)

    def _remember(self, table: OrderedDict, key: str, lifetime: float, limit: int) -> None:
        table[key] = (self._clock() + lifetime, _fingerprint(self._token()))
        while len(table) > limit:
            table.popitem(last=False)

    def _alive(self, entry: tuple[float, str] | None) -> bool:
        if entry is None:
            return False
        expires, token = entry
        return self._clock() < expires and hmac.compare_digest(token, _fingerprint(self._token()))
