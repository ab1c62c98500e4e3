"""The Realtime WebSocket: one attempt of the gateway's loop, then a relay both ways.

The attempt connects upstream first, with the account's key in the header;
the client's own key (a header, or the `openai-insecure-api-key.` subprotocol
browsers use) never leaves. A refused or failed connect is a Failure like any
other, so the loop fails over before the client's socket is accepted. Once
both sockets are open, messages go each way as they come, never buffered or
decoded — except that server `response.done` events are read for usage — and
whichever side closes, the other is closed with the same code.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from aiohttp import web

from localgate.dialects.openai import read_usage
from localgate.errors import LoginExpired, RelayedError, TokenRefreshFailed
from localgate.operations import REALTIME
from localgate.pool.failures import Failure, FailureKind
from localgate.proxytoken import KEY_PROTOCOL

# Subprotocols that carry the client's credentials: never sent upstream.
PRIVATE_PROTOCOLS = (KEY_PROTOCOL, "openai-organization.", "openai-project.")
CLOSE_TIMEOUT = 5.0
MB = 1 << 20


def upstream_protocols(header: str) -> tuple[str, ...]:
    """The client's subprotocols that may go upstream (`realtime`, `openai-beta.…`)."""
    named = (p.strip() for p in header.split(","))
    return tuple(p for p in named if p and not p.startswith(PRIVATE_PROTOCOLS))


async def attempt_socket(gateway, req, target, account, record, http_request):
    """Connect `account` for `req`; the accepted client socket, or a Failure to move on
    (the gateway records it and cools the account down)."""
    provider = account.provider
    try:
        call = await provider.call(
            REALTIME, target.model, b"", stream=True, client_headers=req.headers
        )
    except LoginExpired as exc:  # an OAuth login was refused: the account is invalid
        return Failure(FailureKind.AUTH, str(exc), model_scoped=False)
    except TokenRefreshFailed as exc:  # the token endpoint is away: try another account
        return Failure(FailureKind.CONNECTION, str(exc), model_scoped=False)
    protocols = upstream_protocols(req.headers.get("Sec-WebSocket-Protocol", ""))
    # One message is held whole, so each is capped like a request body (what a client
    # sends) and a stream event (what the upstream sends): past it, the socket closes 1009.
    server = gateway.config.server
    client_cap, upstream_cap = int(server.max_body_mb * MB), int(server.max_event_mb * MB)
    gateway.pool.observe(account.name, target.model)
    try:
        async with asyncio.timeout(gateway.config.timeouts.first_byte):
            upstream = await gateway.sockets.ws_connect(
                call.url,
                headers=call.headers,
                protocols=protocols,
                max_msg_size=upstream_cap,
                proxy=provider.proxy,  # the account's, or the environment's
            )
    except aiohttp.WSServerHandshakeError as exc:
        # aiohttp keeps the status and headers of a refused upgrade, not its body.
        reason = f"the upstream refused the socket with {exc.status}"
        failure = provider.classify(exc.status, exc.headers or {}, reason.encode())
        if failure is None:  # the request itself was refused (a bad model…): the client hears it
            record.account, record.provider = account.name, provider.name
            raise RelayedError(exc.status, f"{account.name}: {reason}") from None
        return failure
    except TimeoutError:
        return Failure(FailureKind.TIMEOUT, "no answer in time")
    except aiohttp.ClientError as exc:
        reason = f"cannot connect: {type(exc).__name__}"
        return Failure(FailureKind.CONNECTION, reason, model_scoped=False)
    record.account, record.provider = account.name, provider.name
    record.model_used, record.fallback_depth = target.model, target.depth
    try:
        client = web.WebSocketResponse(
            protocols=("realtime",) if "realtime" in protocols else (), max_msg_size=client_cap
        )
        client.headers.update({"x-localgate-account": account.name, "x-model-used": target.model})
        await client.prepare(http_request)
        record.ttfb = time.monotonic() - req.received
        await relay_sockets(client, upstream, record)
    finally:
        await upstream.close()
    gateway.pool.record_success(account.name, target.model, tokens=record.usage.total)
    return client


async def relay_sockets(client: web.WebSocketResponse, upstream, record) -> None:
    """Relay both ways until one side closes, then close the other with its code."""
    ups = asyncio.create_task(_pipe(client, upstream, None))
    downs = asyncio.create_task(_pipe(upstream, client, record))
    try:
        done, _ = await asyncio.wait((ups, downs), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (ups, downs):
            task.cancel()
        await asyncio.gather(ups, downs, return_exceptions=True)
    closed_by_client = ups in done
    source, sink = (client, upstream) if closed_by_client else (upstream, client)
    record.client_gone = closed_by_client
    code = source.close_code or aiohttp.WSCloseCode.OK
    async with asyncio.timeout(CLOSE_TIMEOUT):
        await sink.close(code=code if code < 5000 else aiohttp.WSCloseCode.OK)


async def _pipe(source, sink, record) -> None:
    """Messages from `source` to `sink` as they come; usage read when `record` is given."""
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            if record is not None and '"response.done"' in message.data:
                _add_usage(record, message.data)
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:  # CLOSE, CLOSING, ERROR: the iteration ends on these
            break


def _add_usage(record, data: str) -> None:
    try:
        event = json.loads(data)
        usage = read_usage(event["response"]["usage"])
    except (ValueError, KeyError, TypeError):
        return
    total = record.usage
    total.input_tokens += usage.input_tokens
    total.output_tokens += usage.output_tokens
    total.cache_read_tokens += usage.cache_read_tokens
