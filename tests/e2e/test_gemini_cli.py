"""Gemini CLI itself, unchanged, against localgate backed by fake upstreams.

`gemini --yolo -p PROMPT` runs as a subprocess with `GOOGLE_GEMINI_BASE_URL`
pointing at localgate and asks for a file; the fake model calls Gemini CLI's
`run_shell_command` tool, the CLI runs it, sends the result back as a
`functionResponse`, and the fake finishes. Gemini CLI names only Gemini
models, so an account of another kind serves them through an alias
(`"gemini-*" = [...]`), as a user with only a Claude or OpenAI key would set
it: the request is translated both ways, streamed, tools and all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.agents import (
    PROMPT,
    AgentAnthropic,
    AgentGemini,
    AgentOpenAI,
    anthropic_view,
    check_done,
    client_env,
    run_cli,
    start,
    start_vertex,
)
from tests.fakes import Error
from tests.support import account

# Gemini CLI's shell tool, and the call that writes the file with it.
GEMINI_TOOL = ("run_shell_command", {"command": "echo hi > out.txt"})


async def run_gemini(gemini_cli: Path, client, tmp_path: Path) -> tuple[int, str, str, Path]:
    """`gemini --yolo -p PROMPT` in a fresh cwd and HOME; (code, stdout, stderr, cwd)."""
    home, cwd = tmp_path / "home", tmp_path / "work"
    (home / ".gemini").mkdir(parents=True)
    cwd.mkdir()
    settings = {  # API-key auth (what `localgate connect gemini-cli` selects), no telemetry
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    }
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    env = client_env(
        home,
        GEMINI_API_KEY="anything",
        GOOGLE_GEMINI_BASE_URL=str(client.make_url("")).rstrip("/"),
        GEMINI_CLI_TRUST_WORKSPACE="true",
        SHELL="/bin/bash",
    )
    code, out, err = await run_cli(str(gemini_cli), "--yolo", "-p", PROMPT, env=env, cwd=cwd)
    return code, out, err, cwd


# (fake, provider, extra account keys, the model the alias sends Gemini's names to)
KINDS = [
    (AgentGemini, "gemini", {}, None),
    (AgentAnthropic, "anthropic", {}, "claude-opus-4-8"),  # adaptive thinking only
    (AgentOpenAI, "openai", {}, "gpt-4.1"),
    (AgentOpenAI, "openai", {"api": "responses"}, "gpt-5-codex"),
]


@pytest.mark.parametrize(
    ("fake_cls", "provider", "keys", "model"),
    KINDS,
    ids=["gemini", "anthropic", "openai-chat", "openai-responses"],
)
async def test_gemini_cli_tool_loop_on_each_account_kind(
    gemini_cli, watched, tmp_path, fake_cls, provider, keys, model
):
    """Gemini CLI writes the file through a Gemini, an Anthropic, and an OpenAI account
    (Chat Completions and Responses)."""
    started: list = []
    try:
        fake = await start(fake_cls, provider, started, tool=GEMINI_TOOL)
        aliases = {"gemini-*": [model]} if model else None
        client, seen, done = await watched(
            [account(provider, provider, fake.url, **keys)], aliases=aliases
        )
        check_done(*await run_gemini(gemini_cli, client, tmp_path), seen, done, started)
        assert fake.tool_calls_sent == 1 and any(s.startswith("final") for s in fake.seen)
        if keys.get("api") == "responses":
            assert {r.path for r in fake.requests} == {"/v1/responses"}
        if provider == "anthropic":  # Claude's thinking came back with the call's result
            final = next(r.json for r in fake.requests if anthropic_view(r.json)[1])
            turn = [m for m in final["messages"] if m["role"] == "assistant"][-1]["content"]
            assert turn[0]["type"] == "thinking" and turn[0]["signature"], turn
            assert final["thinking"]["type"] == "adaptive"
    finally:
        for fake in started:
            await fake.close()


async def test_gemini_cli_never_sees_the_first_accounts_429(gemini_cli, watched, tmp_path):
    """The preferred Gemini account is rate limited: the turn moves to the second one,
    and Gemini CLI (which would retry with backoff, or stop) sees only answers."""
    started: list = []
    try:
        first = await start(AgentGemini, "first", started, tool=GEMINI_TOOL)
        first.always = Error(429, "Quota exceeded for this minute.")
        second = await start(AgentGemini, "second", started, tool=GEMINI_TOOL)
        client, seen, done = await watched(
            [
                account("first", "gemini", first.url, priority=10),
                account("second", "gemini", second.url),
            ],
            server={"strategy": "fill-first"},
        )
        check_done(*await run_gemini(gemini_cli, client, tmp_path), seen, done, started)
        assert first.seen and set(first.seen) == {"refused"}
        assert second.tool_calls_sent == 1
    finally:
        for fake in started:
            await fake.close()


@pytest.mark.parametrize("model", [None, "claude-sonnet-4-5"])
async def test_gemini_cli_on_vertex(gemini_cli, watched, tmp_path, fake_google_token, model):
    """Gemini CLI on a Vertex project reached with a Google login: its own Gemini models,
    and Claude (through an alias) on the same project."""
    from tests.google.support import vertex_account

    vertex = await start_vertex(fake_google_token, GEMINI_TOOL)
    try:
        login = fake_google_token.authorized_user()
        client, seen, done = await watched(
            [vertex_account("gcp", vertex.url, login)],
            aliases={"gemini-*": [model]} if model else None,
        )
        served = vertex.claude if model else vertex.gemini
        check_done(*await run_gemini(gemini_cli, client, tmp_path), seen, done, [served])
        assert served.tool_calls_sent == 1 and any(s.startswith("final") for s in served.seen)
    finally:
        await vertex.close()
