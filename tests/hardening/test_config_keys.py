"""The [server] keys hardening added: body_timeout and shutdown_grace."""

from __future__ import annotations

import pytest

from localgate.config import load_config
from localgate.errors import ConfigError


def test_defaults(tmp_path):
    server = load_config(tmp_path / "missing.toml").server
    assert server.body_timeout == 30.0 and server.shutdown_grace == 10.0


def test_values_are_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[server]\nbody_timeout = 5\nshutdown_grace = 0\n")
    server = load_config(path).server
    assert server.body_timeout == 5.0 and server.shutdown_grace == 0.0


@pytest.mark.parametrize(
    "line, problem",
    [
        ("body_timeout = 0", "server.body_timeout: must be greater than 0"),
        ('body_timeout = "10"', "server.body_timeout: must be a number"),
        ("shutdown_grace = -1", "server.shutdown_grace: must not be negative"),
        ("shutdown_grace = true", "server.shutdown_grace: must be a number"),
    ],
)
def test_bad_values_name_the_key(tmp_path, line, problem):
    path = tmp_path / "c.toml"
    path.write_text(f"[server]\n{line}\n")
    with pytest.raises(ConfigError, match=problem):
        load_config(path)
