"""What the CLI says when the daemon answers badly; tables readable at 80 and 100 columns."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localgate.cli.daemon import DaemonLocation, account_states, ask_daemon
from localgate.ledger import LedgerStore, ledger_path
from localgate.ledger.store import POOL_STATE, REQUEST_COLUMNS
from tests.limits.live import free_port
from tests.support import account, write_config


@contextmanager
def http_serving(answer) -> Iterator[int]:
    """A daemon stand-in on 127.0.0.1 whose every GET is answered by `answer(handler)`
    (a BaseHTTPRequestHandler); yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            try:
                answer(self)
            except OSError:  # the CLI hung up
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def http_answering(status: int, body: bytes = b'{"error": "no"}'):
    """A daemon stand-in that answers every GET with `status`."""

    def answer(handler):
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return http_serving(answer)


@contextmanager
def raw_listener(reply: bytes | None) -> Iterator[int]:
    """Accepts connections; sends `reply` and closes, or (None) never says anything."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()
    held = []

    def serve():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            if reply is None:
                held.append(conn)
            else:
                conn.recv(4096)
                conn.sendall(reply)
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        sock.close()


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}/account-limits"


def test_words_for_each_way_the_daemon_can_fail():
    with http_answering(401) as port:
        assert ask_daemon(url(port))[1] == (
            "answered 401 (is a proxy token set? `localgate token status`)"
        )
    with http_answering(500) as port:
        assert ask_daemon(url(port))[1] == "answered 500"
    with raw_listener(None) as port:
        assert ask_daemon(url(port), timeout=0.2)[1] == "not answering (timed out)"
    with raw_listener(b"SSH-2.0-OpenSSH_9.6\r\n") as port:
        assert ask_daemon(url(port))[1] == "answered something that is not HTTP"
    assert ask_daemon(url(free_port()))[1].startswith("not running")


def test_an_answer_dripping_a_byte_at_a_time_is_given_up_on():
    """Each byte comes within the socket timeout, the whole answer long after it: the
    timeout bounds the exchange, not each read."""
    body = json.dumps({"accounts": [], "pad": "x" * 60}).encode()
    finished = threading.Event()

    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for i in range(len(body)):  # ~4 s in all, 0.05 s a byte
            if finished.wait(0.05):
                return
            handler.wfile.write(body[i : i + 1])
            handler.wfile.flush()

    with http_serving(drip) as port:
        try:
            answer, problem = ask_daemon(url(port), timeout=0.5)
        finally:
            finished.set()  # the drip stops: the server can shut down
    assert (answer, problem) == (None, "not answering (timed out)")


@pytest.mark.parametrize("declared", [True, False], ids=["length", "until-close"])
def test_an_endless_answer_is_not_read_whole(declared):
    # Something else on the port (or a --url pointing elsewhere) answering without end.
    import tracemalloc

    flood = 64 << 20

    def endless(handler):
        handler.send_response(200)
        if declared:
            handler.send_header("Content-Length", str(flood))
        handler.end_headers()
        handler.wfile.write(b'{"accounts": "')
        for _ in range(flood >> 16):
            handler.wfile.write(b"x" * 65536)

    with http_serving(endless) as port:
        tracemalloc.start()
        try:
            answer, problem = ask_daemon(url(port), timeout=5.0)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert answer is None and problem == "answered with more than 16 MB: is it localgate?"
    assert peak < 40 << 20, f"held {peak >> 20} MB"


def test_account_states_keeps_the_reason():
    with http_answering(401) as port:
        states, problem = account_states(DaemonLocation(f"http://127.0.0.1:{port}", "--url"))
    assert states is None and problem.startswith("answered 401")


def write_accounts(config_path, port: int) -> None:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    write_config(
        config_path, [account("work", "anthropic", "http://127.0.0.1:9")], server={"port": port}
    )


def test_accounts_list_says_what_the_daemon_answered(cli, config_path):
    with http_answering(401) as port:
        write_accounts(config_path, port)
        result = cli("accounts", "list")
    assert result.exit_code == 0, result.output
    assert "not running" not in result.output
    assert "answered 401" in result.output and "localgate token status" in result.output


def test_models_grammar(cli, config_path):
    with http_answering(500) as port:
        write_accounts(config_path, port)
        result = cli("models")
    assert result.exit_code == 0, result.output
    assert "localgate is it" not in result.output
    assert f"localgate at http://127.0.0.1:{port}/v1/models answered 500" in result.output


def test_limits_says_the_daemon_answered_then_shows_the_ledger(cli, config_path):
    with http_answering(500) as port:
        write_accounts(config_path, port)
        result = cli("limits")
    assert result.exit_code == 0, result.output
    assert "answered 500" in result.output
    assert "not running" not in result.output
    assert "1 accounts: 1 ok" in result.output


def test_limits_when_the_daemon_does_not_speak_http(cli, config_path):
    with raw_listener(b"SSH-2.0-OpenSSH_9.6\r\n") as port:
        write_accounts(config_path, port)
        result = cli("limits", "--json")
    assert result.exit_code == 0, result.output
    assert "not HTTP" in result.stderr
    assert json.loads(result.stdout)["daemon"] is False


@pytest.mark.parametrize("since", ["0001-01-01", "99999999999w", "9" * 400 + "d"])
def test_usage_since_far_back(cli, config_path, since):
    write_accounts(config_path, free_port())
    fill_ledger(config_path)
    result = cli("usage", "--since", since, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["since"] == "1970-01-01T00:00:00Z" and report["total"]["requests"] == 3
    result = cli("usage", "--since", since)
    assert result.exit_code == 0 and "usage since 1970-01-01" in result.output


# -- tables at ordinary widths -----------------------------------------------


def fill_ledger(config_path) -> None:
    from localgate.config import load_config

    config = load_config(config_path)
    now = time.time()
    store = LedgerStore.open(ledger_path(config.state_dir))
    try:
        rows = []
        for i in range(3):
            values = dict.fromkeys(REQUEST_COLUMNS)
            values.update(ts=now - i, account="personal-long-name", model="claude-opus-4-8")
            values.update(status=200, client_gone=0, input_tokens=312_345_678)
            values.update(output_tokens=3_456_789, cache_read_tokens=987_654_321)
            values.update(cache_creation_tokens=12_345_678)
            rows.append(tuple(values[c] for c in REQUEST_COLUMNS))
        state = {
            "version": 1,
            "accounts": {
                "work": {
                    "revision": "None",
                    "invalid": None,
                    "cooldowns": [
                        {
                            "model": "claude-opus-4-8",
                            "until": now + 3000,
                            "reason": "429 rate limited: your organisation is over its quota",
                            "streak": 1,
                        }
                    ],
                }
            },
        }
        store.write(
            rows,
            [("work", "claude-opus-4-8", "input-tokens", 2_000_000, 1_234_567, now + 50, now)],
            (POOL_STATE, json.dumps(state), now),
        )
    finally:
        store.close()


def two_accounts(config_path) -> None:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    write_config(
        config_path,
        [
            account("work", "anthropic", "http://127.0.0.1:9", rpm=1000, tpm=2_000_000),
            account("personal-long-name", "anthropic", "http://127.0.0.1:9"),
        ],
        server={"port": free_port()},
    )


def test_limits_at_100_columns_keeps_state_figures_and_detail(cli, config_path):
    two_accounts(config_path)
    fill_ledger(config_path)
    result = cli("limits", env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "work: claude-opus-4-8 back in" in out  # the detail, on its own line
    assert "cooling" in out and "cooli…" not in out
    assert "rpm 0/1k" in out and "tpm 0/2M" in out and "3.9G" in out
    assert "organisation" in out and "quota" in out  # the detail wraps, whole
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize("columns", ["80", "100"])
def test_usage_numbers_stay_whole(cli, config_path, columns):
    two_accounts(config_path)
    fill_ledger(config_path)
    result = cli("usage", env={"COLUMNS": columns, "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for number in ("937M", "10.4M", "3G", "3.9G"):
        assert number in result.output
