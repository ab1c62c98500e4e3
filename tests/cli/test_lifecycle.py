"""`localgate start | stop | restart | status | logs` with real daemons in subprocesses.

Each test has its own XDG dirs (tests/conftest.py), so its daemon has its own
state dir, runtime file and log.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from localgate.config import default_state_dir
from localgate.runtime import LOG_FILE, RUNTIME_FILE
from tests.support import account, write_config

TIMEOUT = 60


def localgate(*args: str, env: dict | None = None, check: bool = False):
    """Run the real `localgate` CLI in a subprocess; the CompletedProcess."""
    done = subprocess.run(
        [sys.executable, "-m", "localgate", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture
def daemon_config(tmp_path, monkeypatch, make_fake):
    """A config with one Anthropic account on a fake; LOCALGATE_CONFIG names it."""

    async def make():
        fake = await make_fake("anthropic", "work")
        path = tmp_path / "config.toml"
        write_config(path, [account("work", "anthropic", fake.url)])
        monkeypatch.setenv("LOCALGATE_CONFIG", str(path))
        return path

    return make


@pytest.fixture
def stop_after():
    """Stops the test's daemon whatever happens (by its pid from the runtime file)."""
    yield
    runtime = default_state_dir() / RUNTIME_FILE
    if runtime.exists():
        pid = json.loads(runtime.read_text())["pid"]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return response.status, dict(response.headers)


MESSAGE = {
    "model": "claude-opus-4-8",
    "max_tokens": 10,
    "messages": [{"role": "user", "content": "hi"}],
}


async def test_start_status_logs_stop(daemon_config, stop_after):
    await daemon_config()
    started = localgate("start", "--port", "0", check=True)
    assert "localgate started: http://127.0.0.1:" in started.stdout
    url = started.stdout.split("started: ")[1].split()[0]
    assert not url.endswith(":0")  # port 0 became a real port, found via the runtime file

    status = localgate("status", "--json", check=True)
    report = json.loads(status.stdout)
    assert report["running"] and report["url"] == url and report["found_by"] == "runtime file"
    assert report["states"]["ok"] == 1 and report["pid"] > 0
    text = localgate("status", check=True).stdout
    assert "localgate is running" in text and f"pid:      {report['pid']}" in text

    again = localgate("start", "--port", "0", check=True)
    assert f"already runs: {url}" in again.stdout

    # A second daemon on the same state dir is refused, naming the first.
    second = localgate("serve", "--port", "0")
    assert second.returncode != 0
    assert f"pid {report['pid']}" in second.stderr and url in second.stderr

    # In a thread: the fake upstream answers on this test's event loop.
    code, headers = await asyncio.to_thread(post, url + "/v1/messages", MESSAGE)
    assert code == 200
    for _ in range(50):  # the log thread writes within a moment
        lines = localgate("logs", "-n", "5", check=True).stdout
        if headers["x-request-id"] in lines:
            break
        time.sleep(0.1)
    assert f"{headers['x-request-id']} anthropic" in lines, lines
    assert "claude-opus-4-8 → work 200" in lines

    stopped = localgate("stop", check=True)
    assert f"stopped localgate (pid {report['pid']}" in stopped.stdout
    state_dir = default_state_dir()
    assert not (state_dir / RUNTIME_FILE).exists()
    log = (state_dir / LOG_FILE).read_text()
    assert "localgate stopped" in log
    # The tests' keyring is a plaintext file: the daemon says so at start, naming it.
    assert "WARNING account keys are kept unencrypted in " in log
    after = localgate("status")
    assert after.returncode == 3 and "not running" in after.stdout
    assert "not running" in localgate("stop", check=True).stdout


async def test_a_deleted_state_dir_is_claimed_again(daemon_config, stop_after):
    # rm -rf of the state dir under a running daemon: within a second or two it holds
    # the new dir's lock, publishes its runtime file and logs to a new log file.
    await daemon_config()
    started = localgate("start", "--port", "0", check=True)
    url = started.stdout.split("started: ")[1].split()[0]
    pid = json.loads(localgate("status", "--json", check=True).stdout)["pid"]
    try:
        shutil.rmtree(default_state_dir())
        deadline = time.monotonic() + 15
        while True:
            report = json.loads(localgate("status", "--json").stdout or "{}")
            if report.get("found_by") == "runtime file":
                break
            assert time.monotonic() < deadline, report
            time.sleep(0.2)
        assert report["running"] and report["pid"] == pid and report["url"] == url
        second = localgate("serve", "--port", "0")
        assert second.returncode != 0 and f"pid {pid}" in second.stderr
        logged = localgate("logs", "-n", "20", check=True).stdout
        assert "deleted while localgate ran" in logged, logged
        for name in (RUNTIME_FILE, "daemon.lock", LOG_FILE):
            assert str(default_state_dir() / name) in logged
        stopped = localgate("stop", check=True)
        assert f"stopped localgate (pid {pid}" in stopped.stdout
    finally:  # without its runtime file, stop_after cannot find it
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


async def test_restart_keeps_the_port_and_changes_the_pid(daemon_config, stop_after):
    await daemon_config()
    localgate("start", "--port", "0", check=True)
    first = json.loads(localgate("status", "--json", check=True).stdout)
    restarted = localgate("restart", check=True)
    second = json.loads(localgate("status", "--json", check=True).stdout)
    assert second["url"] == first["url"] and second["pid"] != first["pid"]
    assert "restarted" in restarted.stdout
    localgate("stop", check=True)


async def test_logs_follow_shows_new_lines(daemon_config, stop_after):
    await daemon_config()
    url = localgate("start", "--port", "0", check=True).stdout.split("started: ")[1].split()[0]
    log = default_state_dir() / LOG_FILE
    deadline = time.monotonic() + 20
    while not (log.exists() and log.stat().st_size):  # a last line for `-n 1` to show
        assert time.monotonic() < deadline, "the daemon wrote no log line"
        time.sleep(0.1)
    follower = subprocess.Popen(
        [sys.executable, "-m", "localgate", "logs", "-f", "-n", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    guard = threading.Timer(30, follower.terminate)  # a missing line fails, never hangs
    guard.start()
    try:
        # It prints the last line, then follows from the end: lines from now on show.
        assert await asyncio.to_thread(follower.stdout.readline)
        _, headers = await asyncio.to_thread(post, url + "/v1/messages", MESSAGE)
        deadline = time.monotonic() + 20
        line = ""
        while headers["x-request-id"] not in line and time.monotonic() < deadline:
            line = follower.stdout.readline()
        assert headers["x-request-id"] in line
    finally:
        guard.cancel()
        follower.terminate()
        follower.wait(10)
        localgate("stop", check=True)


def test_url_from_environment_or_flag_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALGATE_CONFIG", str(tmp_path / "none.toml"))
    with_env = localgate("status", "--json", env={"LOCALGATE_URL": "127.0.0.1:9/v1"})
    report = json.loads(with_env.stdout)
    assert with_env.returncode == 3
    assert report["url"] == "http://127.0.0.1:9" and report["found_by"] == "LOCALGATE_URL"
    with_flag = localgate("--url", "http://127.0.0.1:7/", "status", "--json")
    assert json.loads(with_flag.stdout)["url"] == "http://127.0.0.1:7"


def test_a_stale_runtime_file_is_not_a_daemon(tmp_path, monkeypatch):
    """A crash leaves daemon.json behind; nobody holds the lock, so nothing runs."""
    monkeypatch.setenv("LOCALGATE_CONFIG", str(tmp_path / "none.toml"))
    state = default_state_dir()
    state.mkdir(parents=True)
    stale = {"pid": os.getpid(), "url": "http://127.0.0.1:9", "started": 0, "config": "x"}
    (state / RUNTIME_FILE).write_text(json.dumps({**stale, "version": "0", "log": "x"}))
    (state / "daemon.lock").write_text("")
    done = localgate("status", "--json")
    assert done.returncode == 3 and json.loads(done.stdout)["found_by"] == "config"
    assert "not running" in localgate("stop", check=True).stdout


def test_start_reports_why_the_daemon_did_not_start(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("LOCALGATE_CONFIG", str(config))
    # Refused by the daemon itself: no proxy token for a non-loopback address.
    done = localgate("start", "--port", "0", "--host", "0.0.0.0")
    assert done.returncode != 0
    assert "the daemon did not start" in done.stderr
    assert "refusing to listen on 0.0.0.0" in done.stderr


async def test_enable_reports_after_the_daemon_reloaded(daemon_config, stop_after):
    """Enabling writes the config; the daemon reads it within a second. The command
    waits for that, so it never reports "disabled" right after enabling."""
    await daemon_config()
    assert "disabled account 'work'" in localgate("accounts", "disable", "work", check=True).stdout
    localgate("start", "--port", "0", check=True)
    try:
        enabled = localgate("accounts", "enable", "work", check=True)
        assert "enabled account 'work'" in enabled.stdout
        assert "forgot its marks on 'work': now ok" in enabled.stdout, enabled.stdout
    finally:
        localgate("stop", check=True)


async def test_serve_json_log_to_a_file_loses_nothing_at_shutdown(daemon_config, tmp_path):
    """`serve --log-format json 2> file`: one JSON object per line, and the request
    answered just before SIGTERM is in the file once the daemon has exited."""
    await daemon_config()
    stderr_file = tmp_path / "stderr.jsonl"
    port = _free_port()
    with open(stderr_file, "wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "localgate", "serve", "--port", str(port),
            "--log-format", "json",
            stdout=asyncio.subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                await asyncio.to_thread(urllib.request.urlopen, url + "/health", None, 1)
                break
            except OSError:
                await asyncio.sleep(0.1)
        ids = []
        for _ in range(5):
            _, headers = await asyncio.to_thread(post, url + "/v1/messages", MESSAGE)
            ids.append(headers["x-request-id"])
        proc.send_signal(signal.SIGTERM)  # at once: lines may still be queued
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
    entries = [json.loads(line) for line in stderr_file.read_text().splitlines()]
    requests = [e for e in entries if e.get("event") == "request"]
    assert [e["request_id"] for e in requests] == ids
    assert all(e["status"] == 200 and e["account"] == "work" for e in requests)
    assert any("stopping" in e["message"] for e in entries)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
