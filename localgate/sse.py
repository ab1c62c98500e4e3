"""Server-sent events: an incremental parser and the encoder.

Upstream bytes arrive in arbitrary chunks (an event may be split across
chunks, or a chunk may hold many events). `SSEParser.feed` returns the events
completed by each chunk, so callers act on every event as soon as it is whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from localgate import jsonwire
from localgate.errors import EventTooLarge


@dataclass(slots=True)
class Event:
    """One SSE event: its `event:` name (None when absent) and joined `data:` lines."""

    event: str | None
    data: str

    def json(self):
        """The data parsed as JSON (raises ValueError when it is not JSON)."""
        return jsonwire.loads(self.data)


class EventCutter:
    """Bytes in, whole events out as they came (framing untouched), linear in the bytes.

    Each chunk is searched once for the blank line that ends an event (LF, CRLF
    or CR framing), from a few bytes before it so a boundary split across chunks
    is found; the partial event is kept in a bytearray that grows by appending.
    (Joining the tail to each chunk and searching it all again made one endless
    event cost time quadratic in its size.) An event longer than `limit` bytes
    raises EventTooLarge: the upstream is sending garbage.
    """

    __slots__ = ("_held", "_limit")

    def __init__(self, limit: int | None = None) -> None:
        self._held = bytearray()
        self._limit = limit

    def feed(self, chunk: bytes) -> bytes:
        """The events `chunk` completes (b"" when none), with their blank lines."""
        held = self._held
        start = max(len(held) - 3, 0)  # a boundary may straddle the chunks
        held += chunk
        cut = _boundary_end(held, start)
        whole = b""
        if cut:
            whole = bytes(held[:cut])
            del held[:cut]
        if self._limit is not None and len(held) > self._limit:
            size = len(held)
            held.clear()
            raise EventTooLarge(
                f"the upstream sent a stream event of more than {size / 1048576:.0f} MB "
                f"([server] max_event_mb allows {self._limit / 1048576:g}); "
                "the answer is incomplete"
            )
        return whole

    def take_tail(self) -> bytes:
        """The partial event left (when the stream ended without a blank line)."""
        tail = bytes(self._held)
        self._held.clear()
        return tail

    @property
    def pending(self) -> bool:
        """True when a partial event is held."""
        return bool(self._held.strip())


def _boundary_end(data: bytearray, start: int) -> int:
    """The offset just past the last blank line at or after `start`, 0 if none."""
    lf = data.rfind(b"\n\n", start)
    crlf = data.rfind(b"\r\n\r\n", start)
    cr = data.rfind(b"\r\r", start)
    return max(lf + 2 if lf >= 0 else 0, crlf + 4 if crlf >= 0 else 0, cr + 2 if cr >= 0 else 0)


class SSEParser:
    """Split a byte stream into events, keeping the partial tail between feeds."""

    __slots__ = ("_cutter",)

    def __init__(self, limit: int | None = None) -> None:
        self._cutter = EventCutter(limit)

    def feed(self, chunk: bytes) -> list[Event]:
        """The events `chunk` completes (raises EventTooLarge past the limit)."""
        whole = self._cutter.feed(chunk)
        return parse_whole(whole) if whole else []

    def flush(self) -> list[Event]:
        """Events left in the tail when the stream ends without a final blank line."""
        return parse_whole(self._cutter.take_tail())

    @property
    def pending(self) -> bool:
        """True when a partial event is buffered (the stream was cut mid-event)."""
        return self._cutter.pending


def parse_whole(data: bytes) -> list[Event]:
    """The events in `data`, which holds whole events only (as EventCutter gives them)."""
    if b"\r" in data:
        # CRLF and CR framing are legal SSE; normalise once so the split is simple.
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    events = []
    for block in data.split(b"\n\n"):
        event = _parse_block(block)
        if event is not None:
            events.append(event)
    return events


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
    payload = data.encode() if isinstance(data, str) else jsonwire.dumps(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"
