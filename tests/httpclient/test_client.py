"""localgate's upstream HTTP client against raw servers on 127.0.0.1 that write the bytes.

Each fake is an asyncio server whose handler reads the request and writes
exactly the answer bytes under test: framing, encodings, broken and hostile
answers, timeouts, pooling, and an HTTP proxy (plain and CONNECT with TLS).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import ssl
import subprocess
import zlib

import pytest

from localgate.errors import CannotConnect, ConnectionFailed
from localgate.httpclient import Client, Timeout
from localgate.httpclient.body import HIGH

HOST = "127.0.0.1"
SHORT = Timeout(total=5, connect=5)


class Raw:
    """A server whose `answer(request_head, request_body, writer)` writes the bytes."""

    def __init__(self, answer):
        self.answer = answer
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []

    async def __aenter__(self) -> Raw:
        self.server = await asyncio.start_server(self._handle, HOST, 0)
        self.url = f"http://{HOST}:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.heads.append(head)
                self.bodies.append(body)
                if await self.answer(head, body, writer) is False:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def fixed(data: bytes, close: bool = False):
    async def answer(head, body, writer):
        writer.write(data)
        await writer.drain()
        return not close

    return answer


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@pytest.fixture
async def client():
    client = Client()
    yield client
    await client.close()


async def get(client, url, *, body=b"{}", **kw):
    resp = await client.request(
        "POST", url + "/v1/x", headers={"a": "b"}, body=body, timeout=SHORT, **kw
    )
    try:
        return resp.status, resp.headers, await read_all(resp)
    finally:
        resp.release()


async def read_all(resp) -> bytes:
    return b"".join([chunk async for chunk in resp.content.iter_any()])


async def test_a_counted_answer_and_the_connection_reused(client):
    async with Raw(fixed(ok(b'{"ok":1}', "Content-Type: application/json\r\n"))) as server:
        for _ in range(3):
            status, headers, body = await get(client, server.url)
            assert (status, body, headers["content-type"]) == (200, b'{"ok":1}', "application/json")
        assert server.connections == 1
        assert client.in_use == 0
        head = server.heads[0].decode()
        assert head.startswith("POST /v1/x HTTP/1.1\r\n")
        assert f"Host: {HOST}:" in head and "a: b\r\n" in head and "content-length: 2" in head


async def test_chunks_arriving_a_byte_at_a_time():
    data = b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
    whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + data

    async def answer(head, body, writer):
        for i in range(len(whole)):
            writer.write(whole[i : i + 1])
            await writer.drain()

    client = Client()
    async with Raw(answer) as server:
        for _ in range(2):
            assert (await get(client, server.url))[2] == b"hello world"
        assert server.connections == 1
    await client.close()


async def test_an_answer_framed_by_the_close_is_read_to_it(client):
    answer = fixed(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", close=True)
    async with Raw(answer) as server:
        assert (await get(client, server.url))[2] == b"all of it"
        assert (await get(client, server.url))[2] == b"all of it"
        assert server.connections == 2


@pytest.mark.parametrize(
    "encoding, data",
    [
        ("gzip", gzip.compress(b"x" * 100000)),
        ("deflate", zlib.compress(b"x" * 100000)),
        ("deflate", zlib.compress(b"x" * 100000)[2:-4]),  # raw deflate, as some servers send
    ],
)
async def test_compressed_answers_come_out_whole(client, encoding, data):
    async with Raw(fixed(ok(data, f"Content-Encoding: {encoding}\r\n"))) as server:
        assert (await get(client, server.url))[2] == b"x" * 100000
        assert "accept-encoding: gzip, deflate" in server.heads[0].decode()


async def test_a_bomb_inflates_no_further_than_the_reader_reads(client):
    data = gzip.compress(b"\0" * (64 << 20))  # 64 MB in about 64 KB
    async with Raw(fixed(ok(data, "Content-Encoding: gzip\r\n"))) as server:
        resp = await client.request("POST", server.url, headers={}, body=b"")
        first = await resp.content.readany()
        assert len(first) <= HIGH + (256 << 10)
        total = len(first)
        async for chunk in resp.content:
            assert len(chunk) <= HIGH + (256 << 10)
            total += len(chunk)
        assert total == 64 << 20
        resp.release()


@pytest.mark.parametrize(
    "answer, words",
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not HTTP"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not HTTP"),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "malformed header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx", "encoding"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"y" * 70000, "64 KB"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n", "before answering"),
    ],
)
async def test_what_is_not_an_answer_fails_the_connection(client, answer, words):
    async with Raw(fixed(answer, close=True)) as server:
        with pytest.raises(ConnectionFailed, match=words):
            await get(client, server.url)
        assert client.in_use == 0


@pytest.mark.parametrize(
    "answer, words",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "mid-answer"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "longer than"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 5000, "4 KB"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnope!", "inflate"),
    ],
)
async def test_a_body_that_breaks_fails_its_read(client, answer, words):
    async with Raw(fixed(answer, close=True)) as server:
        resp = await client.request("POST", server.url, headers={}, body=b"")
        with pytest.raises(ConnectionFailed, match=words):
            await read_all(resp)
        resp.close()


async def test_bytes_after_the_answer_end_the_connection(client):
    async with Raw(fixed(ok(b"one") + b"HTTP/1.1 200 OK\r\n")) as server:
        assert (await get(client, server.url))[2] == b"one"
        assert (await get(client, server.url))[2] == b"one"
        assert server.connections == 2


async def test_an_informational_answer_is_skipped(client):
    async with Raw(fixed(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"done"))) as server:
        assert (await get(client, server.url))[:1] == (200,)


async def test_a_silent_upstream_times_out(client):
    async def stall(head, body, writer):
        if body != b"say nothing":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await asyncio.sleep(5)

    async with Raw(stall) as server:
        resp = await client.request(
            "POST", server.url, headers={}, body=b"", timeout=Timeout(read=0.2)
        )
        assert await resp.content.readany() == b"abc"
        with pytest.raises(TimeoutError):
            await resp.content.readany()
        resp.close()
        with pytest.raises(TimeoutError):  # the whole exchange's limit, head included
            await client.request(
                "POST", server.url, headers={}, body=b"say nothing", timeout=Timeout(0.2)
            )


async def test_a_refused_connection_cannot_connect(client):
    server = await asyncio.start_server(lambda r, w: None, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(CannotConnect, match=f"{HOST}:{port}"):
        await get(client, f"http://{HOST}:{port}")


async def test_an_idle_connection_the_upstream_closed_is_not_reused(client):
    async with Raw(fixed(ok(b"x"), close=True)) as server:  # closes after each answer,
        for _ in range(3):  # saying nothing of it
            assert (await get(client, server.url))[2] == b"x"
            await asyncio.sleep(0.05)
        assert server.connections == 3


async def test_an_early_answer_stops_the_upload(client):
    async def refuse(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\n\r\nbig")  # kept open
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.close()

    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"z" * 65536
            await asyncio.sleep(0.001)

    server = await asyncio.start_server(refuse, HOST, 0)
    url = f"http://{HOST}:{server.sockets[0].getsockname()[1]}/upload"
    headers = {"content-length": str(1000 * 65536)}
    resp = await client.request("POST", url, headers=headers, body=chunks())
    assert (resp.status, await read_all(resp)) == (413, b"big")
    assert sent < 1000
    resp.release()
    assert client.in_use == 0 and not any(client._idle.values())  # half a body: never reused
    server.close()


async def test_headers_with_line_breaks_are_refused_and_odd_bytes_go_through(client):
    async with Raw(fixed(ok(b"x"))) as server:
        with pytest.raises(ValueError, match="line break"):
            await client.request("POST", server.url, headers={"x": "a\r\nevil: 1"}, body=b"")
        resp = await client.request("POST", server.url, headers={"x": "\udc80ok"}, body=b"")
        resp.release()
        assert b"x: \x80ok\r\n" in server.heads[-1]


async def test_a_plain_request_through_a_proxy_names_the_whole_url(client):
    async with Raw(fixed(ok(b"via proxy"))) as proxy:
        proxy_url = proxy.url.replace("http://", "http://us%40er:p%3Aw@")
        status, _, body = await get(client, "http://upstream.test:8000", proxy=proxy_url)
        assert body == b"via proxy"
        head = proxy.heads[0].decode()
        assert head.startswith("POST http://upstream.test:8000/v1/x HTTP/1.1\r\n")
        token = base64.b64encode(b"us@er:p:w").decode()
        assert f"proxy-authorization: Basic {token}\r\n" in head


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    where = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-subj", "/CN=upstream.test", "-addext", "subjectAltName=DNS:upstream.test"]
        + ["-keyout", str(where / "key.pem"), "-out", str(where / "cert.pem")],
        check=True,
        capture_output=True,
    )
    return where / "cert.pem", where / "key.pem"


async def test_https_through_a_proxy_tunnel(certificate):
    cert, key = certificate
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(cert, key)
    origin = await asyncio.start_server(
        lambda r, w: Raw(fixed(ok(b"secret answer")))._handle(r, w), HOST, 0, ssl=serving
    )
    origin_port = origin.sockets[0].getsockname()[1]
    asked = []

    async def tunnel(reader, writer):
        ask = await reader.readuntil(b"\r\n\r\n")
        asked.append(ask.decode())
        up_reader, up_writer = await asyncio.open_connection(HOST, origin_port)
        writer.write(b"HTTP/1.0 200 Connection established\r\n\r\n")

        async def pipe(src, dst):
            while data := await src.read(65536):
                dst.write(data)
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    proxy = await asyncio.start_server(tunnel, HOST, 0)
    proxy_url = f"http://u:p@{HOST}:{proxy.sockets[0].getsockname()[1]}"
    trusting = ssl.create_default_context(cafile=str(cert))
    client = Client(tls=trusting)
    try:
        for _ in range(2):
            status, _, body = await get(client, "https://upstream.test", proxy=proxy_url)
            assert (status, body) == (200, b"secret answer")
        assert len(asked) == 1  # the tunnel is pooled like any connection
        assert asked[0].startswith("CONNECT upstream.test:443 HTTP/1.1\r\n")
        assert "Proxy-Authorization: Basic dTpw\r\n" in asked[0]
        with pytest.raises(CannotConnect, match="certificate"):  # not trusted by default
            await get(Client(), "https://upstream.test", proxy=proxy_url)
    finally:
        await client.close()
        proxy.close()
        origin.close()


async def test_a_proxy_that_refuses_the_tunnel(client):
    async with Raw(fixed(b"HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n")) as proxy:
        with pytest.raises(CannotConnect, match="407"):
            await get(client, "https://upstream.test", proxy=proxy.url)
