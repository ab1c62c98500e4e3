"""Codex CLI itself, unchanged, against localgate backed by fake upstreams.

`codex exec` runs as a subprocess with `CODEX_HOME` in a temp dir whose
`config.toml` names localgate as a `wire_api = "responses"` provider — the
block the README shows — and asks for a file; the fake model calls Codex's
`exec_command` tool, Codex runs it, sends the output back, and the fake
finishes. Whatever account kind serves it, the file must exist afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.agents import (
    CODEX_TOOL,
    PROMPT,
    AgentAnthropic,
    AgentGemini,
    AgentOpenAI,
    check_done,
    client_env,
    run_cli,
    start,
    start_vertex,
)
from tests.fakes import Error
from tests.support import account


def codex_home(base_url: str, home: Path, model: str) -> Path:
    """A CODEX_HOME whose config points Codex at localgate (as the README says)."""
    codex = home / ".codex"
    codex.mkdir(parents=True)
    (codex / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "localgate"\n'
        "\n"
        "[model_providers.localgate]\n"
        'name = "localgate"\n'
        f'base_url = "{base_url.rstrip("/")}/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "LOCALGATE_API_KEY"\n'
        "supports_websockets = false\n"
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
    )
    return codex


async def run_codex(codex: Path, client, tmp_path: Path, model: str) -> tuple[int, str, str, Path]:
    """`codex exec PROMPT` in a fresh cwd; (code, stdout, stderr, cwd)."""
    home, cwd = tmp_path / "home", tmp_path / "work"
    cwd.mkdir()
    env = client_env(
        home,
        CODEX_HOME=str(codex_home(str(client.make_url("")), home, model)),
        LOCALGATE_API_KEY="anything",
        SHELL="/bin/bash",
        RUST_LOG="error",
    )
    code, out, err = await run_cli(
        str(codex),
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        PROMPT,
        env=env,
        cwd=cwd,
    )
    return code, out, err, cwd


async def codex_session(codex, watched, tmp_path, accounts, model: str, **tables):
    """Run Codex on `accounts` (agent fakes) asking for `model`; checks the file was written."""
    client, seen, done = await watched(accounts, **tables)
    code, out, err, cwd = await run_codex(codex, client, tmp_path, model)
    return code, out, err, cwd, seen, done


KINDS = [
    (AgentAnthropic, "anthropic", "claude-sonnet-4-5"),
    (AgentOpenAI, "openai", "gpt-5-codex"),
    (AgentGemini, "gemini", "gemini-2.5-pro"),
]


@pytest.mark.parametrize(("fake_cls", "provider", "model"), KINDS, ids=[k[1] for k in KINDS])
async def test_codex_tool_loop_on_each_account_kind(
    codex, watched, tmp_path, fake_cls, provider, model
):
    """Codex writes the file through an Anthropic, an OpenAI (Responses) and a Gemini account."""
    started: list = []
    try:
        fake = await start(fake_cls, provider, started, tool=CODEX_TOOL)
        result = await codex_session(
            codex, watched, tmp_path, [account(provider, provider, fake.url)], model
        )
        check_done(*result, started)
        assert fake.tool_calls_sent == 1 and any(s.startswith("final") for s in fake.seen)
        if provider == "openai":  # a Codex model: relayed to /responses, not translated
            assert {r.path for r in fake.requests} == {"/v1/responses"}
    finally:
        for fake in started:
            await fake.close()


async def test_codex_never_sees_the_first_accounts_429(codex, watched, tmp_path):
    """Two Claude accounts, the first rate limited: Codex finishes on the second, unaware."""
    started: list = []
    try:
        first = await start(AgentAnthropic, "first", started, tool=CODEX_TOOL)
        second = await start(AgentAnthropic, "second", started, tool=CODEX_TOOL)
        first.always = Error(429, "rate limited", headers={"retry-after": "60"})
        accounts = [
            account("first", "anthropic", first.url, priority=10),
            account("second", "anthropic", second.url),
        ]
        result = await codex_session(
            codex,
            watched,
            tmp_path,
            accounts,
            "claude-sonnet-4-5",
            server={"strategy": "fill-first"},
        )
        check_done(*result, started)
        assert len(first.requests) >= 1
        assert second.tool_calls_sent == 1 and any(s.startswith("final") for s in second.seen)
    finally:
        for fake in started:
            await fake.close()


@pytest.mark.parametrize("model", ["gemini-2.5-pro", "claude-sonnet-4-5"])
async def test_codex_on_vertex(codex, watched, tmp_path, fake_google_token, model):
    """Codex on a Vertex project reached with a Google login: Gemini and Claude models."""
    from tests.google.support import vertex_account

    vertex = await start_vertex(fake_google_token, CODEX_TOOL)
    try:
        login = fake_google_token.authorized_user()
        accounts = [vertex_account("gcp", vertex.url, login)]
        result = await codex_session(codex, watched, tmp_path, accounts, model)
        check_done(*result, [vertex.claude, vertex.gemini])
        served = vertex.gemini if model.startswith("gemini") else vertex.claude
        assert served.tool_calls_sent == 1 and any(s.startswith("final") for s in served.seen)
    finally:
        await vertex.close()


def rate_limit_snapshots(codex_dir: Path) -> list[dict]:
    """The rate limits Codex recorded in its session rollouts (`token_count` events)."""
    found = []
    for rollout in sorted((codex_dir / "sessions").rglob("rollout-*.jsonl")):
        for line in rollout.read_text().splitlines():
            payload = json.loads(line).get("payload") or {}
            if payload.get("type") == "token_count" and payload.get("rate_limits"):
                found.append(payload["rate_limits"])
    return found


async def test_codex_reads_the_serving_accounts_limits(codex, watched, tmp_path):
    """The x-codex-* headers reach Codex's own state: its rollout records the windows."""
    started: list = []
    try:
        fake = await start(AgentAnthropic, "claude", started, tool=CODEX_TOOL)
        accounts = [account("claude", "anthropic", fake.url, rpm=100, rpd=1000)]
        result = await codex_session(codex, watched, tmp_path, accounts, "claude-sonnet-4-5")
        report = check_done(*result, started)
        snapshots = rate_limit_snapshots(tmp_path / "home" / ".codex")
        assert snapshots, report
        last = snapshots[-1]
        print(json.dumps(snapshots, indent=1))
        served = len(fake.requests)  # each counted against rpm and rpd as it was sent
        assert last["primary"]["used_percent"] == served  # of 100 a minute
        assert last["primary"]["window_minutes"] == 1
        assert last["secondary"]["used_percent"] == served / 10  # of 1000 a day
        assert last["secondary"]["window_minutes"] == 1440
    finally:
        for fake in started:
            await fake.close()
