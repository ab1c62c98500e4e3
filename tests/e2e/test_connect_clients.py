"""`localgate connect`, then the real client, with no other setting, through a real daemon.

A fresh HOME per test: `localgate start` runs the daemon (port 0, found by its
runtime file), `localgate connect CLIENT --yes` writes the client's own config
there, and the client runs one prompt. The environment carries HOME and PATH
and switches off the clients' telemetry and update checks — nothing that
points them anywhere: what makes them talk to localgate is the file connect
wrote.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.e2e.agents import client_env, run_cli
from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, Reply
from tests.support import account, write_config

ANSWER = "Hello through localgate."


@pytest.fixture
async def home(tmp_path, config_path):
    """A fresh HOME; a daemon started with `localgate start`, stopped after the test."""
    home = tmp_path / "home"
    home.mkdir()
    base = {**os.environ, "LOCALGATE_CONFIG": str(config_path)}

    async def localgate(*args: str, **extra: str) -> str:
        code, out, err = await run_cli(
            sys.executable, "-m", "localgate", *args, env={**base, "HOME": str(home), **extra}
        )
        assert code == 0, out + err
        return out

    yield home, localgate
    await run_cli(sys.executable, "-m", "localgate", "stop", env=base)


async def test_claude_code_after_connect(claude_code, home, config_path):
    home_dir, localgate = home
    fake = FakeAnthropic(name="work")
    fake.default = Reply(text=ANSWER)
    await fake.start()
    try:
        write_config(config_path, [account("work", "anthropic", fake.url)])
        await localgate("start", "--port", "0")
        said = await localgate("connect", "claude-code", "--yes")
        assert (home_dir / ".claude" / "settings.json").exists(), said
        env = client_env(
            home_dir,
            DISABLE_AUTOUPDATER="1",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_TELEMETRY="1",
            DISABLE_ERROR_REPORTING="1",
        )
        work = home_dir / "work"
        work.mkdir()
        code, out, err = await run_cli(str(claude_code), "-p", "Say hello.", env=env, cwd=work)
        assert code == 0 and ANSWER in out, f"{out}\n{err}\nupstream saw {len(fake.requests)}"
        assert fake.requests, "Claude Code did not reach the fake upstream through localgate"
        # The fake saw the account's own key, never the client's placeholder.
        assert all(r.headers.get("x-api-key") == "sk-test-work-secret" for r in fake.requests)
    finally:
        await fake.close()


async def test_gemini_cli_after_connect(gemini_cli, home, config_path):
    home_dir, localgate = home
    fake = FakeGemini(name="gem")
    fake.default = Reply(text=ANSWER)
    await fake.start()
    try:
        write_config(config_path, [account("gem", "gemini", fake.url)])
        # The user's own settings (no telemetry, no update check) stay as they are.
        own = {
            "privacy": {"usageStatisticsEnabled": False},
            "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        }
        (home_dir / ".gemini").mkdir()
        (home_dir / ".gemini" / "settings.json").write_text(json.dumps(own))
        await localgate("start", "--port", "0")
        await localgate("connect", "gemini-cli", "--yes")
        settings = json.loads((home_dir / ".gemini" / "settings.json").read_text())
        assert settings["privacy"] == own["privacy"]
        assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"
        env = client_env(home_dir, GEMINI_CLI_TRUST_WORKSPACE="true")
        work = home_dir / "work"
        work.mkdir()
        code, out, err = await run_cli(
            str(gemini_cli), "--yolo", "-p", "Say hello.", env=env, cwd=work
        )
        assert code == 0 and ANSWER in out, f"{out}\n{err}\nupstream saw {len(fake.requests)}"
        assert any(":streamGenerateContent" in r.path or ":generateContent" in r.path
                   for r in fake.requests)  # fmt: skip
        assert all(r.headers.get("x-goog-api-key") == "sk-test-gem-secret" for r in fake.requests)
    finally:
        await fake.close()


async def test_codex_after_connect(codex, home, config_path):
    """Codex's own default model (a gpt-* name) on an OpenAI account, no -m, no env."""
    home_dir, localgate = home
    fake = FakeOpenAI(name="oai")
    fake.default = Reply(text=ANSWER)
    await fake.start()
    try:
        write_config(config_path, [account("oai", "openai", fake.url)])
        await localgate("start", "--port", "0")
        await localgate("connect", "codex", "--yes")
        env = client_env(home_dir, RUST_LOG="error")
        work = home_dir / "work"
        work.mkdir()
        code, out, err = await run_cli(
            str(codex), "exec", "--skip-git-repo-check", "Say hello.", env=env, cwd=work
        )
        assert code == 0 and ANSWER in out + err, f"{out}\n{err}\nupstream saw {fake.requests}"
        assert all(
            r.headers.get("authorization") == "Bearer sk-test-oai-secret" for r in fake.requests
        )
    finally:
        await fake.close()


async def test_codex_after_connect_with_a_claude_account_only(codex, home, config_path):
    """The newcomer's case: one Claude account, `connect codex --model claude-sonnet-4-5`,
    then plain `codex exec` — no -m, no other setting."""
    home_dir, localgate = home
    fake = FakeAnthropic(name="claude")
    fake.default = Reply(text=ANSWER)
    await fake.start()
    try:
        write_config(config_path, [account("claude", "anthropic", fake.url)])
        await localgate("start", "--port", "0")
        await localgate("connect", "codex", "--yes", "--model", "claude-sonnet-4-5")
        work = home_dir / "work"
        work.mkdir()
        env = client_env(home_dir, RUST_LOG="error")
        code, out, err = await run_cli(
            str(codex), "exec", "--skip-git-repo-check", "Say hello.", env=env, cwd=work
        )
        assert code == 0 and ANSWER in out + err, f"{out}\n{err}\nupstream saw {fake.requests}"
        assert {r.json["model"] for r in fake.requests} == {"claude-sonnet-4-5"}
    finally:
        await fake.close()
