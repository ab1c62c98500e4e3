"""Multipart request bodies, kept for resending and streamed upstream as they came.

An upload (audio to transcribe, images to edit) is relayed byte for byte, but
failover may send it twice, so it is spooled: in memory while small, in an
unnamed temporary file past `MEMORY_LIMIT`. Each attempt streams it from there.
Of the form only the small text fields are read (the model, the stream flag,
the response format): file parts are skipped over, never held.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass

from localgate.errors import InvalidRequest

MEMORY_LIMIT = 1 << 20  # bytes kept in memory before the spool moves to disk
CHUNK = 1 << 16
FIELD_LIMIT = 1 << 16  # text fields longer than this are not read (a prompt may be long)
HEADER_LIMIT = 8192  # bytes of a part's headers
_NAME = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)
_FILENAME = re.compile(rb"\bfilename\*?=", re.IGNORECASE)


class Spool:
    """The bytes of one request body, appended as they arrive, read back as often as needed."""

    def __init__(self) -> None:
        self._memory = bytearray()
        self._file = None
        self.size = 0

    def write(self, data: bytes) -> None:
        if self._file is None and len(self._memory) + len(data) > MEMORY_LIMIT:
            self._file = tempfile.TemporaryFile()
            self._file.write(self._memory)
            self._memory = bytearray()
        if self._file is not None:
            self._file.write(data)
        else:
            self._memory += data
        self.size += len(data)

    def read_at(self, offset: int, size: int) -> bytes:
        if self._file is None:
            return bytes(self._memory[offset : offset + size])
        self._file.seek(offset)
        return self._file.read(size)

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes from `start` to `end`, a chunk at a time (disk reads off the loop)."""
        end = self.size if end is None else end
        loop = asyncio.get_running_loop()
        while start < end:
            size = min(CHUNK, end - start)
            if self._file is None:
                chunk = self.read_at(start, size)
            else:
                chunk = await loop.run_in_executor(None, self.read_at, start, size)
            if not chunk:
                return
            start += len(chunk)
            yield chunk

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(frozen=True, slots=True)
class FormField:
    """A text field of a form: its value and where the value sits in the body."""

    value: str
    start: int
    end: int


def boundary_of(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` content type, or a 400."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/form-data") or not found:
        raise InvalidRequest("this route takes a multipart/form-data body (with a boundary)")
    return found.group(1).encode()


class Form(dict):
    """A form's text fields by name (values), with where they sit and the file parts' names."""

    def __init__(self, fields: dict[str, FormField], files: list[str]):
        super().__init__((name, f.value) for name, f in fields.items())
        self.fields = fields
        self.files = tuple(files)


def read_form(spool: Spool, content_type: str) -> Form:
    """The text fields and file part names of a spooled `multipart/form-data` body (or a 400)."""
    return Form(*form_fields(spool, boundary_of(content_type)))


def form_fields(spool: Spool, boundary: bytes) -> tuple[dict[str, FormField], list[str]]:
    """The text fields (by name) and the names of the file parts of a spooled form.

    Raises InvalidRequest for a body that is not a well-formed form.
    """
    delimiter = b"\r\n--" + boundary
    # The first delimiter may open the body without its CRLF: search as if it had one.
    starts = _find_all(spool, delimiter, prefix=b"\r\n")
    if not starts:
        raise InvalidRequest("the multipart body holds no part with its boundary")
    fields: dict[str, FormField] = {}
    files: list[str] = []
    for begin, end in zip(starts, starts[1:], strict=False):
        head_at = begin + len(delimiter) + 2  # past "--boundary\r\n" (CRLF included)
        head = spool.read_at(head_at, min(HEADER_LIMIT, end - head_at))
        split = head.find(b"\r\n\r\n")
        if split < 0:
            raise InvalidRequest("a multipart part has no end to its headers")
        name = _NAME.search(head[:split])
        if name is None:
            continue
        value_at = head_at + split + 4
        key = name.group(1).decode("utf-8", "replace")
        if _FILENAME.search(head[:split]):
            files.append(key)
        elif end - value_at <= FIELD_LIMIT:
            value = spool.read_at(value_at, end - value_at).decode("utf-8", "replace")
            fields[key] = FormField(value, value_at, end)
    if spool.read_at(starts[-1] + len(delimiter), 2) != b"--":
        raise InvalidRequest("the multipart body ends before its closing boundary")
    return fields, files


def _find_all(spool: Spool, needle: bytes, prefix: bytes) -> list[int]:
    """Body offsets of `needle` in `prefix + body` (negative inside the prefix), chunk by chunk."""
    found: list[int] = []
    base, data, position = -len(prefix), prefix, 0  # base: the body offset of data[0]
    keep = len(needle) - 1  # a needle cut by a chunk's end is found in the next round
    while True:
        chunk = spool.read_at(position, CHUNK) if position < spool.size else b""
        position += len(chunk)
        data += chunk
        at = data.find(needle)
        while at >= 0:
            found.append(base + at)
            at = data.find(needle, at + 1)
        if not chunk:
            return found
        cut = max(len(data) - keep, 0)
        base += cut
        data = data[cut:]


class Upload:
    """A spooled body as it goes upstream, with one field's value replaced if asked
    (an alias names another model than the client's form)."""

    def __init__(self, spool: Spool, replace: tuple[FormField, str] | None = None):
        self.spool = spool
        self.replace = replace

    @property
    def size(self) -> int:
        if self.replace is None:
            return self.spool.size
        old, new = self.replace
        return self.spool.size - (old.end - old.start) + len(new.encode())

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.replace is None:
            async for chunk in self.spool.chunks():
                yield chunk
            return
        old, new = self.replace
        async for chunk in self.spool.chunks(0, old.start):
            yield chunk
        yield new.encode()
        async for chunk in self.spool.chunks(old.end):
            yield chunk
