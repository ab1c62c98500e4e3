"""Test isolation for every test: temp XDG dirs, a file keyring in tmp, no real config.

Nothing a test does may reach the user's real keyring, config or the network.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

pytest_plugins = ["tests.fakes.plugin", "tests.support"]

# No per-example deadline for @given tests: on a shared machine one slow example is
# noise, not a bug. On top of the active profile ("ci" when CI is set), so CI keeps its.
settings.register_profile("localgate", settings(), deadline=None)
settings.load_profile("localgate")

# Variables a developer's shell may carry that would leak into tests.
LEAKY_ENV = (
    "LOCALGATE_CONFIG",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """Every test gets its own XDG dirs and a plaintext keyring inside them."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    home = tmp_path_factory.mktemp("home")
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(home / name.lower()))
    for name in LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    previous = keyring.get_keyring()
    # Created after XDG_DATA_HOME moved, so its file lives in this test's home,
    # the same file a `localgate` subprocess with the variable above would use.
    keyring.set_keyring(PlaintextKeyring())
    yield home
    keyring.set_keyring(previous)
