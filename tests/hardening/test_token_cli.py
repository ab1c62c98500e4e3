"""`localgate token rotate | status | clear`: printed once, never shown again."""

from __future__ import annotations

from click.testing import CliRunner

from localgate.cli import main
from localgate.proxytoken import PROXY_TOKEN_USER, load_proxy_token


def invoke(*args):
    return CliRunner().invoke(main, ["token", *args])


def test_rotate_prints_once_and_stores():
    result = invoke("rotate")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("lg-") and len(token) > 40
    assert load_proxy_token() == token
    again = invoke("rotate").stdout.strip()
    assert again != token and load_proxy_token() == again


def test_status_never_shows_the_token():
    assert "no proxy token" in invoke("status").output
    token = invoke("rotate").stdout.strip()
    status = invoke("status")
    assert "is set" in status.output and token not in status.output


def test_clear():
    invoke("rotate")
    assert invoke("clear").exit_code == 0
    assert load_proxy_token() is None
    assert invoke("clear").exit_code == 0  # clearing twice is fine


def test_no_keyring_names_the_fix(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    result = invoke("rotate")
    assert result.exit_code == 1
    assert "keyrings.alt" in result.output


def test_the_token_cannot_collide_with_an_account(config_path):
    from localgate.config import ACCOUNT_NAME_RE

    assert not ACCOUNT_NAME_RE.match(PROXY_TOKEN_USER)
