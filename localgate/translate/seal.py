"""Opaque state localgate hands to clients and must recognise when it comes back.

Clients replay what they were given word for word: Claude Code replays thinking
`signature`s, Codex replays reasoning and compaction `encrypted_content`. Those
fields are the only stateless place to carry provider state across turns, so
localgate puts its own tagged values there:

    localgate:<origin>:<value>

`origin` says who can verify `value`: `anthropic`, `gemini`, `openai` (a
Chat-Completions reasoning text), `responses@<account>` (an OpenAI Responses
`encrypted_content`, bound to the organisation of the account that made it;
the value is `<reasoning item id>:<blob>`), `redacted` (Anthropic redacted
thinking), or `compaction` (a summary localgate wrote and signed itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

PREFIX = "localgate:"
RESPONSES = "responses"  # origin of OpenAI Responses reasoning, before it is bound to an account
REDACTED = "redacted"
COMPACTION = "compaction"
COMPACTION_VERSION = "v1"


def wrap(origin: str, value: str) -> str:
    """`value` tagged with the `origin` that can verify it."""
    return f"{PREFIX}{origin}:{value}"


def unwrap(text: object) -> tuple[str, str] | None:
    """(origin, value) of a tagged value; None for anything localgate did not tag."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        return None
    origin, sep, value = text[len(PREFIX) :].partition(":")
    return (origin, value) if sep and origin else None


def responses_origin(account: str) -> str:
    """The origin of Responses reasoning made by `account` (only it can replay it)."""
    return f"{RESPONSES}@{account}"


def bind(origin: str | None, account: str) -> str | None:
    """A Responses upstream's reasoning origin, bound to the account that served it."""
    return responses_origin(account) if origin == RESPONSES and account else origin


def seal_compaction(summary: str, key: bytes) -> str:
    """An `encrypted_content` for a compaction item holding `summary`, signed with `key`."""
    payload = base64.urlsafe_b64encode(
        json.dumps({"summary": summary}, ensure_ascii=False).encode()
    ).decode()
    return wrap(COMPACTION, f"{COMPACTION_VERSION}.{payload}.{_mac(payload, key)}")


def open_compaction(text: object, key: bytes) -> str | None:
    """The summary inside a compaction localgate sealed with `key`; None if it is not
    localgate's, or does not verify (altered, or sealed by another installation)."""
    tagged = unwrap(text)
    if tagged is None or tagged[0] != COMPACTION:
        return None
    version, _, rest = tagged[1].partition(".")
    payload, _, mac = rest.rpartition(".")
    if version != COMPACTION_VERSION or not hmac.compare_digest(mac, _mac(payload, key)):
        return None
    try:
        summary = json.loads(base64.urlsafe_b64decode(payload.encode())).get("summary")
    except (ValueError, AttributeError):
        return None
    return summary if isinstance(summary, str) else None


def _mac(payload: str, key: bytes) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]
