"""Reading an upstream's whole answer under a byte cap ([server] max_response_mb).

A hostile or broken upstream may answer with hundreds of megabytes; the
daemon reads at most the cap, into one buffer, and gives up past it.
"""

from __future__ import annotations

import aiohttp

from localgate.errors import ResponseTooLarge


async def read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytearray:
    """The whole body of `resp`, or ResponseTooLarge once it passes `limit` bytes.

    Chunks are appended to one bytearray (aiohttp's `read()` keeps the chunks
    and joins them: two copies at the peak), and a declared length past the
    limit is refused before anything is read.
    """
    declared = resp.content_length
    if declared is not None and declared > limit:
        raise ResponseTooLarge(_too_large(declared, limit))
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise ResponseTooLarge(_too_large(len(body), limit))
    return body


def _too_large(size: int, limit: int) -> str:
    return (
        f"answered with a body of more than {size / 1048576:.0f} MB "
        f"([server] max_response_mb allows {limit / 1048576:g})"
    )
