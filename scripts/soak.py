"""Soak: minutes of mixed traffic with upstream faults against a real `localgate serve`.

    nice python scripts/soak.py --minutes 10 [--workers 24] [--json soak.json]

Not run in CI. Everything listens on 127.0.0.1: fake upstreams (tests.fakes)
in this process, and a `localgate serve` subprocess with temp XDG dirs, a
plaintext file keyring and six accounts of three providers, so requests both
fail over and get translated. Workers send Anthropic, OpenAI and Gemini
requests, streaming and not, each with a unique nonce and a fault the upstream
applies to the request's first attempt only (429, 500, cuts, slow first byte,
stalls, garbage, an endless event or a huge answer, a key echoed in an error);
some clients hang up early, and some send hostile input (CR/LF or huge model
names, NaN, duplicate keys, deep nesting, UTF-16, wrong types) that must be
refused with a 400 in dialect and never reach an upstream. The fakes echo the nonce, so every
answer is checked: whole and exactly the expected text, or a well-formed
dialect error the fault explains — never lost, never duplicated. The daemon's
RSS and open fds are sampled throughout. Exit 1 on any lost, wrong,
duplicated or unexpected answer, an answer carrying a key, on memory or fd
growth beyond noise, or on a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DIRECTIVE = re.compile(rb"nonce=([0-9a-f]{16}) fault=([a-z0-9]+) words=(\d+) chunks=(\d+)")
TIMEOUTS = {"connect": 2.0, "first_byte": 1.5, "idle": 1.5, "response": 4.0}
CLIENT_TIMEOUT = 30.0  # a request without an answer by then is lost
SAMPLE_EVERY = 5.0
# fault -> (weight, error statuses it may explain besides 429, may end a stream in an error)
FAULTS = {
    "none": (70, set(), False),
    "r429": (4, set(), False),
    "e500": (4, {502}, False),
    "garbage": (3, {502}, False),  # an HTML page with status 200
    "bad502": (3, {502}, False),  # an HTML page with status 502
    "reset": (3, {502}, False),  # connection dropped before a usable answer
    "slow": (3, {504}, False),  # first byte after timeouts.first_byte
    "sluggish": (3, set(), False),  # first byte late, within the timeouts
    "cut": (3, {502}, True),  # connection dropped mid-answer
    "sterr": (2, {502}, True),  # the upstream's own in-stream error event
    "stall": (2, {504}, True),  # silence mid-stream longer than timeouts.idle
    # Hostile upstreams: past [server] max_event_mb / max_response_mb, or echoing the key.
    "flood": (2, {502}, True),  # one endless stream event, or a huge whole answer
    "keyecho": (2, {400}, True),  # a 400 (whole) or an in-stream error quoting the key
}
# Hostile clients: each request is refused at the door (400 in its dialect), and
# its nonce must never reach an upstream. The weight is out of the faults' 100.
HOSTILE_INPUTS = {
    "badmodel": 1,  # CR/LF in the model name (response splitting, forged log lines)
    "longmodel": 1,  # a model name far past 256 characters
    "nan": 1,  # NaN, which Python's json reads and no API takes
    "dupkey": 1,  # a key twice in one object
    "deep": 1,  # nesting 300 levels deep
    "utf16": 1,  # a UTF-16 body
    "badtype": 1,  # a field of the wrong type in a translated request
}
CAPS_MB = 1  # the soak's max_event_mb and max_response_mb: floods stay cheap
FLOOD_BYTES = 3 * CAPS_MB << 20
ROUTES = [  # (client dialect, model): passthrough, translated and alias fallback
    (dialect, model)
    for dialect in ("anthropic", "openai", "gemini", "responses")
    for model in ("claude-sonnet-4-5", "gpt-4o", "gemini-2.5-flash", "soak-any")
]
FAILURES = ("lost", "wrong", "duplicated", "unexpected", "leaked")


def expected_text(nonce: str, words: int) -> str:
    """The answer a fake gives for a nonce: distinct words, so a repeat shows."""
    return nonce + " " + " ".join(f"w{i}" for i in range(words))


# -- upstream side ---------------------------------------------------------------


def soak_fakes(board: Counter):
    """Fake upstream classes that apply a request's fault on its first attempt only."""
    from tests.fakes import FAKES, Cut, Delay, Error, Flood, Garbage, Reply

    def behavior(fault: str, reply: Reply, call):
        if fault == "keyecho":  # what some upstreams do with a key they refuse
            echo = Error(400, f"Incorrect API key provided: {sent_key(call.request.headers)}")
            return Cut(after_events=4, reply=reply, error=echo) if call.stream else echo
        return {
            "none": reply,
            "r429": Error(429, "slow down", headers={"retry-after": "1"}),
            "e500": Error(500, "boom", headers={}),
            "garbage": Garbage(200, b"<html><body>captive portal</body></html>"),
            "bad502": Garbage(502, b"<html>502 Bad Gateway</html>"),
            "reset": Cut(after_events=0, reply=reply),
            "slow": Delay(TIMEOUTS["first_byte"] + 0.5, reply),
            "sluggish": Delay(0.4, reply),
            "cut": Cut(after_events=4, reply=reply),
            "sterr": Cut(after_events=4, reply=reply, error=Error(529, "Overloaded")),
            "stall": Reply(reply.text, chunks=reply.chunks, gap=TIMEOUTS["idle"] + 0.5),
            "flood": Flood(FLOOD_BYTES),
        }[fault]

    class Soak:
        async def answer(self, request, call):
            self.requests.clear()  # the soak process must stay flat too
            found = DIRECTIVE.search(call.request.body)
            if found is None:
                return await super().answer(request, call)
            nonce, fault = found[1].decode(), found[2].decode()
            attempt = board[nonce]
            board[nonce] += 1
            text = expected_text(nonce, int(found[3]))
            reply = Reply(text=text, chunks=int(found[4]), gap=0.01)
            return await self.perform(
                request, behavior(fault, reply, call) if not attempt else reply, call
            )

    return {kind: type(f"Soak{cls.__name__}", (Soak, cls), {}) for kind, cls in FAKES.items()}


def sent_key(headers: dict) -> str:
    """The account key a request carried, wherever its provider puts it."""
    bearer = headers.get("authorization", "").removeprefix("Bearer ")
    return headers.get("x-api-key") or headers.get("x-goog-api-key") or bearer


# -- the daemon ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def write_config(path: Path, fakes: dict) -> None:
    import tomli_w

    models = {"anthropic": ["claude-*"], "openai": ["gpt-*"], "gemini": ["gemini-*"]}
    accounts = [
        {"name": name, "provider": fake.kind, "base_url": fake.url, "models": models[fake.kind]}
        for name, fake in fakes.items()
    ]
    config = {
        "server": {
            "strategy": "round-robin",
            "max_wait": 3.0,
            "shutdown_grace": 5.0,
            "max_event_mb": CAPS_MB,
            "max_response_mb": CAPS_MB,
        },
        "timeouts": TIMEOUTS,
        "aliases": {"soak-any": ["claude-sonnet-4-5", "openai:gpt-4o", "gemini:gemini-2.5-flash"]},
        "accounts": accounts,
    }
    path.write_text(tomli_w.dumps(config))


async def start_daemon(config: Path, port: int, log: Path):
    import aiohttp

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localgate", "--config", str(config), "serve", "--port", str(port),
        stdout=log.open("wb"), stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline and proc.returncode is None:
            try:
                async with http.get(f"http://{HOST}:{port}/health") as resp:
                    if resp.status == 200:
                        return proc
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    proc.kill()
    raise SystemExit(f"localgate did not start:\n{log.read_text()}")


def sample(pid: int) -> tuple[float, int]:
    """(RSS in MiB, open fds) of the daemon."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def fd_kinds(pid: int) -> dict[str, int]:
    """Open fds of the daemon by what they point at (socket, pipe, a file's path)."""
    kinds: Counter = Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kinds[target.split(":", 1)[0] if ":[" in target else target] += 1
    return dict(kinds)


def not_private(home: Path) -> list[str]:
    """What localgate wrote under its own dirs that is not 0600 (files) or 0700 (dirs)."""
    found = []
    for root in sorted(home.glob("*/localgate")):
        for path in [root, *sorted(root.rglob("*"))]:
            mode = path.stat().st_mode & 0o777
            if mode & ~(0o700 if path.is_dir() else 0o600):
                found.append(f"{path.relative_to(home)} {mode:o}")
    return found


# -- the clients -----------------------------------------------------------------


def build(dialect: str, model: str, stream: bool, prompt: str) -> tuple[str, dict, dict]:
    """(path, body, headers) of one request in `dialect`."""
    if dialect == "anthropic":
        body = {"model": model, "max_tokens": 64, "stream": stream}
        body["messages"] = [{"role": "user", "content": prompt}]
        return "/v1/messages", body, {"anthropic-version": "2023-06-01", "x-api-key": "soak"}
    if dialect == "openai":
        body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": prompt}]}
        return "/v1/chat/completions", body, {"authorization": "Bearer soak"}
    if dialect == "responses":  # as Codex asks: stateless
        body = {"model": model, "stream": stream, "input": prompt, "store": False}
        return "/v1/responses", body, {"authorization": "Bearer soak"}
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    return f"/v1beta/models/{model}:{method}", body, {"x-goog-api-key": "soak"}


def events(data: bytes) -> list[tuple[str, str]]:
    """(event name, data) of each SSE event."""
    out = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, lines = "", []
        for line in block.decode().split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                lines.append(line[5:].removeprefix(" "))
        if lines:
            out.append((name, "\n".join(lines)))
    return out


def gemini_text(chunk: dict) -> str:
    parts = (chunk.get("candidates") or [{}])[0].get("content", {}).get("parts", [])
    return "".join(p.get("text", "") for p in parts if not p.get("thought"))


def read_stream(dialect: str, data: bytes) -> tuple[str, bool, bool, int]:
    """(text, complete, ended in an error, repeats of once-only events)."""
    evs = events(data)
    if not evs:
        return "", False, False, 0
    if dialect == "anthropic":
        kinds = Counter(name for name, _ in evs)
        text = "".join(
            json.loads(d)["delta"].get("text", "") for n, d in evs if n == "content_block_delta"
        )
        repeats = max(kinds["message_start"], kinds["message_stop"], kinds["error"], 1) - 1
        complete = evs[-1][0] == "message_stop" and not kinds["error"]
        return text, complete, evs[-1][0] == "error", repeats
    if dialect == "responses":
        kinds = Counter(name for name, _ in evs)
        payloads = [json.loads(d) for _, d in evs]
        text = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
        ends = sum(kinds[k] for k in ("response.completed", "response.failed", "error"))
        # Sequence numbers run 0, 1, 2… with no repeat; one created, one terminal event.
        numbered = [p.get("sequence_number") for p in payloads if p["type"] != "error"]
        skipped = numbered != list(range(len(numbered)))
        repeats = max(kinds["response.created"], ends, 1) - 1 + skipped
        complete = evs[-1][0] == "response.completed" and ends == 1
        return text, complete, evs[-1][0] in ("response.failed", "error"), repeats
    chunks = [json.loads(d) for _, d in evs if d != "[DONE]"]
    errors = sum("error" in c for c in chunks)
    ended_in_error = "error" in chunks[-1] if chunks else False
    if dialect == "openai":
        deltas = [c["choices"][0] for c in chunks if c.get("choices")]
        text = "".join(c["delta"].get("content") or "" for c in deltas)
        finishes = sum(c.get("finish_reason") is not None for c in deltas)
        roles = sum(c["delta"].get("role") == "assistant" for c in deltas)
        done = sum(d == "[DONE]" for _, d in evs)
        complete = done == 1 and evs[-1][1] == "[DONE]" and finishes == 1 and not errors
        return text, complete, ended_in_error, max(finishes, roles, done, errors, 1) - 1
    text = "".join(gemini_text(c) for c in chunks)
    finishes = sum(bool((c.get("candidates") or [{}])[0].get("finishReason")) for c in chunks)
    complete = finishes == 1 and not errors and "finishReason" in evs[-1][1]
    return text, complete, ended_in_error, max(finishes, errors, 1) - 1


def body_text(dialect: str, body: dict) -> str:
    if dialect == "anthropic":
        return "".join(b.get("text", "") for b in body["content"] if b.get("type") == "text")
    if dialect == "openai":
        return body["choices"][0]["message"]["content"] or ""
    if dialect == "responses":
        return "".join(
            part["text"]
            for item in body["output"]
            if item["type"] == "message"
            for part in item["content"]
            if part["type"] == "output_text"
        )
    return gemini_text(body)


def well_formed_error(dialect: str, status: int, raw: bytes) -> bool:
    try:
        body = json.loads(raw)
        if dialect == "anthropic":
            return body["type"] == "error" and bool(body["error"]["message"])
        error = body["error"]
        if dialect in ("openai", "responses"):
            return bool(error["message"]) and {"type", "param", "code"} <= error.keys()
        return error["code"] == status and isinstance(error["status"], str)
    except (ValueError, KeyError, TypeError):
        return False


def judge_text(text: str, expected: str, complete: bool) -> str | None:
    """None when the text is right: whole when complete, else a prefix of the answer."""
    if text == expected if complete else expected.startswith(text):
        return None
    words = text.split()
    return "duplicated" if len(words) != len(set(words)) else "wrong"


PROVIDER_OF = {"claude": "anthropic", "gpt": "openai", "gemini": "gemini"}


def translated(dialect: str, model: str) -> bool:
    return PROVIDER_OF.get(model.split("-")[0]) not in (dialect, None)


def hostile(kind: str, dialect: str, path: str, body: dict) -> tuple[str, bytes]:
    """(path, raw body) of a hostile version of a request: what `kind` breaks."""
    raw = json.dumps(body)
    first = next(iter(body))
    if kind in ("badmodel", "longmodel"):
        name = "claude-x\r\nx-injected: 1" if kind == "badmodel" else "m" * 5000
        if dialect == "gemini":
            model = "gemini%0D%0Ax-injected:%201" if kind == "badmodel" else name
            return re.sub(r"models/[^:]+:", f"models/{model}:", path), raw.encode()
        return path, json.dumps({**body, "model": name}).encode()
    if kind == "nan":
        return path, (raw[:-1] + ', "temperature": NaN}').encode()
    if kind == "dupkey":
        return path, ('{"' + first + '": null, ' + raw[1:]).encode()
    if kind == "deep":
        return path, (raw[:-1] + ', "deep": ' + "[" * 300 + "]" * 300 + "}").encode()
    if kind == "utf16":
        return path, raw.encode("utf-16")
    if dialect == "gemini":  # badtype
        return path, json.dumps({**body, "generationConfig": {"temperature": "hot"}}).encode()
    return path, json.dumps({**body, "temperature": "hot"}).encode()


def verdict(dialect, fault, stream, status, headers, raw, expected) -> str:
    """How one answered request ended: ok, stream-error, error-NNN, or a failure kind."""
    if fault in HOSTILE_INPUTS:  # refused at the door, in the dialect, or a failure
        if status == 400:
            return "refused" if well_formed_error(dialect, status, raw) else "lost"
        return "unexpected"
    _, allowed, may_break = FAULTS[fault]
    if status != 200:
        if not well_formed_error(dialect, status, raw):
            return "lost"
        if status == 429 and "retry-after" not in headers:
            return "unexpected"
        return f"error-{status}" if status == 429 or status in allowed else "unexpected"
    try:
        if not stream:
            return judge_text(body_text(dialect, json.loads(raw)), expected, True) or "ok"
        text, complete, broke, repeats = read_stream(dialect, raw)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return "lost"
    if repeats:
        return "duplicated"
    if not complete and not broke:
        return "lost"
    wrong = judge_text(text, expected, complete)
    if wrong or complete:
        return wrong or "ok"
    return "stream-error" if may_break else "unexpected"


@dataclass
class Tally:
    """What the clients saw."""

    outcomes: Counter = field(default_factory=Counter)
    by_fault: dict = field(default_factory=dict)  # fault -> Counter of outcomes
    latencies: list = field(default_factory=list)  # seconds, answers judged ok
    failovers: int = 0  # ok answers that took more than one upstream attempt
    examples: list = field(default_factory=list)  # the first failures, for the report
    keys: tuple = ()  # the accounts' keys (bytes): no answer may carry one

    def add(self, fault: str, outcome: str, latency: float, attempts: int, detail: str) -> None:
        self.outcomes[outcome] += 1
        self.by_fault.setdefault(fault, Counter())[outcome] += 1
        if outcome == "ok":
            self.latencies.append(latency)
            self.failovers += attempts > 1
        if outcome in FAILURES and len(self.examples) < 20:
            self.examples.append(detail)


async def one_request(http, base: str, rng: random.Random, board: Counter, tally: Tally):
    import aiohttp

    dialect, model = rng.choice(ROUTES)
    stream = rng.random() < 0.6
    weights = {**{f: w for f, (w, _, _) in FAULTS.items()}, **HOSTILE_INPUTS}
    fault = rng.choices(list(weights), weights=list(weights.values()))[0]
    if fault == "badtype" and not translated(dialect, model):
        model = {"anthropic": "gpt-4o", "openai": "gemini-2.5-flash"}.get(dialect, "gpt-4o")
    is_hostile = fault in HOSTILE_INPUTS
    leave_after = rng.uniform(0.02, 0.6) if rng.random() < 0.07 and not is_hostile else None
    nonce, words, chunks = secrets.token_hex(8), rng.randint(3, 30), rng.randint(1, 6)
    prompt = f"soak nonce={nonce} fault={fault} words={words} chunks={chunks}"
    path, body, headers = build(dialect, model, stream, prompt)
    data = None
    if is_hostile:
        path, data = hostile(fault, dialect, path, body)
        headers = {**headers, "content-type": "application/json"}
    started = time.monotonic()
    status, raw = 0, b""
    try:
        async with asyncio.timeout(leave_after or CLIENT_TIMEOUT):
            send = {"data": data} if is_hostile else {"json": body}
            async with http.post(base + path, headers=headers, **send) as resp:
                raw = await resp.read()
                status = resp.status
        outcome = verdict(
            dialect, fault, stream, status, resp.headers, raw, expected_text(nonce, words)
        )
        if is_hostile and board.get(nonce):  # it reached an upstream: billed, or worse
            outcome = "unexpected"
        if any(key in raw or key[-16:] in raw for key in tally.keys):
            outcome = "leaked"
    except TimeoutError:
        outcome = "left" if leave_after else "lost"
    except aiohttp.ClientError as exc:
        outcome, raw = "lost", repr(exc).encode()
    latency = time.monotonic() - started
    if outcome == "left":  # a retry may still be on its way upstream: forget the nonce later
        asyncio.get_running_loop().call_later(10, board.pop, nonce, None)
        attempts = 0
    else:
        attempts = board.pop(nonce, 0)
    detail = f"{outcome}: {dialect} {model} stream={stream} fault={fault} status={status} "
    tally.add(fault, outcome, latency, attempts, detail + repr(raw[-400:]))


async def worker(http, base, rng, board, tally, deadline: float) -> None:
    while time.monotonic() < deadline:
        await one_request(http, base, rng, board, tally)
        await asyncio.sleep(rng.uniform(0, 0.05))


# -- measuring and reporting -------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) in MiB per minute."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60 if var else 0.0


def memory_report(samples: list[tuple[float, float, int]], seconds: float) -> dict:
    """Start/end/max RSS and the slope after warm-up; `grew` when both fit and ends agree."""
    warmup = min(60.0, 0.2 * seconds)
    warm = [(t, rss) for t, rss, _ in samples if t >= warmup] or [(t, r) for t, r, _ in samples]
    warm_start = sorted(r for _, r in warm[:3])[len(warm[:3]) // 2]
    slope = slope_per_minute(warm)
    span = (warm[-1][0] - warm[0][0]) / 60
    limit = max(8.0, 0.05 * warm_start)
    fitted, observed = slope * span, warm[-1][1] - warm_start
    return {
        "start_mb": round(samples[0][1], 1),
        "warm_mb": round(warm_start, 1),
        "end_mb": round(samples[-1][1], 1),
        "max_mb": round(max(r for _, r, _ in samples), 1),
        "slope_mb_per_min": round(slope, 3),
        "warmup_s": round(warmup, 1),
        "limit_mb": round(limit, 1),
        "grew": fitted > limit and observed > limit,
    }


def print_table(result: dict) -> None:
    print("\nfault       " + "  ".join(f"{o:>12}" for o in result["outcome_names"]))
    for fault, counts in sorted(result["by_fault"].items()):
        print(
            f"{fault:<12}" + "  ".join(f"{counts.get(o, 0):>12}" for o in result["outcome_names"])
        )
    mem, fds = result["memory"], result["fds"]
    lat = result["latency_ok_s"]
    print(
        f"\nrequests {result['requests']} in {result['seconds']:.0f}s "
        f"({result['requests'] / result['seconds']:.1f}/s); ok after failover "
        f"{result['failovers']}; upstream requests dropped by the daemon {result['upstream_drops']}"
    )
    print(f"latency of ok answers: p50 {lat['p50']}s p99 {lat['p99']}s max {lat['max']}s")
    print(
        f"RSS MiB: start {mem['start_mb']} warm {mem['warm_mb']} end {mem['end_mb']} "
        f"max {mem['max_mb']}; slope {mem['slope_mb_per_min']} MiB/min after "
        f"{mem['warmup_s']}s warm-up (limit {mem['limit_mb']} MiB)"
    )
    print(f"fds: before {fds['before']} max {fds['max']} after settling {fds['after']}")
    if fds["after"] > fds["before"]:
        print(f"  fds before: {fds['before_kinds']}\n  fds after:  {fds['after_kinds']}")
    print(f"daemon exit {result['exit_code']}, tracebacks {result['tracebacks']}, "
          f"secrets in its output {result['secrets_in_log']}")  # fmt: skip
    for path in result["not_private"]:
        print(f"  not private: {path}")
    for example in result["examples"]:
        print("  " + example)
    print(
        "\nRESULT:", "PASS" if not result["problems"] else "FAIL " + "; ".join(result["problems"])
    )


# -- the run -------------------------------------------------------------------------


def isolate(home: Path) -> None:
    """Temp XDG dirs and a plaintext keyring for this process and the daemon it starts."""
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        os.environ[f"XDG_{name}_HOME"] = str(home / name.lower())
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    for name in ("LOCALGATE_CONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
                 "ALL_PROXY", "all_proxy"):  # fmt: skip
        os.environ.pop(name, None)


async def soak(args, home: Path) -> dict:
    import aiohttp
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    from localgate.secrets import store_secret

    isolate(home)
    # The fakes' server logs a traceback each time the daemon drops an upstream
    # request it no longer needs (its client left): expected here, and not the daemon's.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    keyring.set_keyring(PlaintextKeyring())
    board: Counter = Counter()
    classes = soak_fakes(board)
    fakes = {
        f"{kind}-{x}": classes[kind](name=f"{kind}-{x}")
        for kind in ("anthropic", "openai", "gemini")
        for x in "ab"
    }
    keys = {name: f"sk-soak-{name}-{secrets.token_hex(16)}" for name in fakes}
    for name, fake in fakes.items():
        await fake.start()
        store_secret(name, keys[name])
    config, log = home / "config.toml", home / "localgate.log"
    write_config(config, fakes)
    port = free_port()
    proc = await start_daemon(config, port, log)
    print(f"localgate pid {proc.pid} on {HOST}:{port}; {args.workers} workers, "
          f"{args.minutes} min; log {log}", flush=True)  # fmt: skip
    tally = Tally(keys=tuple(key.encode() for key in keys.values()))
    rss0, fds0 = sample(proc.pid)
    kinds0 = fd_kinds(proc.pid)
    started = time.monotonic()
    samples = [(0.0, rss0, fds0)]
    deadline = started + args.minutes * 60
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None)
    ) as http:
        base = f"http://{HOST}:{port}"
        tasks = [
            asyncio.create_task(
                worker(http, base, random.Random(args.seed * 1000 + i), board, tally, deadline)
            )
            for i in range(args.workers)
        ]
        while not all(task.done() for task in tasks):
            await asyncio.wait(tasks, timeout=SAMPLE_EVERY)
            now = time.monotonic() - started
            rss, fds = sample(proc.pid)
            samples.append((now, rss, fds))
            bad = sum(tally.outcomes[f] for f in FAILURES)
            print(
                f"{now:6.0f}s  requests {sum(tally.outcomes.values()):6d}  "
                f"ok {tally.outcomes['ok']:6d}  stream-error {tally.outcomes['stream-error']:4d}  "
                f"429 {tally.outcomes['error-429']:4d}  left {tally.outcomes['left']:4d}  "
                f"FAILED {bad:3d}  rss {rss:6.1f} MiB  fds {fds:4d}",
                flush=True,
            )
        for task in tasks:
            task.result()  # a crash in the soak itself must not pass silently
    seconds = time.monotonic() - started
    # Idle keep-alive connections must close by themselves: aiohttp's client drops
    # them after 15 s idle, checked every 15 s, so up to 30 s after the last use.
    await asyncio.sleep(args.settle)
    fds_after = sample(proc.pid)[1]
    kinds_after = fd_kinds(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        exit_code = await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
        exit_code = await proc.wait()
    output = log.read_text("utf-8", "replace")
    args.json.with_suffix(".log").write_text(output)  # kept: the temp dir is not
    exposed = not_private(home)
    drops = sum(fake.disconnects for fake in fakes.values())
    for fake in fakes.values():
        await fake.close()

    memory = memory_report(samples, seconds)
    failures = {f: tally.outcomes[f] for f in FAILURES}
    problems = [f"{count} {kind}" for kind, count in failures.items() if count]
    if memory["grew"]:
        problems.append(f"memory grew {memory['slope_mb_per_min']} MiB/min")
    if fds_after > fds0 + 4:
        problems.append(f"fds {fds0} -> {fds_after}")
    tracebacks = output.count("Traceback")
    leaked = sum(key in output or key[-16:] in output for key in keys.values())
    problems += [f"{tracebacks} tracebacks"] * bool(tracebacks)
    problems += [f"{leaked} secrets in the daemon's output"] * bool(leaked)
    problems += [f"daemon exit code {exit_code}"] * bool(exit_code)
    problems += [f"{len(exposed)} files or dirs not private"] * bool(exposed)
    names = ["ok", "stream-error", "error-429", "error-502", "error-504", "left", "refused"]
    names += [*FAILURES]
    names += sorted(set(tally.outcomes) - set(names))
    return {
        "minutes": args.minutes,
        "workers": args.workers,
        "seconds": round(seconds, 1),
        "requests": sum(tally.outcomes.values()),
        "outcomes": dict(tally.outcomes),
        "outcome_names": names,
        "by_fault": {fault: dict(counts) for fault, counts in tally.by_fault.items()},
        "failures": failures,
        "failovers": tally.failovers,
        "upstream_drops": drops,
        "latency_ok_s": {
            name: None if value is None else round(value, 3)
            for name, value in (
                ("p50", percentile(tally.latencies, 0.5)),
                ("p99", percentile(tally.latencies, 0.99)),
                ("max", max(tally.latencies, default=None)),
            )
        },
        "memory": memory,
        "fds": {
            "before": fds0,
            "max": max(f for _, _, f in samples),
            "after": fds_after,
            "before_kinds": kinds0,
            "after_kinds": kinds_after,
        },
        "samples": [(round(t, 1), round(r, 2), f) for t, r, f in samples],
        "exit_code": exit_code,
        "tracebacks": tracebacks,
        "secrets_in_log": leaked,
        "not_private": exposed,
        "examples": tally.examples,
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long traffic runs")
    parser.add_argument("--workers", type=int, default=24, help="concurrent clients")
    parser.add_argument("--seed", type=int, default=6, help="seed of the traffic mix")
    parser.add_argument("--settle", type=float, default=35.0,
                        help="idle seconds before the final fd count")  # fmt: skip
    parser.add_argument("--json", type=Path, default=Path("soak.json"), help="where to write")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # tests.fakes and localgate from this checkout
    with tempfile.TemporaryDirectory(prefix="localgate-soak-") as tmp:
        result = asyncio.run(soak(args, Path(tmp)))
    args.json.write_text(json.dumps(result, indent=1))
    print_table(result)
    print(f"figures written to {args.json}, the daemon's output to {args.json.with_suffix('.log')}")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
