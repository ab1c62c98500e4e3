"""`localgate accounts add/test` for vertex accounts, through click's CliRunner."""

from __future__ import annotations

import asyncio
import io
import json
import tomllib
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from localgate.cli import main
from localgate.secrets import get_secret
from tests.google.support import service_account_info
from tests.google.test_login import NoRedirect, follow_in_a_browser


@pytest.fixture
def run(tmp_path):
    config = tmp_path / "config.toml"

    def invoke(*args: str, input=None):
        runner = CliRunner(env={"COLUMNS": "200"})
        return runner.invoke(main, ["--config", str(config), *args], input=input)

    invoke.config = config
    return invoke


def accounts_in(path) -> dict:
    return {a["name"]: a for a in tomllib.loads(path.read_text())["accounts"]}


def write_json(path, data) -> str:
    path.write_text(json.dumps(data))
    return str(path)


ADD = (
    "accounts",
    "add",
    "gcp",
    "--provider",
    "vertex",
    "--project",
    "proj",
    "--region",
    "us-east5",
)


def test_add_with_a_service_account_key(run, tmp_path, fake_google_token):
    key = write_json(tmp_path / "sa.json", service_account_info(fake_google_token))
    result = run(*ADD, "--credentials-file", key)
    assert result.exit_code == 0, result.output
    assert "as lg@proj.iam.gserviceaccount.com" in result.output
    table = accounts_in(run.config)["gcp"]
    assert table == {
        "name": "gcp",
        "provider": "vertex",
        "project": "proj",
        "region": "us-east5",
        "credentials_type": "service_account",
        "email": "lg@proj.iam.gserviceaccount.com",
    }
    assert "PRIVATE KEY" not in run.config.read_text()
    assert json.loads(get_secret("gcp"))["private_key"].startswith("-----BEGIN PRIVATE KEY")
    assert fake_google_token.refreshes == 1  # the key was proven before it was stored


def test_add_with_an_authorized_user_file(run, tmp_path, fake_google_token):
    user = write_json(tmp_path / "user.json", fake_google_token.authorized_user())
    result = run(*ADD, "--credentials-file", user)
    assert result.exit_code == 0, result.output
    table = accounts_in(run.config)["gcp"]
    assert table["credentials_type"] == "authorized_user"
    assert table["email"] == fake_google_token.email
    assert "1//fake-refresh" not in run.config.read_text()
    assert json.loads(get_secret("gcp"))["refresh_token"] == "1//fake-refresh"


def test_add_imports_gcloud_adc(run, tmp_path, monkeypatch, fake_google_token):
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    write_json(
        tmp_path / "application_default_credentials.json", fake_google_token.authorized_user()
    )
    result = run(*ADD, "--adc")
    assert result.exit_code == 0, result.output
    assert accounts_in(run.config)["gcp"]["credentials_type"] == "adc"


def test_add_refuses_a_huge_credentials_file_unread(run, tmp_path, monkeypatch):
    # The wrong file (a log, a disk image…): refused after 256 KB, not read whole.
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    with open(tmp_path / "application_default_credentials.json", "wb") as sparse:
        sparse.truncate(200 << 20)
    result = run(*ADD, "--adc")
    assert result.exit_code == 1
    assert "holds more than 256 KB" in result.output and "right file" in result.output
    assert not run.config.exists()


def test_add_refuses_a_revoked_credential_and_stores_nothing(run, tmp_path, fake_google_token):
    fake_google_token.revoked.add("1//fake-refresh")
    user = write_json(tmp_path / "user.json", fake_google_token.authorized_user())
    result = run(*ADD, "--credentials-file", user)
    assert result.exit_code == 1
    assert "does not work, nothing stored" in result.output and "invalid_grant" in result.output
    assert get_secret("gcp") is None and not run.config.exists()


class PasteWhenAsked(io.RawIOBase):
    """Standard input that, when the command reads it, pastes where the browser landed."""

    def __init__(self, attempts: list) -> None:
        self.attempts = attempts
        self.data: bytes | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.data is None:
            opener = urllib.request.build_opener(NoRedirect)
            try:
                opener.open(self.attempts[-1].url, timeout=10)
                raise AssertionError("the authorization endpoint did not redirect")
            except urllib.error.HTTPError as redirect:
                self.data = redirect.headers["location"].encode() + b"\n"
        chunk, self.data = self.data[: len(buffer)], self.data[len(buffer) :]
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.fixture
def attempts(monkeypatch):
    """Every login attempt the command starts (to follow the URL it printed)."""
    from localgate.google import login

    seen = []
    start = login.LoginAttempt.start.__func__

    def recording(cls, client, port):
        seen.append(start(cls, client, port))
        return seen[-1]

    monkeypatch.setattr(login.LoginAttempt, "start", classmethod(recording))
    return seen


def test_add_with_no_browser_and_a_pasted_url(run, tmp_path, fake_google_token, attempts):
    secrets_file = write_json(tmp_path / "client.json", fake_google_token.client_secrets())
    result = run(
        *ADD,
        "--client-secrets",
        secrets_file,
        "--no-browser",
        input=io.BufferedReader(PasteWhenAsked(attempts)),
    )
    assert result.exit_code == 0, result.output
    assert attempts[0].url in result.output  # printed for the user to open elsewhere
    table = accounts_in(run.config)["gcp"]
    assert table["credentials_type"] == "browser"
    assert table["client_secrets"] == str((tmp_path / "client.json").resolve())
    assert table["email"] == fake_google_token.email
    assert "GOCSPX" not in run.config.read_text()
    assert json.loads(get_secret("gcp"))["refresh_token"].startswith("1//browser-")

    # Logging in again needs only --replace: project, region and client are remembered.
    first = get_secret("gcp")
    refused = run("accounts", "add", "gcp", "--provider", "vertex", "--no-browser")
    assert refused.exit_code == 1 and "--replace" in refused.output
    again = run(
        "accounts", "add", "gcp", "--provider", "vertex", "--no-browser", "--replace",
        input=io.BufferedReader(PasteWhenAsked(attempts)),
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "replaced account 'gcp'" in again.output
    assert get_secret("gcp") != first


def test_add_with_the_browser(run, tmp_path, monkeypatch, fake_google_token):
    import webbrowser

    pages = []
    monkeypatch.setattr(webbrowser, "open", lambda url: follow_in_a_browser(url, pages))
    secrets_file = write_json(tmp_path / "client.json", fake_google_token.client_secrets())
    result = run(*ADD, "--client-secrets", secrets_file)
    assert result.exit_code == 0, result.output
    assert "Opening your browser" in result.output
    assert b"Login complete" in pages[0][1]
    assert accounts_in(run.config)["gcp"]["email"] == fake_google_token.email


@pytest.mark.parametrize(
    "args, message",
    [
        (("accounts", "add", "g", "--provider", "vertex", "--adc"), "--project is required"),
        (("accounts", "add", "g", "--provider", "vertex", "--project", "p"), "--client-secrets"),
        (
            (
                "accounts",
                "add",
                "g",
                "--provider",
                "vertex",
                "--project",
                "p",
                "--adc",
                "--no-browser",
            ),
            "--no-browser applies to the browser login only",
        ),
        (("accounts", "add", "g", "--provider", "vertex", "--key-stdin"), "not with a key"),
        (("accounts", "add", "g", "--provider", "openai", "--adc"), "--adc applies only to"),
        (
            (
                "accounts",
                "add",
                "g",
                "--provider",
                "vertex",
                "--project",
                "p",
                "--credentials-file",
                "/nonexistent/key.json",
            ),
            "File '/nonexistent/key.json' does not exist",
        ),
    ],
)
def test_add_refuses(run, args, message):
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert not run.config.exists()


async def test_accounts_test_for_claude_on_vertex(run, fake_vertex, fake_google_token):
    """An account serving only Claude is checked with Claude's token count, a real body."""
    from localgate.secrets import store_secret

    store_secret("gcp", json.dumps(fake_google_token.authorized_user()))
    run.config.write_text(
        f'[[accounts]]\nname = "gcp"\nprovider = "vertex"\nproject = "proj"\n'
        f'region = "us-east5"\nbase_url = "{fake_vertex.url}"\nmodels = ["claude-*"]\n'
    )
    result = await asyncio.to_thread(run, "accounts", "test", "gcp")
    assert result.exit_code == 0, result.output
    (checked,) = fake_vertex.claude.requests
    assert checked.path.endswith("/publishers/anthropic/models/count-tokens:rawPredict")
    assert checked.json["messages"] == [{"role": "user", "content": "ping"}]
    assert checked.json["model"].startswith("claude-")


async def test_accounts_test_for_vertex(run, tmp_path, fake_vertex, fake_google_token):
    from localgate.secrets import store_secret

    store_secret("gcp", json.dumps(fake_google_token.authorized_user()))
    run.config.write_text(
        f'[[accounts]]\nname = "gcp"\nprovider = "vertex"\nproject = "proj"\n'
        f'region = "us-east5"\nbase_url = "{fake_vertex.url}"\n'
    )
    # The CLI runs its own event loop: off this test's loop, which serves the fake.
    result = await asyncio.to_thread(run, "accounts", "test", "gcp")
    assert result.exit_code == 0, result.output
    assert "accepted the credentials" in result.output
    (checked,) = fake_vertex.gemini.requests
    assert checked.path.endswith("/publishers/google/models/gemini-2.5-flash:countTokens")
    # A real body: Vertex answers an empty one with 400 (and so does the fake).
    assert checked.json == {"contents": [{"role": "user", "parts": [{"text": "ping"}]}]}
    assert fake_vertex.rejected == 0

    fake_google_token.revoked.add("1//fake-refresh")
    result = await asyncio.to_thread(run, "accounts", "test", "gcp")
    assert result.exit_code == 1
    assert "log in again: localgate accounts add gcp --provider vertex" in result.output
