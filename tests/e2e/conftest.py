"""Fixtures for end-to-end runs: the real client CLIs, and a watched localgate.

Claude Code, Codex CLI and Gemini CLI are installed once each with npm into a cache dir
outside the repo, and reused when present. Without npm, or when an install
fails, the tests skip with the reason — except under CI (`CI` set), where the
CLIs must run: a skip there would hide a broken gateway behind a green build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from tests.support import write_config

INSTALL_TIMEOUT = 600  # seconds; a cold npm install downloads a native binary of ~200 MB


def cli_dir(name: str) -> Path:
    """Where a CLI is installed: $LOCALGATE_TEST_CACHE or ~/.cache/localgate-tests, per CLI."""
    root = os.environ.get("LOCALGATE_TEST_CACHE") or Path.home() / ".cache" / "localgate-tests"
    return Path(root) / name


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"a client CLI is required in CI: {reason}")
    pytest.skip(reason)


def _works(binary: Path, banner: str) -> bool:
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and banner in done.stdout


def npm_cli(name: str, package: str, binary_name: str, banner: str) -> Path:
    """The path of a working CLI from npm `package` (installed on first use)."""
    prefix = cli_dir(name)
    binary = prefix / "node_modules" / ".bin" / binary_name
    if binary.exists() and _works(binary, banner):
        return binary
    npm = shutil.which("npm")
    if npm is None:
        _unavailable(f"npm is not installed, so {package} cannot be installed")
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", package],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"`npm install {package}` took over {INSTALL_TIMEOUT}s")
    if done.returncode != 0:
        _unavailable(f"`npm install {package}` failed: {done.stderr.strip()[-500:]}")
    if not _works(binary, banner):
        _unavailable(f"{binary} was installed but `{binary_name} --version` does not run")
    return binary


@pytest.fixture(scope="session")
def claude_code() -> Path:
    """The path of a working `claude` executable (installed on first use)."""
    return npm_cli("claude-code", "@anthropic-ai/claude-code", "claude", "Claude Code")


@pytest.fixture(scope="session")
def codex() -> Path:
    """The path of a working `codex` executable (installed on first use)."""
    return npm_cli("codex", "@openai/codex", "codex", "codex-cli")


@pytest.fixture(scope="session")
def gemini_cli() -> Path:
    """The path of a working `gemini` executable (installed on first use)."""
    # Its --version prints the bare version number: any output will do.
    return npm_cli("gemini-cli", "@google/gemini-cli", "gemini", "")


# -- localgate, watched: what a client sent, in brief ------------------------------

CLIENT_HEADERS = ("user-agent", "anthropic-version", "anthropic-beta", "x-app", "accept")


def _summary(request: web.Request, raw: bytes) -> dict:
    """One client request, in brief: route, telling headers, the shape of the body."""
    seen: dict = {"route": f"{request.method} {request.path_qs}"}
    seen.update({h: request.headers[h] for h in CLIENT_HEADERS if h in request.headers})
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        messages = body.get("messages") or []
        seen["body"] = {
            "model": body.get("model"),
            "stream": body.get("stream"),
            "max_tokens": body.get("max_tokens"),
            "tools": len(body.get("tools") or []),
            "messages": len(messages),
            "system_role_messages": sum(1 for m in messages if m.get("role") == "system"),
            "fields": sorted(set(body) - {"messages", "tools", "system"}),
            "thinking": body.get("thinking"),
            "assistant_blocks": [
                _block(b)
                for m in messages
                if m.get("role") == "assistant" and isinstance(m.get("content"), list)
                for b in m["content"]
            ],
        }
    return seen


def _block(block: dict) -> str:
    """`type` of a content block, `+sig` when it carries a non-empty signature."""
    return block.get("type", "?") + ("+sig" if block.get("signature") else "")


@pytest.fixture
async def watched(aiohttp_client, config_path):
    """Like `localgate`, plus `(client, requests seen, gateway records)` for each start."""
    from localgate.config import load_config
    from localgate.server.app import GATEWAY, create_app

    async def start(accounts: list[dict], **tables):
        write_config(config_path, accounts, **tables)
        app = create_app(load_config(config_path))
        seen: list[dict] = []

        @web.middleware
        async def record(request: web.Request, handler):
            # aiohttp keeps the body once read, so the handler reads it again for free.
            seen.append(_summary(request, await request.read()))
            return await handler(request)

        app.middlewares.append(record)
        client = await aiohttp_client(app, server_kwargs={"handler_cancellation": True})
        done: list = []
        client.app[GATEWAY].events.subscribe(done.append)
        return client, seen, done

    return start
