"""`serve` binds its socket itself: port 0 reports the port picked; a taken port says what to do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from localgate.errors import CannotListen
from localgate.server import listen


def test_taken_port_names_the_fix():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen) as caught:
            listen("127.0.0.1", port)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "Address already in use" in message
    assert "--port" in message


def test_port_zero_announces_the_port_it_listens_on(tmp_path):
    config = tmp_path / "config.toml"
    env = {**os.environ, "LOCALGATE_CONFIG": str(config)}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "localgate", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        line = daemon.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        assert port != 0
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert conn.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        daemon.terminate()
        daemon.wait(timeout=15)
