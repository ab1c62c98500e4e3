"""Fake upstreams that answer like an agent's model, for the real client CLIs.

An agent sends more than the one conversation (titles, topic checks, quota
probes, count_tokens): these fakes decide each answer by reading the request.
When the client offers the agent's shell tool they call it once; when the
tool's result comes back they finish; a request for JSON gets a document
that fits its schema; anything else gets a short text.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, Reply, ToolCall

COMMAND = "echo hi > out.txt"
# What Codex and Gemini CLI are asked (Claude Code is asked for its Bash tool by name).
PROMPT = "Create out.txt containing hi with a shell command, then tell me you are done."
FINAL = "Done: out.txt now says hi."
CHATTER = "ok"  # what side requests (titles, probes) get


def asked_schema(body: dict) -> dict | None:
    """The JSON Schema a request wants its answer to fit, in any dialect; None for prose.

    Gemini CLI routes each prompt with such a request (a complexity score) and
    retries it with backoff when the answer is not JSON, as it would with a
    real model that ignored the schema.
    """
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json":  # Gemini
        return config.get("responseJsonSchema") or config.get("responseSchema") or {}
    output = (body.get("output_config") or {}).get("format") or {}  # Anthropic
    if output.get("type") == "json_schema":
        return output.get("schema") or {}
    chat = body.get("response_format") or {}  # Chat Completions
    if chat.get("type") == "json_schema":
        return (chat.get("json_schema") or {}).get("schema") or {}
    text = (body.get("text") or {}).get("format") or {}  # Responses
    if text.get("type") == "json_schema":
        return text.get("schema") or {}
    return None


def instance(schema: dict):
    """A small value that validates against `schema` (types in either case, as Gemini
    CLI writes them upper-case)."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: instance(properties.get(name) or {}) for name in schema.get("required") or []}
    return {"string": "ok", "integer": 1, "number": 1, "boolean": True, "array": []}.get(kind)


def anthropic_view(body: dict) -> tuple[set[str], bool]:
    tools = {t.get("name") for t in body.get("tools") or []}
    blocks = [
        block
        for message in body.get("messages") or []
        if isinstance(message.get("content"), list)
        for block in message["content"]
    ]
    return tools, any(isinstance(b, dict) and b.get("type") == "tool_result" for b in blocks)


def openai_view(body: dict) -> tuple[set[str], bool]:
    tools = {t.get("function", {}).get("name") for t in body.get("tools") or []}
    return tools, any(m.get("role") == "tool" for m in body.get("messages") or [])


def gemini_view(body: dict) -> tuple[set[str], bool]:
    tools = {
        declaration.get("name")
        for tool in body.get("tools") or []
        for declaration in tool.get("functionDeclarations") or []
    }
    parts = [part for content in body.get("contents") or [] for part in content.get("parts") or []]
    return tools, any("functionResponse" in part for part in parts)


def responses_view(body: dict) -> tuple[set[str], bool]:
    tools = {t.get("name") for t in body.get("tools") or []}
    items = body.get("input") if isinstance(body.get("input"), list) else []
    return tools, any(i.get("type") == "function_call_output" for i in items if isinstance(i, dict))


class AgentMixin:
    """Answers by looking at the request: the tool offered → call it; result back → finish.

    Anything without the tool (title generation, quota probes) gets a short
    text. `seen` keeps a one-line summary of every model request, for reports.
    """

    view = staticmethod(anthropic_view)
    tool = "Bash"  # the agent's shell tool and what the model asks of it
    tool_input = {"command": COMMAND, "description": "Write hi to out.txt"}

    def setup_agent(self) -> None:
        self.seen: list[str] = []
        self.tool_calls_sent = 0
        self.always = None  # a behavior every request gets instead (an account that is down)

    def view_of(self, body: dict) -> tuple[set[str], bool]:
        """(tool names offered, whether a tool result came back) of a request."""
        return self.view(body)

    def decide(self, body: dict):
        tools, has_result = self.view_of(body)
        schema = asked_schema(body)
        if schema is not None:
            kind = "json"
            behavior = Reply(text=json.dumps(instance(schema)))
        elif self.tool in tools and has_result:
            kind = "final"
            behavior = Reply(text=FINAL)
        elif self.tool in tools:
            kind = "tool_call"
            self.tool_calls_sent += 1
            behavior = Reply(
                text="",
                # Thinking too: Gemini's thoughtSignature must ride through Claude Code and back.
                thinking="The user wants a file; Bash can write it.",
                tool_calls=[ToolCall(self.tool, self.tool_input)],
            )
        else:
            kind = "chatter"
            behavior = Reply(text=CHATTER)
        self.seen.append(f"{kind} tools={len(tools)}")
        return behavior

    async def answer(self, request, call):
        if self.always is not None:
            self.seen.append("refused")
            return await self.perform(request, self.always, call)
        body = call.request.json if isinstance(call.request.json, dict) else {}
        return await self.perform(request, self.decide(body), call)


class AgentAnthropic(AgentMixin, FakeAnthropic):
    view = staticmethod(anthropic_view)


class AgentOpenAI(AgentMixin, FakeOpenAI):
    view = staticmethod(openai_view)

    def view_of(self, body: dict) -> tuple[set[str], bool]:
        if "input" in body:  # the same fake, asked through /responses
            return responses_view(body)
        return openai_view(body)


class AgentGemini(AgentMixin, FakeGemini):
    view = staticmethod(gemini_view)


# Codex CLI's shell tool, and the call that writes the file with it.
CODEX_TOOL = ("exec_command", {"cmd": COMMAND})


async def start(fake_cls, name: str, started: list, tool: tuple[str, dict] | None = None):
    """A started agent fake; `tool` overrides the shell tool it calls (Claude Code's Bash)."""
    fake = fake_cls(name=name)
    fake.setup_agent()
    if tool is not None:
        fake.tool, fake.tool_input = tool
    await fake.start()
    started.append(fake)
    return fake


async def start_vertex(tokens, tool: tuple[str, dict] | None = None):
    """A started fake Vertex project whose Claude and Gemini models are agent fakes
    (`vertex.claude`, `vertex.gemini`); `tool` as for `start`."""
    from tests.fakes.vertex import FakeVertex

    vertex = FakeVertex(name="vertex", tokens=tokens)
    vertex.claude, vertex.gemini = AgentAnthropic("vertex"), AgentGemini("vertex")
    for agent in (vertex.claude, vertex.gemini):
        agent.setup_agent()
        if tool is not None:
            agent.tool, agent.tool_input = tool
    await vertex.start()
    return vertex


def served_cleanly(done: list) -> list[str]:
    """Problems the gateway recorded: requests that did not end 200 without error."""
    from localgate.events import RequestDone

    return [
        f"{e.op} {e.model} → {e.status} {e.error or ''}"
        for e in done
        if isinstance(e, RequestDone) and (e.status != 200 or e.error)
    ]


def describe(fakes, out: str, err: str, seen: list[dict]) -> str:
    """What happened, for assertion messages (and the report)."""
    lines = [f"stdout: {out!r}", f"stderr: {err[-2000:]!r}", "client → localgate:"]
    lines += [f"  {json.dumps(s)}" for s in seen]
    for fake in fakes:
        lines.append(f"{fake.name}: {getattr(fake, 'seen', [])}")
        for r in fake.requests:
            lines.append(f"  {r.method} {r.path} {json.dumps(r.query)} model={_model(r)}")
    return "\n".join(lines)


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """A client CLI's environment: HOME, PATH and the locale, nothing of ours that could
    point it elsewhere, loopback off any proxy, and `extra`."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER", "SHELL")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(HOME=str(home), NO_PROXY="127.0.0.1,localhost", **extra)
    return env


def check_done(code, out, err, cwd, seen, done, fakes) -> str:
    """The agent's run ended well: exit 0, every request served cleanly, the file
    written and the final answer shown. Returns the report (printed: see it with -s)."""
    report = describe(fakes, out, err, seen)
    print(report)
    assert code == 0, report
    assert not served_cleanly(done), served_cleanly(done)
    assert (cwd / "out.txt").read_text().strip() == "hi", report
    assert FINAL in out + err, report
    return report


def _model(recorded) -> str:
    body = recorded.json if isinstance(recorded.json, dict) else {}
    return str(body.get("model", "-"))


CLI_TIMEOUT = 240  # seconds for one run of a client CLI


async def run_cli(
    *command: str, env: dict, cwd: Path | None = None, timeout: float = CLI_TIMEOUT
) -> tuple[int, str, str]:
    """Run a client CLI to its end (asyncio: the in-process server keeps serving);
    (exit code, stdout, stderr). Past `timeout` it is killed and the test fails
    with what it printed."""
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(
            f"{Path(command[0]).name} did not finish in {timeout}s\n"
            f"stdout: {out.decode()}\nstderr: {err.decode()}"
        ) from None
    return proc.returncode, out.decode(), err.decode()
