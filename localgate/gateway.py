"""The attempt loop: route a request to accounts, fail over before the first byte.

One request travels: plan (model → targets → candidate accounts) → the pool
orders the ready ones → `_attempt` on each until one answers → `commit` (the
answer relayed or checked and sent). When none can, `verdicts` says why. Until a
byte has reached the client every failure (429, 5xx, timeout, refused
connection, garbage) moves the request on and cools the account down; after
that, the relay ends the stream with an error event and never retries.

A stream's head (message_start, the role chunk…) is held until its first
content (`relay.StreamHead`), so an error event inside a 200 stream before any
content is such a failure too, and an empty answer gets one more try.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

import aiohttp
from aiohttp import web

from localgate import commit, dialects, door, jsonwire, operations, routing, verdicts
from localgate.accounts import Account, build_accounts
from localgate.bounded import read_bounded
from localgate.codex_limits import CodexLimits
from localgate.config import Config
from localgate.dialects import media
from localgate.dialects.common import check_model, error_message, redact
from localgate.drain import Drain
from localgate.errors import (
    CannotConnect,
    ConnectionFailed,
    EventTooLarge,
    GatewayError,
    LoginExpired,
    NoAccounts,
    RelayedError,
    ResponseTooLarge,
    TokenRefreshFailed,
)
from localgate.events import AttemptFailed, Events, LimitsObserved, RequestDone
from localgate.httpclient import Client, Timeout
from localgate.keyreader import Keys
from localgate.pool import Pool, QuotaLimits
from localgate.pool.failures import Failure, FailureKind
from localgate.pool.signals import read_limits
from localgate.relay import (
    StreamHead,
    is_event_stream,
)
from localgate.spool import Spool, Upload

# Upstream operations whose answer is a model's turn in the upstream's own dialect:
# their streams have a head to hold, and an empty answer gets another try.
ANSWER_OPS = frozenset(operations.GENERATION_OP.values())


@dataclass(slots=True)
class ClientRequest:
    """A client's request as the handlers hand it over: parsed, checked, dialect known."""

    id: str
    dialect: str  # "anthropic" | "openai" | "gemini" | "responses"
    op: str  # an operation of localgate.operations
    model: str
    stream: bool
    session: str | None
    # The JSON object (door.Members: read as asked, door.whole when walked), or a
    # multipart form's text fields (spool.Form).
    body: Mapping
    raw: bytes | Spool  # as received, forwarded untouched when nothing needs changing
    headers: Mapping[str, str]
    received: float  # time.monotonic() when the request arrived
    # Only accounts speaking the client's own dialect may serve it (a Responses
    # previous_response_id localgate does not know: only OpenAI can expand it);
    # this is the error when none of them serves the model.
    native_only: GatewayError | None = None
    answer: dict | None = None  # the whole answer, once relayed (the response store keeps it)


class Candidates(NamedTuple):
    """A target of a request's plan and the accounts of it that can serve the request."""

    target: routing.Target
    names: list[str]
    upstreams: dict[str, str]  # the dialect each usable account is reached in

    @property
    def model(self) -> str:  # what PlanCache weighs
        return self.target.model


class Gateway:
    """Owns the accounts, the pool and the upstream session; serves ClientRequests."""

    def __init__(
        self, config: Config, http: Client, events: Events, sockets: aiohttp.ClientSession
    ):
        self.config = config
        self.http = http  # every upstream request…
        self.sockets = sockets  # …but WebSockets (sockets.py), which aiohttp's client opens
        self.events = events
        self.pool = Pool(strategy=config.server.strategy)
        self.codex_limits = CodexLimits(self.pool)
        self.accounts: dict[str, Account] = {}
        self._plans = routing.PlanCache()
        self._routes = routing.PlanCache()  # candidate accounts per request kind and model
        self.drain = Drain()  # what a shutdown waits for, and the streams it may end
        self.seal_key = b""  # signs what localgate hands clients to replay (compactions)
        self._timeouts = _client_timeouts(config)

    async def apply(self, config: Config, keys: Keys | None = None) -> None:
        """Adopt a (re)loaded config: rebuild accounts, keep pool state by name.

        Secrets are read again (or taken from `keys`, read just before); where the
        keyring fails, the ones held are kept (`keyring_failed` then says to call
        this again soon).
        """
        accounts = await build_accounts(config.accounts, self.accounts, keys)
        self.config = config
        self.accounts = accounts
        self._timeouts = _client_timeouts(config)
        self._plans = routing.PlanCache()
        self._routes = routing.PlanCache()
        self.pool.set_strategy(config.server.strategy)
        self.pool.sync([account.entry() for account in accounts.values()])
        self.pool.configure_limits({a.name: QuotaLimits.of(a) for a in config.accounts})
        for account in accounts.values():
            self._mark_problem(account)

    @property
    def keyring_failed(self) -> bool:
        """True when the keyring failed for some account at the last `apply`."""
        return any(account.keyring_failed for account in self.accounts.values())

    def reset(self, name: str) -> None:
        """Forget `name`'s invalid mark and cooldowns (a missing key stays reported);
        an OAuth login that was refused is asked again on the next request."""
        self.pool.reset(name)
        account = self.accounts[name]
        if account.provider is not None:
            account.provider.credential.forget_refusal()
        self._mark_problem(account)

    def _mark_problem(self, account: Account) -> None:
        if account.problem:
            self.pool.record_failure(
                account.name, "*", Failure(FailureKind.AUTH, account.problem, model_scoped=False)
            )

    def plan(self, model: str) -> list[routing.Target]:
        config = self.config
        return self._plans.get(model, lambda: routing.plan(model, config.aliases, config.accounts))

    async def serve(self, req: ClientRequest, http_request: web.Request) -> web.StreamResponse:
        """Serve one request; raises GatewayError for the middleware to render.

        A whole answer is written to the client here, before this request's event
        (its log line, ledger row, live feed) and before the caller's own
        bookkeeping (keeping a Responses answer): the client waits for none of it.
        Left to aiohttp, the answer went out after them: at concurrency 1 the
        bookkeeping then sat between the upstream's answer and the client's, instead
        of in the time the loop waits for the client's next request (round seventeen).
        """
        check_model(req.model)  # before it reaches a log line, a header or an upstream
        record = RequestDone(
            req.id, req.dialect, req.op, req.model, req.stream, 0, time.time(), 0.0
        )
        try:
            with self.drain.request():
                response = await self._serve(req, http_request, record)
                record.status = response.status
                if not response.prepared:  # streams and sockets were written as they came
                    await _deliver(response, http_request, record)
            return response
        except GatewayError as err:
            record.status, record.error = err.status, err.message
            raise
        except asyncio.CancelledError:
            record.client_gone = True
            raise
        finally:
            record.latency = time.monotonic() - req.received
            self.events.emit(record)

    async def _serve(self, req, http_request, record) -> web.StreamResponse:
        if not self.accounts:
            raise NoAccounts(f"no accounts are configured: {verdicts.FIX_NO_ACCOUNTS}")
        # Which accounts can serve this model, dialect and operation only changes with
        # the config: worked out once per combination, not on every request.
        key = f"{req.dialect} {req.op} {req.native_only is None} {req.model}"
        candidates = self._routes.get(
            key, lambda: [self._candidates(req, t) for t in self.plan(req.model)]
        )
        if not any(c.names for c in candidates):
            patterns = sorted({p for a in self.config.accounts for p in a.model_patterns})
            raise verdicts.no_candidates(req, self.plan(req.model), patterns)
        deadline = time.monotonic() + self.config.server.max_wait
        budget = max(3, 2 * sum(len(c.names) for c in candidates))
        last: tuple[str, Failure] | None = None
        empties = 0  # empty answers so far: the first gets another try, later ones stand
        while True:
            wait = None
            for target, names, upstreams in candidates:
                if not names:
                    continue
                selection = self.pool.select(target.model, names, session=req.session)
                for name in selection.ready:
                    if self.accounts[name].provider is None:
                        continue  # its key is missing; the pool already reports why
                    outcome = await self._try(
                        req,
                        target,
                        self.accounts[name],
                        upstreams[name],
                        record,
                        http_request,
                        candidates[0][0],
                        accept_empty=empties > 0,
                    )
                    if not isinstance(outcome, Failure):
                        return outcome
                    last = (name, outcome)
                    empties += outcome.kind is FailureKind.EMPTY
                    if record.attempts >= budget:
                        raise verdicts.give_up(req, self.plan(req.model), self.pool, last, None)
                if selection.ready:  # some just failed: ask again when they are back
                    selection = self.pool.select(target.model, names, session=req.session)
                wait = _earliest(wait, selection.wait)
            if wait is None or wait > deadline - time.monotonic():
                raise verdicts.give_up(req, self.plan(req.model), self.pool, last, wait)
            await asyncio.sleep(wait + 0.01)

    async def _try(
        self, req, target, account, upstream, record, http_request, primary, *, accept_empty
    ):
        """`_attempt`, and once more at once when the account asks for a resend."""
        for _ in range(2):
            record.attempts += 1
            outcome = await self._attempt(
                req, target, account, upstream, record, http_request, primary, accept_empty
            )
            if not (isinstance(outcome, Failure) and outcome.kind is FailureKind.RESEND):
                break
        return outcome

    def _candidates(self, req: ClientRequest, target: routing.Target) -> Candidates:
        """Accounts of the target that can serve this operation (natively or translated)."""
        names, upstreams = [], {}
        for name in target.accounts:
            account = self.accounts.get(name)
            if account is None:
                continue
            if account.provider is None:
                names.append(name)  # listed so the pool reports why it is unusable
                continue
            upstream = operations.upstream_dialect(account.provider, target.model, req)
            if req.native_only is not None and upstream != req.dialect:
                continue
            op = operations.upstream_op(req.op, req.dialect, upstream)
            if op in account.provider.operations(target.model):
                names.append(name)
                upstreams[name] = upstream
        return Candidates(target, names, upstreams)

    async def _attempt(
        self, req, target, account, upstream, record, http_request, primary, accept_empty
    ):
        """Try one account, reached in dialect `upstream`. Returns the committed
        response, or a Failure to move on.

        An empty streamed answer is a Failure unless `accept_empty` (it had its retry).
        """
        provider = account.provider
        operation = operations.get(req.op)
        if operation.socket:  # a WebSocket: connected here, relayed both ways
            from localgate.sockets import attempt_socket

            outcome = await attempt_socket(self, req, target, account, record, http_request)
            if isinstance(outcome, Failure):
                self._failed(req, account, target.model, outcome)
            return outcome
        translator = None
        if upstream != req.dialect:
            translator = operations.translator(req.op, req.dialect, upstream)
        echoed = _echoed_model(req, target, provider)
        sent = await self._send(req, target, provider, upstream, translator, echoed, accept_empty)
        if isinstance(sent, Failure):
            self._failed(req, account, target.model, sent)
            return sent
        resp, payload = sent
        # This account answers the client, with a refusal (400, 404…) or the answer.
        record.account, record.provider = account.name, provider.name
        record.model_used, record.fallback_depth = target.model, target.depth
        if not 200 <= resp.status < 300:
            resp.release()
            return self._client_error(req, translator, resp, payload, account, target)
        headers = self._proxy_headers(req, account, target, primary)
        if translator is not None and translator.dropped:
            record.dropped = translator.dropped
            headers["x-localgate-dropped"] = ",".join(record.dropped)
        max_event = int(self.config.server.max_event_mb * 1048576)
        if operation.media and not commit.is_json(resp):
            response = await commit.commit_media(
                req, resp, payload, headers, record, http_request, max_event=max_event
            )
        elif req.stream and not operation.media:
            response = await commit.commit_stream(
                req, resp, payload, translator, upstream, headers, record, http_request, echoed,
                provider.credential.masked(), max_event=max_event, drain=self.drain,
            )  # fmt: skip
        else:
            if operation.media:  # a JSON answer after its first bytes: the rest, capped
                limit = int(self.config.server.max_response_mb * 1048576)
                try:
                    payload = await read_bounded(resp, limit, payload)
                except ResponseTooLarge as exc:  # garbage: another account may answer
                    resp.close()
                    failure = Failure(FailureKind.SERVER_ERROR, exc.message)
                    self._failed(req, account, target.model, failure)
                    return failure
                except BaseException:  # the client left meanwhile: never left busy
                    resp.close()
                    raise
            up_op = operations.upstream_op(req.op, req.dialect, upstream)
            reshape = functools.partial(provider.answer, up_op, target.model)
            response = commit.commit_body(
                req, resp, payload, translator, upstream, headers, record, echoed, reshape,
                accept_empty=accept_empty or up_op not in ANSWER_OPS,
            )  # fmt: skip
            if isinstance(response, Failure):
                self._failed(req, account, target.model, response)
                return response
        if operation.meter:  # images made, audio heard, characters spoken: media only
            media.measure(operation.meter, record.usage, req.body, req.answer)
        if record.error is None:
            self.pool.record_success(
                account.name, target.model, tokens=record.usage.total, session=req.session
            )
        else:
            self.pool.record_failure(
                account.name, target.model, Failure(FailureKind.SERVER_ERROR, record.error)
            )
        return response

    async def _send(self, req, target, provider, upstream, translator, echoed, accept_empty):
        """Send upstream and read up to the first content: (response, bytes read) or a Failure.

        A 2xx stream yields its head and first content event (so a silent upstream,
        an error event before any content or an empty answer can still be left for
        another account); anything else is read whole.
        """
        operation = operations.get(req.op)
        if translator is not None:
            op = operations.upstream_op(req.op, req.dialect, upstream)
            wire = translator.request(
                door.whole(req.body),
                model=target.model,
                stream=req.stream,
                client_model=req.model,  # answers name what the client asked for
                account=provider.account.name,
                seal_key=self.seal_key,
            )
            body = jsonwire.dumps(wire)
        elif operation.multipart:  # streamed from the spool, the model field renamed if aliased
            op, model_field = req.op, req.body.fields.get("model")
            renamed = model_field and target.model != req.model
            body = Upload(req.raw, (model_field, target.model) if renamed else None)
        else:
            op, dialect = req.op, dialects.get(upstream)
            changes = dialect.outbound(req.body, req.raw, account=provider.account.name)
            if target.model != req.model and dialect.MODEL_IN_BODY:
                changes = {**changes, "model": target.model}
            # Forwarded as received unless something had to change.
            body = door.with_members(req.body, changes) if changes else req.raw
        try:
            call = await provider.call(
                op, target.model, body, stream=req.stream, client_headers=req.headers
            )
        except LoginExpired as exc:  # an OAuth login was refused: the account is invalid
            return Failure(FailureKind.AUTH, str(exc), model_scoped=False)
        except TokenRefreshFailed as exc:  # the token endpoint is away: try another account
            return Failure(FailureKind.CONNECTION, str(exc), model_scoped=False)
        # Counted as it leaves, so requests still in flight hold their place under
        # the account's configured rpm/rpd (a burst would all land on one account).
        self.pool.observe(provider.account.name, target.model)
        streamed = req.stream or operation.media  # read to the first byte, then relayed
        client_timeout = self._timeouts[streamed]
        resp, kept = None, False
        try:
            try:
                limit = int(self.config.server.max_response_mb * 1048576)
                if streamed:  # the whole answer has `response`; a stream's first byte, this
                    async with asyncio.timeout(self.config.timeouts.first_byte):
                        resp = await self._request(call, client_timeout, provider.proxy)
                        if 200 <= resp.status < 300:
                            payload = await resp.content.readany()
                        else:
                            payload = await read_bounded(resp, limit)
                else:
                    resp = await self._request(call, client_timeout, provider.proxy)
                    payload = await read_bounded(resp, limit)
            except ResponseTooLarge as exc:  # garbage: another account may answer properly
                failure = Failure(FailureKind.SERVER_ERROR, exc.message)
            except TimeoutError:
                failure = Failure(FailureKind.TIMEOUT, "no answer in time")
            except CannotConnect as exc:
                failure = Failure(
                    FailureKind.CONNECTION, f"cannot connect: {exc}", model_scoped=False
                )
            except ConnectionFailed as exc:
                failure = Failure(
                    FailureKind.CONNECTION, f"connection failed: {exc}", model_scoped=False
                )
            else:
                if not 200 <= resp.status < 300:  # error text travels on: never a secret in it
                    payload = redact(payload, provider.credential.masked())
                # Media answers are what the upstream makes them (whisper-1 answers a
                # stream request with JSON): only generation streams must be events.
                events = req.stream and not operation.media
                failure = self._read_status(provider, resp, payload, streamed, events)
                self._observe(provider, target.model, resp, payload, failure)
                if failure is None and events and op in ANSWER_OPS:
                    payload, failure = await self._read_head(provider, resp, payload, upstream)
                    if failure is not None and failure.kind is FailureKind.EMPTY and accept_empty:
                        failure = None  # it had its retry: an empty answer it is
                if failure is None:
                    kept = True
                    return resp, payload
        finally:  # a failure's answer, or a wait the client cancelled: dropped, never left busy
            if resp is not None and not kept:
                resp.close()
        return failure

    async def _read_head(self, provider, resp, first: bytes, upstream: str):
        """Read a 2xx stream up to its first content: (bytes read, None) or (_, Failure).

        Waits no longer than the stream's idle timeout between chunks, as the relay
        would; content is never held back, only what comes before it.
        """
        head = StreamHead(upstream, int(self.config.server.max_event_mb * 1048576))
        try:
            head.feed(first)
            while not head.decided:
                head.feed(await resp.content.readany())
        except EventTooLarge as exc:  # garbage before any content: another account may do
            return head.held, Failure(FailureKind.SERVER_ERROR, exc.message)
        except TimeoutError:
            return head.held, Failure(FailureKind.TIMEOUT, "the stream stalled before any content")
        except ConnectionFailed as exc:
            reason = f"the stream broke before any content: {exc}"
            return head.held, Failure(FailureKind.CONNECTION, reason)
        if head.failure is not None:
            body = redact(head.failure_body, provider.credential.masked())
            failure = provider.classify(head.failure, {}, body)
            if failure is not None:
                reason = f"error event in its 200 stream: {failure.reason}"
                return head.held, replace(failure, reason=reason)
        elif head.cut:
            return head.held, Failure(
                FailureKind.SERVER_ERROR, "the stream ended before any content"
            )
        elif not head.content:
            reason = "answered with an empty stream (no content, no tool call, no refusal)"
            return head.held, Failure(FailureKind.EMPTY, reason)
        return head.held, None

    def _request(self, call, timeout: Timeout, proxy: str | None):
        body, headers = call.body, call.headers
        if isinstance(body, Upload):  # streamed from its spool, its length said up front
            body, headers = body.chunks(), {**headers, "content-length": str(body.size)}
        return self.http.request(
            call.method, call.url, headers=headers, body=body, timeout=timeout, proxy=proxy
        )

    def _read_status(
        self, provider, resp, payload: bytes, streamed: bool, events: bool
    ) -> Failure | None:
        """A Failure for answers another account might do better; None otherwise.

        `streamed`: only the first bytes were read (they must exist); `events`: the
        answer must be the dialect's event stream.
        """
        status = resp.status
        if 200 <= status < 300:
            if streamed and not payload:
                return Failure(FailureKind.SERVER_ERROR, "the answer ended before its first byte")
            if events and not is_event_stream(resp.headers.get("content-type", ""), payload):
                kind = resp.headers.get("content-type") or "no content type"
                return Failure(FailureKind.SERVER_ERROR, f"answered a stream request with {kind}")
            return None
        if 300 <= status < 400:
            return Failure(
                FailureKind.SERVER_ERROR,
                f"{status} redirect to {resp.headers.get('location', '?')} "
                "(is the account's base_url right?)",
            )
        return provider.classify(status, resp.headers, payload)

    def _client_error(self, req, translator, resp, payload, account, target):
        """The request itself was refused (400, 404, 413…): the client hears it as is
        when it is the upstream's own JSON error in the client's dialect; else (a
        translated request, an HTML page or plain text from a proxy or a server
        without the route) as the upstream's message in the client's error shape."""
        if translator is None and _is_json_object(payload):
            return web.Response(
                body=payload,
                status=resp.status,
                headers=self._proxy_headers(req, account, target, None),
                content_type=resp.content_type or "application/json",
            )
        raise RelayedError(resp.status, f"{account.name}: {error_message(payload)}")

    def _observe(self, provider, model: str, resp, payload: bytes, failure) -> None:
        """Keep the provider's limit figures from its answer (never failing the request)."""
        try:
            body = payload if failure is not None else b""
            snapshots = read_limits(provider.name, resp.headers, body, failure, time.time())
            self.pool.observe(provider.account.name, model, snapshots, count=False)
        except Exception:  # a figure we cannot read must not cost the user the answer
            logging.getLogger("localgate").exception("could not read %s's limits", provider.name)
            return
        if snapshots:
            self.events.emit(LimitsObserved(provider.account.name, model, snapshots))

    def _failed(self, req: ClientRequest, account: Account, model: str, failure: Failure):
        cooldown = self.pool.record_failure(account.name, model, failure)
        self.events.emit(
            AttemptFailed(req.id, account.name, model, failure.kind.value, failure.reason, cooldown)
        )

    def _proxy_headers(self, req, account, target, primary) -> dict[str, str]:
        headers = {"x-localgate-account": account.name, "x-model-used": target.model}
        if target.depth and primary is not None:
            headers["x-fallback-from"] = primary.model
            headers["x-fallback-depth"] = str(target.depth)
        if req.dialect == "responses":  # Codex shows the serving account's limits from these
            headers.update(self.codex_limits.headers(account.name, target.model))
        return headers


def _is_json_object(payload: bytes) -> bool:
    try:
        return isinstance(jsonwire.loads(payload), dict)
    except ValueError:  # UnicodeDecodeError included
        return False


def _client_timeouts(config: Config) -> tuple[Timeout, Timeout]:
    """The upstream session's timeouts for a whole answer and for a relayed one
    (indexed by "streamed"): made once per config, not on every request."""
    timeouts = config.timeouts
    whole = Timeout(total=timeouts.response, connect=timeouts.connect)
    relayed = Timeout(connect=timeouts.connect, read=timeouts.idle)
    return whole, relayed


def _echoed_model(req: ClientRequest, target: routing.Target, provider) -> str | None:
    """The client's model name, when the answer would name another.

    Another name comes from an alias, or from an upstream with its own ids (Vertex
    answers `claude-sonnet-4-5@20250929`). Answers name what the client asked for on
    every path (Claude Code drops the thinking of an answer naming another model);
    `x-model-used` still says what served.
    """
    if target.model != req.model or provider.renames_models:
        return req.model
    return None


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


async def _deliver(response: web.Response, http_request: web.Request, record) -> None:
    """Write a whole answer now; a client gone meanwhile is recorded as gone, not
    raised (aiohttp, finishing the response after the handler, meets it again and
    closes the connection, as it does for an answer it writes itself)."""
    try:
        await response.prepare(http_request)
        await response.write_eof()
    except ConnectionError:
        record.client_gone = True
