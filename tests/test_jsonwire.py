"""JSON written on the request path: fast, compact, and exact for what orjson refuses."""

from __future__ import annotations

import json

from localgate import jsonwire
from tests.support import account

BIG = 2**70  # beyond orjson's 64 bits; the door keeps it an exact int


def test_compact_utf8_as_the_sdks_write_it():
    value = {"a": [1, 2.5, None, True], "text": "caf\u00e9 \U0001f600 \n"}
    assert (
        jsonwire.dumps(value)
        == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    )


def test_integers_beyond_64_bits_are_written_exactly():
    assert jsonwire.dumps({"n": BIG, "m": [-BIG]}) == f'{{"n":{BIG},"m":[{-BIG}]}}'.encode()


async def test_a_translated_request_keeps_a_huge_integer_exact(localgate, make_fake):
    """A tool call's input with a 22-digit id, translated Anthropic -> Gemini (whose
    functionCall args are an object, not a string)."""
    up = await make_fake("gemini", "up")
    client = await localgate(
        [account("up", "gemini", up.url)], aliases={"claude-x": ["gemini-2.5-flash"]}
    )
    body = (
        '{"model":"claude-x","max_tokens":20,"messages":['
        '{"role":"user","content":"look it up"},'
        '{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"find",'
        f'"input":{{"id":{BIG}}}}}]}},'
        '{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}'
        '],"tools":[{"name":"find","input_schema":{"type":"object"}}]}'
    )
    resp = await client.post(
        "/v1/messages", data=body, headers={"content-type": "application/json"}
    )
    assert resp.status == 200, await resp.text()
    sent = up.requests[-1]
    assert f'"id":{BIG}'.encode() in sent.body
    call = sent.json["contents"][1]["parts"][0]["functionCall"]
    assert call["args"] == {"id": BIG}
