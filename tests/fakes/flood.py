"""A bare hostile upstream for routes the fakes do not script: GET `path` answers
`head`, then `size` bytes of filler, then `tail`, without a length, as long as
the reader reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

CHUNK = 65536


@asynccontextmanager
async def flooding(
    path: str, size: int, *, status: int = 200, head: bytes = b"", tail: bytes = b""
) -> AsyncIterator[tuple[str, list[int]]]:
    """(base URL, a list of the chunk sizes taken before the reader hung up)."""
    sent: list[int] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"content-type": "application/json"})
        await response.prepare(request)
        try:
            await response.write(head)
            for _ in range(size // CHUNK):
                await response.write(b"x" * CHUNK)
                sent.append(CHUNK)
            await response.write(tail)
        except ConnectionError:  # the reader gave up on it, as a bounded one does
            pass
        return response

    app = web.Application()
    app.router.add_get(path, answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), sent
    finally:
        await server.close()
