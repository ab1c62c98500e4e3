"""The optional proxy token: what a client must present when one is set.

Without a token, any client that reaches localgate on loopback may use it.
With one, every request (but the `/` probe and CORS preflights) must carry it,
the way each SDK already sends an API key: `Authorization: Bearer TOKEN`
(OpenAI SDK, ANTHROPIC_AUTH_TOKEN), `x-api-key` (Anthropic SDK, Claude Code),
`x-goog-api-key` or `?key=` (Google clients). A token is also what allows
binding a non-loopback address.

The token lives in the keyring under service "localgate" with the username
":proxy-token", which no account can have (account names cannot contain ':').
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets as _random
from collections.abc import Callable, Iterator, Mapping

from localgate.errors import SecretError
from localgate.secrets import delete_secret, get_secret, store_secret

log = logging.getLogger("localgate")
PROXY_TOKEN_USER = ":proxy-token"
TOKEN_PREFIX = "lg-"
REFRESH_INTERVAL = 5.0  # seconds: how soon a running daemon sees `localgate token rotate`
HEADER_NAMES = ("x-api-key", "x-goog-api-key")
TOKEN_GONE = (
    "this localgate listens beyond loopback and its proxy token is no longer in the "
    "keyring, so it refuses every request (503) rather than serve anyone who can reach "
    "it. Run `localgate token rotate` and give the new token to your clients, or restart "
    "it bound to 127.0.0.1"
)


def load_proxy_token() -> str | None:
    """The stored proxy token, or None when none is set (raises SecretError on keyring trouble)."""
    return get_secret(PROXY_TOKEN_USER) or None


def rotate_proxy_token() -> str:
    """Generate a new token, store it (replacing any old one) and return it."""
    token = TOKEN_PREFIX + _random.token_urlsafe(32)
    store_secret(PROXY_TOKEN_USER, token)
    return token


def clear_proxy_token() -> None:
    """Forget the proxy token: loopback clients need none again."""
    delete_secret(PROXY_TOKEN_USER)


def auth_headers(token: str | None) -> dict[str, str]:
    """Headers a localgate client (e.g. `localgate limits`) sends to a token-protected daemon."""
    return {"Authorization": f"Bearer {token}"} if token else {}


KEY_PROTOCOL = "openai-insecure-api-key."  # a WebSocket subprotocol carrying the API key


def presented(headers: Mapping[str, str], query: Mapping[str, str]) -> Iterator[str]:
    """Every credential the request carries, wherever its SDK put it."""
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        yield value.strip()
    for name in HEADER_NAMES:
        value = headers.get(name)
        if value:
            yield value.strip()
    value = query.get("key")
    if value:
        yield value
    # Browsers cannot set headers on a WebSocket: the Realtime SDKs send the key
    # as a subprotocol instead.
    for protocol in headers.get("Sec-WebSocket-Protocol", "").split(","):
        protocol = protocol.strip()
        if protocol.startswith(KEY_PROTOCOL):
            yield protocol.removeprefix(KEY_PROTOCOL)


def token_accepted(expected: str, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    """True when one of the presented credentials is the token (constant-time compare)."""
    want = _bytes(expected)
    ok = False
    for candidate in presented(headers, query):
        # No early exit: the time taken does not tell which header matched.
        ok |= hmac.compare_digest(_bytes(candidate), want)
    return ok


def _bytes(text: str) -> bytes:
    # Header values may carry anything; backslashreplace never raises.
    return text.encode("utf-8", "backslashreplace")


class ProxyTokenSource:
    """The current token, read at start and re-read now and then, so rotating needs no restart.

    A keyring that cannot be read at start leaves no token (`problem` says why);
    one that fails later keeps the last token known, so a hiccup never opens the door.
    `required` is set for a daemon bound beyond loopback: there a token that
    disappears (cleared, or its keyring file gone) makes the guard refuse every
    request instead of serving anyone.
    """

    def __init__(self, read: Callable[[], str | None] = load_proxy_token):
        self._read = read
        self.value: str | None = None
        self.problem: str | None = None
        self.required = False
        try:
            self.value = read()
        except SecretError as exc:
            self.problem = str(exc)

    async def watch(self, interval: float = REFRESH_INTERVAL) -> None:
        """Re-read the token every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                value = await asyncio.to_thread(self._read)
            except SecretError as exc:
                log.warning("cannot re-read the proxy token, keeping the current one: %s", exc)
                continue
            if value != self.value:
                if value or not self.required:
                    log.info("proxy token %s", "changed" if value else "cleared")
                else:
                    log.error("proxy token gone: %s", TOKEN_GONE)
                self.value = value
