"""Reading a whole answer, or a file, from outside under a byte cap.

A hostile or broken peer may answer with hundreds of megabytes; localgate
reads at most the cap, into one buffer, and gives up past it: an upstream's
answer ([server] max_response_mb) with localgate's HTTP client, a token
endpoint's or a daemon's answer with http.client, a credentials or config file
the user names (which may be a device or a pipe that never ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localgate.errors import InputTooLarge, ResponseTooLarge

if TYPE_CHECKING:  # the CLI reads with http.client and should not pay for the daemon's
    import http.client
    from pathlib import Path

    from localgate.httpclient import Response

CHUNK = 16 * 1024  # bytes asked of http.client per read
# A config file, localgate's or a client's: real ones hold a few KB (a hundred
# accounts, about 20 KB). Read no more than this of what a path names.
MAX_CONFIG_FILE = 1 << 20


async def read_bounded(resp: Response, limit: int, first: bytes = b"") -> bytearray:
    """The whole body of `resp`, or ResponseTooLarge once it passes `limit` bytes.

    Chunks are appended to one bytearray (keeping them apart and joining them
    at the end would hold two copies at the peak), and a declared length past
    the limit is refused before anything is read. `first` is what was already read
    of the body (a media answer's first bytes): it counts against the limit.
    """
    declared = resp.content_length
    if declared is not None and declared > limit:
        raise ResponseTooLarge(_too_large(declared, limit))
    body = bytearray(first)
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise ResponseTooLarge(_too_large(len(body), limit))
    return body


def read_capped(answer: http.client.HTTPResponse, limit: int) -> bytes:
    """The whole body of a blocking `answer`, or InputTooLarge once it passes `limit` bytes.

    As `read_bounded`: a declared length past the limit is refused before
    anything is read, an undeclared one is read in chunks until it passes.
    The message says how much, never what.
    """
    declared = answer.length  # the Content-Length still to read; None when not declared
    if declared is not None and declared > limit:
        raise InputTooLarge(f"answered with more than {_size(limit)}")
    body = bytearray()
    while chunk := answer.read(CHUNK):
        body += chunk
        if len(body) > limit:
            raise InputTooLarge(f"answered with more than {_size(limit)}")
    return bytes(body)


def read_config(path: Path) -> str | None:
    """A config file's text (localgate's own, or a client's that `connect` edits); None
    when it does not exist. InputTooLarge past MAX_CONFIG_FILE: a path that names a
    disk image or /dev/zero by mistake must not be read whole. OSError and
    UnicodeDecodeError when it cannot be read as UTF-8 text."""
    try:
        data = read_file(path, MAX_CONFIG_FILE)
    except FileNotFoundError:
        return None
    except InputTooLarge:
        raise InputTooLarge(
            f"{path} holds more than {_size(MAX_CONFIG_FILE)}, which no config file does; "
            "is this the right file?"
        ) from None
    return data.decode("utf-8")


def read_file(path: Path, limit: int) -> bytes:
    """The bytes of `path`, or InputTooLarge when it holds more than `limit`; OSError
    when it cannot be read."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"{path} holds more than {_size(limit)}")
    return data


def _too_large(size: int, limit: int) -> str:
    return (
        f"answered with a body of more than {size / 1048576:.0f} MB "
        f"([server] max_response_mb allows {limit / 1048576:g})"
    )


def _size(limit: int) -> str:
    return f"{limit >> 20} MB" if limit >= 1 << 20 else f"{limit >> 10} KB"
