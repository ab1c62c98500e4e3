"""Secrets never leave: not in logs (debug level too), responses, errors, /health,
`config show`, or any file localgate writes (the keyring file aside)."""

from __future__ import annotations

import io
import logging

import pytest
from click.testing import CliRunner

from localgate.proxytoken import rotate_proxy_token
from tests.fakes import Cut, Error, Garbage, Hang, Reply
from tests.hardening.helpers import ANTHROPIC_KEY, COMPLETIONS, MESSAGES, OPENAI_KEY
from tests.support import account, logger_to, write_config


def fragments(secret: str) -> list[str]:
    """The secret and the parts of it that would betray it (no common prefixes)."""
    tail = secret[-16:]
    return [secret, tail, secret[8:24]]


async def run_traffic(aiohttp_client, config_path, make_fake, upstream_401_message):
    """Serve a mix of good and failing requests; returns (everything seen, token)."""
    from localgate.config import load_config
    from localgate.events import Events
    from localgate.requestlog import RequestLog
    from localgate.server.app import create_app

    token = rotate_proxy_token()
    ant = await make_fake("anthropic", "ant")
    oai = await make_fake("openai", "oai")
    bad = await make_fake("openai", "bad")
    write_config(
        config_path,
        [
            account("ant", "anthropic", ant.url, key=ANTHROPIC_KEY),
            account("oai", "openai", oai.url, key=OPENAI_KEY),
            account("bad", "openai", bad.url, key=OPENAI_KEY + "-bad", priority=5),
        ],
        server={"strategy": "fill-first", "max_wait": 0},
    )
    bad.default = Error(401, upstream_401_message(OPENAI_KEY + "-bad"))
    printed = io.StringIO()
    events = Events()
    events.subscribe(RequestLog(logger_to(printed)))
    client = await aiohttp_client(create_app(load_config(config_path), events=events))
    seen: list[str] = []
    auth = {"x-api-key": token}

    async def call(method, path, **kwargs):
        resp = await client.request(method, path, **kwargs)
        seen.append(str(dict(resp.headers)))
        seen.append((await resp.read()).decode("utf-8", "replace"))
        return resp

    await call("POST", MESSAGES.path, json=MESSAGES.body, headers=auth)
    await call("POST", MESSAGES.path, json=MESSAGES.stream_body, headers=auth)
    await call("POST", COMPLETIONS.path, json=COMPLETIONS.body, headers=auth)  # bad → 401 → oai
    ant.script(Error(500, "boom"), Garbage(), Cut(after_events=2), Hang())
    await call("POST", MESSAGES.path, json=MESSAGES.body, headers=auth)
    await call("POST", MESSAGES.path, json=MESSAGES.stream_body, headers=auth)
    # Wrong proxy tokens, including an account key sent as one.
    for wrong in (ANTHROPIC_KEY, token + "x", ""):
        await call("POST", MESSAGES.path, json=MESSAGES.body, headers={"x-api-key": wrong})
    await call("POST", COMPLETIONS.path, json={"model": 1}, headers=auth)
    for path in ("/health", "/account-limits", "/account-limits?format=table", "/v1/models"):
        await call("GET", path, headers=auth)
    ant.default = Reply()
    seen.append(printed.getvalue())
    return seen, token


@pytest.mark.parametrize(
    "upstream_401_message",
    [
        lambda key: "invalid x-api-key",
        lambda key: f"Incorrect API key provided: {key}.",
        lambda key: f"Incorrect API key provided: {key[:12]}****{key[-16:]}.",
    ],
    ids=["plain-401", "upstream-echoes-the-key", "upstream-echoes-pieces"],
)
async def test_secrets_never_appear(
    aiohttp_client, config_path, make_fake, caplog, capsys, isolated, upstream_401_message
):
    caplog.set_level(logging.DEBUG)
    seen, token = await run_traffic(aiohttp_client, config_path, make_fake, upstream_401_message)
    config_show = CliRunner().invoke(
        __import__("localgate.cli", fromlist=["main"]).main,
        ["--config", str(config_path), "config", "show"],
    )
    assert config_show.exit_code == 0, config_show.output
    seen.append(config_show.output)
    out, err = capsys.readouterr()
    seen += [out, err, caplog.text]
    for record in caplog.records:
        seen.append(record.getMessage())
        if record.exc_text:
            seen.append(record.exc_text)
    keyring_files = {p for p in isolated.rglob("*") if "keyring" in p.name}
    for path in isolated.rglob("*"):
        if path.is_file() and path not in keyring_files:
            seen.append(path.read_text("utf-8", "replace"))
    seen.append(config_path.read_text())
    everything = "\n".join(seen)
    assert "Hello from" in everything  # the traffic really ran
    for secret in (ANTHROPIC_KEY, OPENAI_KEY, OPENAI_KEY + "-bad", token):
        for fragment in fragments(secret):
            assert fragment not in everything, f"a piece of a secret leaked: {fragment[:6]}…"


def test_files_localgate_writes_are_private(config_path):
    from localgate.cli.config_file import ConfigFile

    path = config_path.parent / "private" / "config.toml"
    config = ConfigFile.load(path)
    config.put_account({"name": "work", "provider": "anthropic"})
    config.save()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error":{"message":"bad key sk-ant-KEY0123456789xyz."}}', b"bad key [redacted]."),
        (b"key sk-ant-KEY0****456789xyz!", b"key [redacted]****[redacted]!"),  # pieces
        (b"key=sk-ant-KEY0123456789xyz-old", b"key=[redacted]"),  # the key inside a longer run
        (b"in xx0123456789xyz.", b"in [redacted]."),  # a piece of it inside a longer run
        (b"invalid x-api-key (sk-ant)", b"invalid x-api-key (sk-ant)"),  # short: nothing betrayed
        (b"Please try again in 7s; authentication_error", None),
    ],
)
def test_redact_masks_the_accounts_own_secret(body, expected):
    from localgate.dialects.common import redact

    out = redact(body, "sk-ant-KEY0123456789xyz")
    assert (expected or body) in out
    assert b"KEY0123456789xyz" not in out and b"456789xyz" not in out


async def test_a_relayed_client_error_never_echoes_the_key(localgate, make_fake):
    """A 400 goes back to the client as the upstream sent it, less the key."""
    fake = await make_fake("anthropic", "ant")
    client = await localgate([account("ant", "anthropic", fake.url, key=ANTHROPIC_KEY)])
    fake.script(Error(400, f"your key {ANTHROPIC_KEY} may not ask for that"))
    resp = await client.post(MESSAGES.path, json=MESSAGES.body)
    text = await resp.text()
    assert resp.status == 400 and "[redacted]" in text, text
    for fragment in fragments(ANTHROPIC_KEY):
        assert fragment not in text
    # Translated: the message is carried into the client's dialect, masked too.
    fake.script(Error(400, f"your key {ANTHROPIC_KEY} may not ask for that"))
    resp = await client.post(
        COMPLETIONS.path, json={**COMPLETIONS.body, "model": MESSAGES.body["model"]}
    )
    text = await resp.text()
    assert resp.status == 400 and "[redacted]" in text, text
    assert ANTHROPIC_KEY[-16:] not in text
