"""The optional proxy token: what a client must present when one is set.

Without a token, any client that reaches localgate on loopback may use it.
With one, every request (but the `/` probe and CORS preflights) must carry it,
the way each SDK already sends an API key: `Authorization: Bearer TOKEN`
(OpenAI SDK, ANTHROPIC_AUTH_TOKEN), `x-api-key` (Anthropic SDK, Claude Code),
`x-goog-api-key` or `?key=` (Google clients). A token is also what allows
binding a non-loopback address.

The token lives in the keyring under service "localgate" with the username
":proxy-token", which no account can have (account names cannot contain ':').
`localgate token rotate` and `clear` also touch a stamp file in the user's
state dir (`token_stamp`), which tells a daemon on loopback to read it again.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets as _random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from localgate.errors import SecretError
from localgate.files import private_file, version
from localgate.keyreader import Keys, read_keys
from localgate.secrets import delete_secret, get_secret, store_secret

log = logging.getLogger("localgate")
PROXY_TOKEN_USER = ":proxy-token"
TOKEN_PREFIX = "lg-"
REFRESH_INTERVAL = 5.0  # seconds between reads of the token, beyond loopback
STAMP_INTERVAL = 1.0  # seconds between looks at the stamp, on loopback
STAMP_FILE = "proxy-token-changed"  # holds no secret: when the token last changed
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
    say_token_changed()
    return token


def clear_proxy_token() -> None:
    """Forget the proxy token: loopback clients need none again."""
    delete_secret(PROXY_TOKEN_USER)
    say_token_changed()


def token_stamp() -> Path:
    """The file `rotate` and `clear` touch: one per user, as the keyring is."""
    from localgate.config import default_state_dir

    return default_state_dir() / STAMP_FILE


def say_token_changed() -> None:
    """Tell running daemons on loopback to read the token again."""
    try:
        private_file(token_stamp()).write_text(f"{time.time_ns()}\n")
    except OSError:  # the state dir unwritable: they use the new token after a restart
        pass


class TokenApart:
    """`load_proxy_token` for a daemon on loopback: the keyring read by a child
    process (localgate.keyreader), so its backends never load into the daemon.
    The first read also reads the entries `also` names (the accounts' keys, at
    the daemon's start: one child, not two) and keeps what it read in `keys`.
    `plaintext` is the unencrypted keyring file the last read found (None: none)."""

    plaintext: Path | None = None
    keys: Keys | None = None

    def __init__(self, also: Iterable[str] = ()) -> None:
        self._also = list(also)

    def __call__(self) -> str | None:
        keys = read_keys([PROXY_TOKEN_USER, *self._also])
        if self._also:
            self.keys, self._also = keys, []
        self.plaintext = keys.plaintext
        return keys.get(PROXY_TOKEN_USER) or None


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
    """The current token, read at start and again later, so rotating needs no restart.

    With no `stamp`, the token is read every few seconds: beyond loopback, where
    `required` is set and a token that disappears (cleared, or its keyring file
    gone) makes the guard refuse every request instead of serving anyone. With a
    `stamp` (`token_stamp()`, on loopback) it is read only when the stamp changes:
    an idle daemon then asks nothing of the keyring.

    A keyring that cannot be read at start leaves no token (`problem` says why);
    one that fails later keeps the last token known, so a hiccup never opens the door.
    """

    def __init__(
        self, read: Callable[[], str | None] = load_proxy_token, *, stamp: Path | None = None
    ):
        self._read = read
        self._stamp = stamp
        # Taken before the read: a change made during it is read again.
        self._seen = version(stamp) if stamp is not None else None
        self.value: str | None = None
        self.problem: str | None = None
        self.required = False
        try:
            self.value = read()
        except SecretError as exc:
            self.problem = str(exc)

    async def watch(self, interval: float | None = None) -> None:
        """Re-read the token every `interval` seconds (or when the stamp changed, looked
        at as often) until cancelled."""
        if interval is None:
            interval = REFRESH_INTERVAL if self._stamp is None else STAMP_INTERVAL
        while True:
            await asyncio.sleep(interval)
            if self._stamp is not None:
                seen = version(self._stamp)
                if seen == self._seen:
                    continue
                self._seen = seen
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
