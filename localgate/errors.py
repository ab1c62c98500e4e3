"""Every error localgate raises, in one place.

    LocalgateError                    something went wrong; knows its HTTP status
    ├── ConfigError                   the config file is missing a key, has a bad value…
    ├── SecretError                   an account's secret cannot be found
    │   ├── KeyringUnavailable        no usable keyring backend on this machine
    │   ├── KeyringFailed             the keyring backend failed (locked, corrupt…)
    │   └── LoginExpired              an OAuth login was revoked or expired: log in again
    ├── TokenRefreshFailed            the token endpoint could not be reached (transient)
    ├── InputTooLarge                 a token answer or a credentials file past its bound
    ├── LoginFailed                   an interactive OAuth login did not complete
    ├── CannotListen                  `serve` cannot bind its address
    ├── AlreadyRunning                another daemon serves the same state dir
    ├── DaemonError                   `start`/`stop`/`service`: the daemon did not do as asked
    ├── ClientConfigError             `connect`: a client's config file cannot be edited safely
    ├── ConnectionFailed              an upstream connection broke, or spoke no HTTP/1.1
    │   └── CannotConnect             no connection to the upstream could be opened
    └── GatewayError                  an error a client sees, rendered in its dialect
        ├── InvalidRequest      400   malformed JSON, wrong types, missing fields
        ├── Unauthorized        401   proxy token missing or wrong
        ├── Forbidden           403   Host or Origin rejected
        ├── ModelNotFound       404   no account serves that model
        ├── NotFound            404   no such route
        ├── RequestTimeout      408   the client sent its body too slowly
        ├── BodyTooLarge        413   request body over the configured limit
        ├── AllAccountsCooling  429   every candidate is cooling down (has retry_after)
        ├── UpstreamError       502   upstream answered with garbage or failed outright
        │   ├── EventTooLarge           one stream event past [server] max_event_mb
        │   └── ResponseTooLarge        a whole answer past [server] max_response_mb
        ├── NoAccounts          503   nothing configured or enabled for the request
        ├── AccountsResting     503   every candidate rests after failing (has retry_after)
        ├── ProxyTokenMissing   503   bound beyond loopback, but the proxy token is gone
        ├── ShuttingDown        503   the daemon stopped before the answer was whole
        └── UpstreamTimeout     504   upstream did not answer in time

A GatewayError carries a dialect-neutral `kind`; `KINDS` says how each kind
reads on each wire (Anthropic error type, OpenAI type/code, Google status), so a
dialect renders any error without knowing where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    anthropic_type: str
    openai_type: str
    openai_code: str | None
    google_status: str


# kind -> how it reads in each dialect
KINDS: dict[str, ErrorKind] = {
    "invalid_request": ErrorKind(
        "invalid_request_error", "invalid_request_error", None, "INVALID_ARGUMENT"
    ),
    "authentication": ErrorKind(
        "authentication_error", "authentication_error", "invalid_api_key", "UNAUTHENTICATED"
    ),
    "permission": ErrorKind(
        "permission_error", "permission_error", "forbidden", "PERMISSION_DENIED"
    ),
    "not_found": ErrorKind("not_found_error", "invalid_request_error", "not_found", "NOT_FOUND"),
    "model_not_found": ErrorKind(
        "not_found_error", "invalid_request_error", "model_not_found", "NOT_FOUND"
    ),
    "request_too_large": ErrorKind(
        "request_too_large", "invalid_request_error", "request_too_large", "INVALID_ARGUMENT"
    ),
    "rate_limit": ErrorKind(
        "rate_limit_error", "rate_limit_error", "rate_limit_exceeded", "RESOURCE_EXHAUSTED"
    ),
    "api_error": ErrorKind("api_error", "server_error", None, "INTERNAL"),
    "overloaded": ErrorKind("overloaded_error", "server_error", "overloaded", "UNAVAILABLE"),
    "unavailable": ErrorKind("api_error", "server_error", "no_account", "UNAVAILABLE"),
    "timeout": ErrorKind("timeout_error", "timeout_error", "timeout", "DEADLINE_EXCEEDED"),
}

# The kind an upstream HTTP status maps to, for errors relayed across dialects.
STATUS_KINDS: dict[int, str] = {
    400: "invalid_request",
    401: "authentication",
    403: "permission",
    404: "not_found",
    413: "request_too_large",
    429: "rate_limit",
    500: "api_error",
    502: "api_error",
    503: "unavailable",
    504: "timeout",
    529: "overloaded",
}


def kind_for_status(status: int) -> str:
    """The error kind for an HTTP status (unknown 4xx read as invalid requests)."""
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    return "invalid_request" if 400 <= status < 500 else "api_error"


class LocalgateError(Exception):
    """Base of every localgate error; `str(err)` is the message a user reads."""

    status = 500


class ConfigError(LocalgateError):
    """The config file cannot be used; the message names the file and the key."""


class SecretError(LocalgateError):
    """An account's secret is missing; the message names the command that fixes it."""


class KeyringUnavailable(SecretError):
    """No usable keyring backend exists on this machine."""


class KeyringFailed(SecretError):
    """The keyring backend raised while reading or writing (locked, corrupt file, D-Bus away).

    Unlike "no key stored", this may pass: a daemon keeps the secrets it holds and
    asks again. The message names the backend's exception type, never its text
    (a corrupt file keyring's error quoted the file's content).
    """


class LoginExpired(SecretError):
    """An OAuth refresh was refused (`invalid_grant`…); the message names the login command."""


class TokenRefreshFailed(LocalgateError):
    """An access token could not be refreshed for a reason that may pass (network, 5xx)."""


class InputTooLarge(LocalgateError):
    """What localgate read from outside (a token endpoint's answer, a credentials file)
    went past the size such a thing has; the message says how much, never the content."""


class LoginFailed(LocalgateError):
    """An interactive OAuth login did not complete (denied, timed out, wrong state…)."""


class CannotListen(LocalgateError):
    """`serve` cannot bind its address (port taken, address not on this machine…)."""


class AlreadyRunning(LocalgateError):
    """A daemon already serves this state dir; the message names it (pid, URL)."""


class DaemonError(LocalgateError):
    """The daemon did not start, stop or answer as asked; the message says what to look at."""


class ClientConfigError(LocalgateError):
    """A client's config file (Claude Code, Codex, Gemini CLI) cannot be edited safely."""


class ConnectionFailed(LocalgateError):
    """The connection to an upstream broke, or what came back was not HTTP/1.1: there is
    no answer to relay, and another account may serve (the gateway moves on)."""

    status = 502


class CannotConnect(ConnectionFailed):
    """No connection to the upstream could be opened: refused, unknown host, TLS, proxy."""


class GatewayError(LocalgateError):
    """An error a client sees, in its own dialect, with an HTTP status."""

    status = 500
    kind = "api_error"

    def __init__(self, message: str, *, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers: dict[str, str] = dict(headers or {})


class InvalidRequest(GatewayError):
    status, kind = 400, "invalid_request"


class Unauthorized(GatewayError):
    status, kind = 401, "authentication"


class Forbidden(GatewayError):
    status, kind = 403, "permission"


class ModelNotFound(GatewayError):
    status, kind = 404, "model_not_found"


class NotFound(GatewayError):
    status, kind = 404, "not_found"


class RequestTimeout(GatewayError):
    """The request body did not arrive within [server] body_timeout (slow or stuck client)."""

    status, kind = 408, "timeout"


class BodyTooLarge(GatewayError):
    status, kind = 413, "request_too_large"


class AllAccountsCooling(GatewayError):
    """Every candidate account is cooling down; `retry_after` says for how long."""

    status, kind = 429, "rate_limit"

    def __init__(self, message: str, *, retry_after: float):
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(message, headers={"Retry-After": str(seconds)})
        self.retry_after = retry_after


class UpstreamError(GatewayError):
    status, kind = 502, "api_error"


class EventTooLarge(UpstreamError):
    """One upstream stream event went past [server] max_event_mb: garbage, not an answer."""


class ResponseTooLarge(UpstreamError):
    """A whole upstream answer went past [server] max_response_mb."""


class NoAccounts(GatewayError):
    status, kind = 503, "unavailable"


class AccountsResting(GatewayError):
    """Every candidate account rests after failures (5xx, empty answers…), not after a
    rate limit: the client hears what happened, and when the first is back."""

    status, kind = 503, "overloaded"

    def __init__(self, message: str, *, retry_after: float):
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(message, headers={"Retry-After": str(seconds)})
        self.retry_after = retry_after


class ProxyTokenMissing(GatewayError):
    """A daemon bound beyond loopback lost its proxy token: it refuses, never serves openly."""

    status, kind = 503, "unavailable"


class ShuttingDown(GatewayError):
    """The daemon's shutdown grace ran out while this answer was still streaming."""

    status, kind = 503, "unavailable"


class UpstreamTimeout(GatewayError):
    status, kind = 504, "timeout"


class RelayedError(GatewayError):
    """An upstream's own error, carried to the client with the upstream's status.

    Used when the upstream speaks another dialect than the client (the same
    dialect relays the upstream body untouched instead).
    """

    def __init__(self, status: int, message: str, *, headers: dict | None = None):
        super().__init__(message, headers=headers)
        self.status = status
        self.kind = kind_for_status(status)
