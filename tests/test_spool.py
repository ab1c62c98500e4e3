"""Spooled multipart bodies: fields found wherever chunks cut them, files never held."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localgate import spool as spool_module
from localgate.errors import InvalidRequest
from localgate.spool import Spool, Upload, read_form

BOUNDARY = "----lg7MA4YWxkTrZu0gW"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form(*parts: tuple[str, bytes, str | None], preamble: bytes = b"") -> bytes:
    out = [preamble]
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        out.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode())
        if filename:
            out.append(b"Content-Type: application/octet-stream\r\n")
        out.append(b"\r\n" + value + b"\r\n")
    out.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(out)


def spooled(body: bytes, piece: int = 7) -> Spool:
    spool = Spool()
    for i in range(0, len(body), piece):
        spool.write(body[i : i + piece])
    return spool


async def collect(upload: Upload) -> bytes:
    return b"".join([chunk async for chunk in upload.chunks()])


def test_fields_and_files():
    body = form(
        ("model", b"whisper-1", None),
        ("file", b"\x00binary\r\n--not-a-boundary", "a.mp3"),
        ("response_format", b"srt", None),
    )
    found = read_form(spooled(body), TYPE)
    assert dict(found) == {"model": "whisper-1", "response_format": "srt"}
    assert found.files == ("file",)


@given(st.integers(min_value=1, max_value=97), st.binary(max_size=300))
def test_any_chunking_finds_the_same_fields(piece, payload):
    body = form(
        ("file", payload, "x.bin"), ("model", b"gpt-image-1", None), preamble=b"preamble\r\n"
    )
    if f"--{BOUNDARY}".encode() in payload:
        return
    found = read_form(spooled(body, piece), TYPE)
    assert found["model"] == "gpt-image-1" and found.files == ("file",)


async def test_a_large_body_moves_to_disk_and_reads_back(monkeypatch):
    monkeypatch.setattr(spool_module, "MEMORY_LIMIT", 1000)
    monkeypatch.setattr(spool_module, "CHUNK", 333)
    payload = bytes(range(256)) * 40
    body = form(("model", b"gpt-image-1", None), ("image", payload, "a.png"))
    spool = spooled(body, 101)
    assert spool._file is not None and spool._memory == b""
    found = read_form(spool, TYPE)
    assert await collect(Upload(spool)) == body
    renamed = await collect(Upload(spool, (found.fields["model"], "dall-e-2")))
    assert renamed == body.replace(b"gpt-image-1", b"dall-e-2")
    assert Upload(spool, (found.fields["model"], "dall-e-2")).size == len(renamed)
    spool.close()


def test_long_text_fields_are_not_read(monkeypatch):
    monkeypatch.setattr(spool_module, "FIELD_LIMIT", 10)
    found = read_form(spooled(form(("prompt", b"x" * 11, None), ("model", b"m", None))), TYPE)
    assert dict(found) == {"model": "m"}


@pytest.mark.parametrize(
    "content_type, body, says",
    [
        ("application/json", b"{}", "multipart/form-data"),
        ("multipart/form-data", b"x", "multipart/form-data"),
        (TYPE, b"no boundary here", "no part"),
        (
            TYPE,
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=a\r\n--{BOUNDARY}--".encode(),
            "headers",
        ),
        (TYPE, form(("a", b"1", None))[: -len(f"--{BOUNDARY}--\r\n") - 2], "closing boundary"),
    ],
)
def test_malformed_forms_are_400s(content_type, body, says):
    with pytest.raises(InvalidRequest, match=says):
        read_form(spooled(body), content_type)
