"""A relay reads no more of a body than routing needs, and forwards the rest as sent.

Claude Code's and Codex's requests are mostly history and tool schemas; the
lazy door (localgate.door.read_object) reads their top level, and a relay to
an account of the client's own dialect reads only the model, the stream flag
and the session. What it must change (an alias's model, a stream's usage
option) is written around the other members' bytes.
"""

from __future__ import annotations

import json

import pytest

from localgate import door
from tests.fakes.base import dumps as compact  # as JSON.stringify (Claude Code, Codex) writes
from tests.hardening.helpers import JSON
from tests.server.test_responses import CODEX, responses_account
from tests.support import account
from tests.translate.streams import load_json

# Members a relay may read: routing (model, stream, session) and the checks on them.
ROUTING = {"model", "stream", "max_tokens", "metadata", "prompt_cache_key", "user"}


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The members of every lazily read body the gateway asks for ("*" for whole)."""
    asked: list[str] = []
    getitem, read_whole = door.Members.__getitem__, door.Members.whole

    def spy_getitem(self, key):
        asked.append(key)
        return getitem(self, key)

    def spy_whole(self):
        asked.append("*")
        return read_whole(self)

    monkeypatch.setattr(door.Members, "__getitem__", spy_getitem)
    monkeypatch.setattr(door.Members, "whole", spy_whole)
    return asked


def claude_code() -> tuple[dict, dict]:
    """Claude Code's captured request: (headers to send, body)."""
    fixture = load_json("claude-code-2.1.197-messages-request.json")
    headers = {
        k: v
        for k, v in fixture["headers"].items()
        if k.lower() not in ("connection", "accept-encoding", "content-length")
    }
    return headers, fixture["body"]


async def test_claude_code_is_relayed_reading_only_what_routes_it(localgate, make_fake, reads):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    headers, body = claude_code()
    raw = compact(body)
    resp = await client.post("/v1/messages", data=raw, headers=headers)
    assert resp.status == 200, await resp.text()
    await resp.read()
    assert work.requests[-1].body == raw
    assert reads and set(reads) <= ROUTING, reads  # never messages, tools, system


async def test_codex_is_relayed_reading_only_what_routes_it(localgate, make_fake, reads):
    """Codex says store: false: its input is neither kept nor read (until it holds
    reasoning to sort out, which its first turn does not)."""
    oai = await make_fake("openai", "oai")
    client = await localgate([responses_account("oai", oai)])
    body = load_json(CODEX)["requests"][0]["body"]
    assert body["store"] is False and len(body["input"]) > 2
    raw = compact(body)
    resp = await client.post("/v1/responses", data=raw, headers=JSON)
    assert resp.status == 200, await resp.text()
    await resp.read()
    assert oai.requests[-1].body == raw
    assert reads and set(reads) <= ROUTING | {"store", "previous_response_id", "input"}
    assert "input" not in reads, reads


async def test_an_alias_renames_the_model_around_the_other_members_bytes(
    localgate, make_fake, reads
):
    work = await make_fake("anthropic", "work")
    client = await localgate(
        [account("work", "anthropic", work.url)],
        aliases={"claude-opus-4-8": ["claude-sonnet-4-5"]},
    )
    headers, body = claude_code()
    body = {**body, "model": "claude-opus-4-8"}
    resp = await client.post("/v1/messages", data=compact(body), headers=headers)
    assert resp.status == 200, await resp.text()
    await resp.read()
    sent = work.requests[-1].body
    assert json.loads(sent) == {**body, "model": "claude-sonnet-4-5"}
    assert sent == compact({**body, "model": "claude-sonnet-4-5"})  # every other byte kept
    assert set(reads) <= ROUTING, reads


async def test_a_stream_asked_for_its_usage_keeps_its_history_unread(localgate, make_fake, reads):
    oai = await make_fake("openai", "oai")
    client = await localgate([account("oai", "openai", oai.url)])
    history = [{"role": "user", "content": "caf\u00e9 " * 2000}]
    body = {"model": "gpt-4o", "messages": history, "stream": True}
    resp = await client.post("/v1/chat/completions", data=compact(body), headers=JSON)
    assert resp.status == 200
    await resp.read()
    sent = oai.requests[-1].body
    assert sent == compact({**body, "stream_options": {"include_usage": True}})
    assert "messages" not in reads, reads


async def test_what_a_relay_does_not_read_the_upstream_judges(localgate, make_fake):
    """A repeated key inside a tool schema goes as sent to an account of the client's
    dialect; translated, localgate reads it, and refuses it in the client's dialect."""
    ant = await make_fake("anthropic", "ant")
    oai = await make_fake("openai", "oai")
    client = await localgate(
        [account("ant", "anthropic", ant.url), account("oai", "openai", oai.url)]
    )
    tool = b'{"name":"t","input_schema":{"type":"object","type":"object"}}'
    raw = (
        b'{"model":"claude-opus-4-8","max_tokens":5,'
        b'"messages":[{"role":"user","content":"hi"}],"tools":[' + tool + b"]}"
    )
    resp = await client.post("/v1/messages", data=raw, headers=JSON)
    assert resp.status == 200
    assert ant.requests[-1].body == raw

    translated = raw.replace(b"claude-opus-4-8", b"gpt-4o")
    resp = await client.post("/v1/messages", data=translated, headers=JSON)
    error = await resp.json()
    assert resp.status == 400 and error["type"] == "error"
    assert "repeats the key 'type'" in error["error"]["message"]
    assert not oai.requests


async def test_a_key_repeated_at_the_top_is_refused_before_any_upstream(localgate, make_fake):
    ant = await make_fake("anthropic", "ant")
    client = await localgate([account("ant", "anthropic", ant.url)])
    raw = (
        b'{"model":"claude-opus-4-8","max_tokens":5,'
        b'"messages":[{"role":"user","content":"hi"}],"model":"claude-haiku-4-5"}'
    )
    resp = await client.post("/v1/messages", data=raw, headers=JSON)
    error = await resp.json()
    assert resp.status == 400 and "repeats the key 'model'" in error["error"]["message"]
    assert not ant.requests


async def test_an_operation_whose_checks_read_its_payload_reads_it_whole(
    localgate, make_fake, reads
):
    """Embeddings check every input: the body is read in one pass (a repeated key
    anywhere in it is then refused, as the strict door refuses it)."""
    oai = await make_fake("openai", "oai")
    client = await localgate([account("oai", "openai", oai.url)])
    body = {"model": "text-embedding-3-small", "input": ["a " * 5000, "b"]}
    resp = await client.post("/v1/embeddings", data=compact(body), headers=JSON)
    assert resp.status == 200
    assert oai.requests[-1].body == compact(body)
    assert reads == []  # no member read one by one
    raw = compact(body)[:-1] + b',"extra":{"a":1,"a":2}}'
    resp = await client.post("/v1/embeddings", data=raw, headers=JSON)
    assert resp.status == 400 and "repeats the key 'a'" in (await resp.text())
    assert len(oai.requests) == 1


@pytest.mark.parametrize(
    "members,message",
    [
        (
            b'"max_tokens":5,"messages":{"role":"user"}',
            "messages: expected an array, got an object",
        ),
        (
            b'"max_tokens":5,"messages":[],"stream":"yes"',
            "stream: expected a boolean, got a string",
        ),
        (b'"messages":[],"max_tokens":"5"', "max_tokens: expected an integer, got a string"),
    ],
)
async def test_a_member_of_the_wrong_type_is_named_in_jsons_words(
    localgate, make_fake, members, message
):
    ant = await make_fake("anthropic", "ant")
    client = await localgate([account("ant", "anthropic", ant.url)])
    raw = b'{"model":"claude-opus-4-8",' + members + b"}"
    resp = await client.post("/v1/messages", data=raw, headers=JSON)
    error = await resp.json()
    assert resp.status == 400 and error["error"]["message"] == message, error
    assert not ant.requests
