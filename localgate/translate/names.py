"""Tool ids and tool names kept within each dialect's rules, reversibly.

Ids: Anthropic requires `^[a-zA-Z0-9_-]+$`, while OpenAI-compatible servers
hand out ids such as `functions.Bash:0`. `encode_id` escapes such an id into
Anthropic's charset without state, and `decode_id` gives the original back
when the client sends the id again in a tool result.

Names: OpenAI and Gemini want `^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$`-ish names.
`ToolNames` maps each unusable name to a safe one for one request and maps
the upstream's answer back; the safe form is deterministic (hash suffix), so
the same name maps the same way on every turn of a conversation.
"""

from __future__ import annotations

import hashlib
import re

from localgate.ids import new_id

_ID_OK = re.compile(r"[a-zA-Z0-9_-]+")  # fullmatch: `$` lets a newline through
_ID_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
ENCODED_ID_PREFIX = "lgx_"  # marks an id escaped by `encode_id`

_NAME_OK = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]{0,63}")
_NAME_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


def encode_id(raw: str) -> str:
    """An Anthropic-valid id for `raw` (unchanged when already valid)."""
    if raw and _ID_OK.fullmatch(raw) and not raw.startswith(ENCODED_ID_PREFIX):
        return raw
    # `_` + two hex digits per byte outside [A-Za-z0-9-]: `_` itself escapes too.
    escaped = "".join(chr(b) if b in _ID_PLAIN else f"_{b:02x}" for b in raw.encode())
    return ENCODED_ID_PREFIX + escaped


def decode_id(wire: str) -> str:
    """The original id behind an id produced by `encode_id`."""
    if not wire.startswith(ENCODED_ID_PREFIX):
        return wire
    body = wire[len(ENCODED_ID_PREFIX) :]
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "_" and _is_hex(body[i + 1 : i + 3]):
            out.append(int(body[i + 1 : i + 3], 16))
            i += 3
        else:
            out += body[i].encode()
            i += 1
    return out.decode(errors="replace")


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdef" for c in pair)


def new_tool_id() -> str:
    """A fresh id for a tool call the upstream left without one (Gemini)."""
    return new_id("call_")


def safe_name(name: str) -> str:
    """A name every dialect accepts, deterministic for `name`."""
    if _NAME_OK.fullmatch(name):
        return name
    cleaned = _NAME_BAD_CHARS.sub("_", name) or "tool"
    if not (cleaned[0].isalpha() or cleaned[0] == "_"):
        cleaned = "_" + cleaned
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{cleaned[:55]}_{digest}"


class ToolNames:
    """The client's tool names ⇄ the names sent upstream, for one request."""

    def __init__(self) -> None:
        self._to_client: dict[str, str] = {}

    def upstream(self, name: str) -> str:
        """The name to send upstream for the client's `name` (remembered)."""
        safe = safe_name(name)
        self._to_client.setdefault(safe, name)
        return safe

    def client(self, name: str) -> str:
        """The client's name for a name the upstream used (unknown names pass)."""
        return self._to_client.get(name, name)
