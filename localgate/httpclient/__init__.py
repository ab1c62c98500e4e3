"""localgate's HTTP/1.1 client, for every upstream request but WebSockets.

Why not aiohttp's client, when aiohttp serves the other side: measured in one
run on the benchmark's machine, a relay on aiohttp's server and client spent
581 µs of CPU per small request at concurrency 32, the same relay with this
client's way of working 262 µs. aiohttp's client is general (cookies, redirects,
auth, tracing, a request object per call); an upstream request needs none of
that. What it does need is here: pooled keep-alive connections, TLS, HTTP
proxies (CONNECT for https), Content-Length, chunked and close-framed answers,
gzip and deflate, timeouts for connecting, between reads and in all, and read
flow control. The WebSocket relay (`sockets.py`) keeps aiohttp's client.

    client.py      Client (the pool, connecting), Response, Timeout
    connection.py  one connection: the request written, the answer read as it arrives
    body.py        an answer's body: readany / async for, timeouts, inflating
    parse.py       the answer's head and framing, chunked bodies, every bound
"""

from localgate.httpclient.client import Client, Response, Timeout

__all__ = ["Client", "Response", "Timeout"]
