"""The real Claude Code CLI, installed once with npm into a cache dir outside the repo.

Reused when present. Without npm, or when the install fails, the tests skip with
the reason — except under CI (`CI` set), where Claude Code must run: a skip there
would hide a broken gateway behind a green build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGE = "@anthropic-ai/claude-code"
INSTALL_TIMEOUT = 600  # seconds; a cold npm install downloads a ~200 MB native binary


def claude_code_dir() -> Path:
    """Where the CLI is installed: $LOCALGATE_TEST_CACHE or ~/.cache/localgate-tests."""
    root = os.environ.get("LOCALGATE_TEST_CACHE") or Path.home() / ".cache" / "localgate-tests"
    return Path(root) / "claude-code"


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"Claude Code is required in CI: {reason}")
    pytest.skip(reason)


def _works(binary: Path) -> bool:
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and "Claude Code" in done.stdout


@pytest.fixture(scope="session")
def claude_code() -> Path:
    """The path of a working `claude` executable (installed on first use)."""
    prefix = claude_code_dir()
    binary = prefix / "node_modules" / ".bin" / "claude"
    if binary.exists() and _works(binary):
        return binary
    npm = shutil.which("npm")
    if npm is None:
        _unavailable(f"npm is not installed, so {PACKAGE} cannot be installed")
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", PACKAGE],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"`npm install {PACKAGE}` took over {INSTALL_TIMEOUT}s")
    if done.returncode != 0:
        _unavailable(f"`npm install {PACKAGE}` failed: {done.stderr.strip()[-500:]}")
    if not _works(binary):
        _unavailable(f"{binary} was installed but `claude --version` does not run")
    return binary
