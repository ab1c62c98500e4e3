"""Server-sent events: an incremental parser and the encoder.

Upstream bytes arrive in arbitrary chunks (an event may be split across
chunks, or a chunk may hold many events). `SSEParser.feed` returns the events
completed by each chunk, so callers act on every event as soon as it is whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(slots=True)
class Event:
    """One SSE event: its `event:` name (None when absent) and joined `data:` lines."""

    event: str | None
    data: str

    def json(self):
        """The data parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.data)


class SSEParser:
    """Split a byte stream into events, keeping the partial tail between feeds."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[Event]:
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            # CRLF framing is legal SSE; normalise once so the split below is simple.
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *blocks, self._buffer = buffer.split(b"\n\n")
        events = []
        for block in blocks:
            event = _parse_block(block)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[Event]:
        """Events left in the tail when the stream ends without a final blank line."""
        tail, self._buffer = self._buffer, b""
        event = _parse_block(tail)
        return [event] if event is not None else []

    @property
    def pending(self) -> bool:
        """True when a partial event is buffered (the stream was cut mid-event)."""
        return bool(self._buffer.strip())


def _parse_block(block: bytes) -> Event | None:
    name = None
    data: list[str] = []
    for line in block.decode("utf-8", errors="replace").split("\n"):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
    if not data and name is None:
        return None
    return Event(name, "\n".join(data))


def encode(data: dict | str, event: str | None = None) -> bytes:
    """One SSE event as bytes; dicts are serialised compactly."""
    if not isinstance(data, str):
        data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()
