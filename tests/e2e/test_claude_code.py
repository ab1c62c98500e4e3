"""Claude Code itself, unchanged, against localgate backed by fake upstreams.

`claude -p` runs as a subprocess (asyncio, so the in-process server keeps
serving) with `ANTHROPIC_BASE_URL` pointing at localgate on 127.0.0.1, a
throwaway HOME and everything non-essential switched off, so it never leaves
the machine. Claude Code sends more than the one conversation (title or topic
requests to the small model, quota probes, count_tokens): the fakes here decide
each answer by reading the request instead of following a fixed script.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.e2e.agents import (
    FINAL,
    AgentAnthropic,
    AgentGemini,
    AgentOpenAI,
    describe,
    gemini_view,
    openai_view,
    responses_view,
    run_cli,
    served_cleanly,
    start,
    start_vertex,
)
from tests.fakes import Error
from tests.support import account

PROMPT = "Create out.txt containing hi using the Bash tool, then tell me you are done."


# -- running Claude Code -------------------------------------------------------------


def claude_env(base_url: str, home: Path) -> dict[str, str]:
    """An environment that keeps Claude Code on localgate and off the network."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "SHELL", "TMPDIR", "USER")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        ANTHROPIC_BASE_URL=base_url.rstrip("/"),
        ANTHROPIC_API_KEY="anything",
        ANTHROPIC_MODEL="claude-sonnet-4-5",
        ANTHROPIC_SMALL_FAST_MODEL="claude-haiku-4-5",
        ANTHROPIC_DEFAULT_HAIKU_MODEL="claude-haiku-4-5",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        DISABLE_BUG_COMMAND="1",
        DISABLE_NON_ESSENTIAL_MODEL_CALLS="1",
        CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL="1",
        NO_PROXY="127.0.0.1,localhost",
        SHELL=os.environ.get("SHELL", "/bin/bash"),
    )
    return env


async def run_claude(
    claude_code: Path, client, tmp_path: Path, *, model: str | None = None
) -> tuple[int, str, str, Path]:
    """`claude -p PROMPT --allowedTools Bash` in a fresh cwd; (code, stdout, stderr, cwd)."""
    env = claude_env(str(client.make_url("")), tmp_path / "home")
    if model:
        env["ANTHROPIC_MODEL"] = model
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    code, out, err = await run_cli(
        str(claude_code), "-p", PROMPT, "--allowedTools", "Bash", env=env, cwd=cwd
    )
    return code, out, err, cwd


# -- scenarios ---------------------------------------------------------------------------


async def test_rate_limited_first_account_is_invisible(claude_code, watched, tmp_path):
    """(a) Two Anthropic accounts, the first answering 429: Claude Code never notices."""
    started: list = []
    try:
        first = await start(AgentAnthropic, "first", started)
        second = await start(AgentAnthropic, "second", started)
        first.always = Error(429, "rate limited", headers={"retry-after": "60"})
        client, seen, done = await watched(
            [
                account("first", "anthropic", first.url, priority=10),
                account("second", "anthropic", second.url),
            ],
            server={"strategy": "fill-first"},
        )
        code, out, err, cwd = await run_claude(claude_code, client, tmp_path)
        report = describe(started, out, err, seen)
        print(report)  # shown with -s: what Claude Code sent
        assert code == 0, report
        assert not served_cleanly(done), served_cleanly(done)
        assert FINAL in out, report
        assert (cwd / "out.txt").read_text().strip() == "hi", report
        assert len(first.requests) >= 1, report
        # Cooled down after its 429: everything else went to the second account.
        assert second.tool_calls_sent == 1 and "final tools" in " ".join(second.seen), report
    finally:
        for fake in started:
            await fake.close()


async def agent_session(
    claude_code,
    watched,
    tmp_path,
    fake_cls,
    provider: str,
    model: str,
    *,
    alias: bool = True,
    **keys,
):
    """Claude Code on one account (`keys` added to its table); its claude-* names
    aliased to `model`, or asking for it."""
    started: list = []
    try:
        fake = await start(fake_cls, provider, started)
        aliases = {"claude-*": [f"{provider}:{model}"]} if alias else None
        client, seen, done = await watched(
            [account(provider, provider, fake.url, **keys)], aliases=aliases
        )
        code, out, err, cwd = await run_claude(
            claude_code, client, tmp_path, model=None if alias else model
        )
        report = describe(started, out, err, seen)
        print(report)  # shown with -s: what Claude Code sent
        assert code == 0, report
        assert not served_cleanly(done), served_cleanly(done)
        assert FINAL in out, report
        assert (cwd / "out.txt").read_text().strip() == "hi", report
        assert fake.tool_calls_sent >= 1 and any(s.startswith("final") for s in fake.seen), report
        return fake, seen
    finally:
        for fake in started:
            await fake.close()


def final_request(fake, view) -> dict:
    """The upstream request that carried the tool's result."""
    return next(r.json for r in fake.requests if view(r.json)[1])


def echoed_blocks(seen: list[dict]) -> list[str]:
    """The assistant blocks Claude Code sent back with the tool result."""
    return [b for s in seen for b in s.get("body", {}).get("assistant_blocks", [])]


async def test_tool_loop_through_an_openai_account(claude_code, watched, tmp_path):
    """(b) Claude Code → localgate → an OpenAI-compatible upstream: Bash call, result, answer."""
    fake, _ = await agent_session(claude_code, watched, tmp_path, AgentOpenAI, "openai", "gpt-4o")
    assert {r.path for r in fake.requests} == {"/v1/chat/completions"}
    assert all(r.json["model"] == "gpt-4o" for r in fake.requests)
    final = final_request(fake, openai_view)
    tool = next(m for m in final["messages"] if m["role"] == "tool")
    assistant = next(m for m in final["messages"] if m.get("tool_calls"))
    assert tool["tool_call_id"] == assistant["tool_calls"][0]["id"]


async def test_tool_loop_through_a_responses_account(claude_code, watched, tmp_path):
    """The same through an OpenAI account on the Responses API: the call and its
    result pair by call_id, and the model's reasoning rides through Claude Code as a
    signed thinking block and back as a reasoning item."""
    fake, seen = await agent_session(
        claude_code, watched, tmp_path, AgentOpenAI, "openai", "gpt-5", api="responses"
    )
    assert {r.path for r in fake.requests} == {"/v1/responses"}
    final = final_request(fake, responses_view)
    call = next(i for i in final["input"] if i.get("type") == "function_call")
    output = next(i for i in final["input"] if i.get("type") == "function_call_output")
    assert output["call_id"] == call["call_id"]
    assert "thinking+sig" in echoed_blocks(seen), echoed_blocks(seen)
    reasoning = [i for i in final["input"] if i.get("type") == "reasoning"]
    assert reasoning and reasoning[0].get("encrypted_content"), final["input"]


async def test_tool_loop_through_a_gemini_account(claude_code, watched, tmp_path):
    """(c) The same through a Gemini API-key account."""
    fake, _ = await agent_session(
        claude_code, watched, tmp_path, AgentGemini, "gemini", "gemini-2.5-flash"
    )
    assert all(r.path.startswith("/v1beta/models/gemini-2.5-flash:") for r in fake.requests)
    assert all(r.headers["x-goog-api-key"] == "sk-test-gemini-secret" for r in fake.requests)
    final = final_request(fake, gemini_view)
    declarations = [d for t in final["tools"] for d in t["functionDeclarations"]]
    # Claude Code's JSON Schemas reach Gemini in a form it accepts.
    assert "$schema" not in json.dumps([d.get("parameters") for d in declarations])
    model_turn = next(c for c in final["contents"] if c["role"] == "model")
    assert any("functionCall" in p for p in model_turn["parts"])


async def test_gemini_model_named_directly(claude_code, watched, tmp_path):
    """`ANTHROPIC_MODEL=gemini-2.5-flash`: Claude Code then sends adaptive thinking,
    output_config and a mid-conversation system message; Gemini gets them its way,
    and its thought signature comes back on the turn with the call."""
    fake, seen = await agent_session(
        claude_code, watched, tmp_path, AgentGemini, "gemini", "gemini-2.5-flash", alias=False
    )
    assert any(s.get("body", {}).get("system_role_messages") for s in seen)
    final = final_request(fake, gemini_view)
    assert {c["role"] for c in final["contents"]} <= {"user", "model"}
    model_turn = next(c for c in final["contents"] if c["role"] == "model")
    assert any(p.get("thoughtSignature") for p in model_turn["parts"]), model_turn


async def test_gemini_thought_signature_survives_an_alias(claude_code, watched, tmp_path):
    """Under `claude-* → gemini:…` the signature must come back as well.

    Claude Code drops thinking blocks from a turn whose `message.model` is not
    the model it asked for, so a translated answer must name the client's model.
    """
    fake, seen = await agent_session(
        claude_code, watched, tmp_path, AgentGemini, "gemini", "gemini-2.5-flash"
    )
    assert "thinking+sig" in echoed_blocks(seen), echoed_blocks(seen)
    model_turn = next(
        c for c in final_request(fake, gemini_view)["contents"] if c["role"] == "model"
    )
    assert any(p.get("thoughtSignature") for p in model_turn["parts"]), model_turn


async def test_thinking_survives_an_alias_between_claude_models(claude_code, watched, tmp_path):
    """(d) `claude-sonnet-4-5 → claude-opus-4-1` on an Anthropic account.

    With thinking enabled the real API refuses a tool loop whose last assistant
    turn lacks its thinking block (400 "a final assistant message must start with
    a thinking block"); Claude Code drops the block when the answer's `model` is
    not the one it asked for, so the alias must not show through in the body.
    """
    started: list = []
    try:
        fake = await start(AgentAnthropic, "work", started)
        client, seen, done = await watched(
            [account("work", "anthropic", fake.url)],
            aliases={"claude-sonnet-4-5": ["claude-opus-4-1"]},
        )
        code, out, err, cwd = await run_claude(claude_code, client, tmp_path)
        report = describe(started, out, err, seen)
        assert code == 0 and FINAL in out, report
        assert all(r.json["model"] == "claude-opus-4-1" for r in fake.requests), report
        assert "thinking+sig" in echoed_blocks(seen), report
    finally:
        for fake in started:
            await fake.close()


async def vertex_session(claude_code, watched, tmp_path, fake_google_token, aliases=None):
    """Claude Code on a Vertex account (Google login, 2-second access tokens)."""
    from tests.google.support import vertex_account

    fake_google_token.expires_in = 2  # short-lived: a refresh may fall between turns
    vertex = await start_vertex(fake_google_token)
    try:
        login = fake_google_token.authorized_user()
        client, seen, done = await watched(
            [vertex_account("gcp", vertex.url, login)], aliases=aliases
        )
        code, out, err, cwd = await run_claude(claude_code, client, tmp_path)
        report = describe([vertex.claude, vertex.gemini], out, err, seen)
        print(report)  # shown with -s: what Claude Code sent
        assert code == 0, report
        assert not served_cleanly(done), served_cleanly(done)
        assert FINAL in out, report
        assert (cwd / "out.txt").read_text().strip() == "hi", report
        assert vertex.rejected == 0, report  # no expired token ever reached Vertex
        return vertex, seen
    finally:
        await vertex.close()


async def test_claude_on_vertex_through_a_google_login(
    claude_code, watched, tmp_path, fake_google_token
):
    """(e) Claude models on Vertex: rawPredict with Vertex ids, betas in the header,
    thinking kept though Vertex names its own model ids."""
    vertex, seen = await vertex_session(claude_code, watched, tmp_path, fake_google_token)
    paths = {r.path.rsplit("/", 1)[-1] for r in vertex.claude.requests}
    assert "claude-sonnet-4-5@20250929:streamRawPredict" in paths, paths
    assert all(
        "model" not in r.json for r in vertex.claude.requests if "count-tokens" not in r.path
    )
    assert vertex.claude.tool_calls_sent >= 1
    assert "thinking+sig" in echoed_blocks(seen), echoed_blocks(seen)


async def test_gemini_on_vertex_serves_claude_code(
    claude_code, watched, tmp_path, fake_google_token
):
    """(f) `claude-* → vertex:gemini-2.5-flash`: the Bash loop through Gemini on Vertex."""
    vertex, _ = await vertex_session(
        claude_code,
        watched,
        tmp_path,
        fake_google_token,
        aliases={"claude-*": ["vertex:gemini-2.5-flash"]},
    )
    assert vertex.gemini.tool_calls_sent >= 1 and not vertex.claude.requests
    assert all(
        "/publishers/google/models/gemini-2.5-flash:" in r.path for r in vertex.gemini.requests
    )
