"""An upstream error event inside a stream that echoes the key is masked, like non-stream errors."""

from __future__ import annotations

import pytest

from tests.fakes import Cut, Error
from tests.hardening.helpers import ANTHROPIC_KEY, CHAT, OPENAI_KEY, start

CASES = [
    # (fake index, client path, model, key): same dialect, then translated both ways
    (0, "/v1/messages", "claude-opus-4-8", ANTHROPIC_KEY),
    (1, "/v1/chat/completions", "gpt-4o", OPENAI_KEY),
    (0, "/v1/chat/completions", "claude-opus-4-8", ANTHROPIC_KEY),
    (1, "/v1/messages", "gpt-4o", OPENAI_KEY),
]


@pytest.mark.parametrize("index,path,model,key", CASES, ids=[c[1] + ":" + c[2] for c in CASES])
async def test_key_echoed_in_a_stream_error_is_masked(
    localgate, make_fake, index, path, model, key
):
    client, fakes = await start(localgate, make_fake)
    echo = Error(status=401, message=f"Incorrect API key provided: {key}. Check it.")
    # After content (an Anthropic stream's 4th event is its first text delta): an error
    # event before any content fails over unseen instead (gateway head hold-back).
    fakes[index].script(Cut(after_events=4, error=echo))
    body = {"model": model, "max_tokens": 10, "messages": CHAT, "stream": True}
    resp = await client.post(path, json=body)
    assert resp.status == 200
    text = await resp.read()
    assert b"Incorrect API key provided" in text, text[-400:]  # the error did reach the client
    assert key.encode() not in text and key[8:24].encode() not in text, text[-400:]
    assert b"[redacted]" in text
