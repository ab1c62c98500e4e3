"""Anthropic count_tokens served by Gemini's own counter, or refused with a 404.

The official `anthropic` SDK's `messages.count_tokens` is the client; the fake
Gemini API and the fake Vertex count roughly like the real ones (~4 bytes of
prompt JSON per token), so a translated prompt that lost its system text or its
tools would be counted short.
"""

from __future__ import annotations

import json

import anthropic
import pytest

from localgate.errors import UpstreamError
from localgate.translate.count import counter
from tests.fakes import Cut, Error
from tests.google.support import vertex_account
from tests.sdks import anthropic_sdk
from tests.server.test_translated import MODELS, pool_status
from tests.support import account

SYSTEM = "You are a terse weather assistant."
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather now",
        "input_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
# A conversation with a tool round trip, as Claude Code sends it mid-session.
MESSAGES = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {
        "role": "assistant",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        ],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny"}],
    },
]
COUNT = dict(
    system=SYSTEM,
    messages=MESSAGES,
    tools=TOOLS,
    thinking={"type": "enabled", "budget_tokens": 2048},
)


def fake_count(prompt: dict) -> int:
    """What the fakes answer for these prompt fields (tests/fakes/gemini.py)."""
    counted = {k: prompt.get(k) for k in ("contents", "systemInstruction", "tools")}
    return max(1, len(json.dumps(counted, separators=(",", ":"))) // 4)


def assert_translated_prompt(prompt: dict) -> None:
    """The Anthropic prompt, in Gemini's generateContent form, and nothing but prompt."""
    assert set(prompt) == {"contents", "systemInstruction", "tools"}, prompt
    assert prompt["systemInstruction"] == {"parts": [{"text": SYSTEM}]}
    (declaration,) = prompt["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "get_weather"
    assert "$schema" not in declaration["parametersJsonSchema"]
    roles = [content["role"] for content in prompt["contents"]]
    assert roles == ["user", "model", "user"]
    assert prompt["contents"][1]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    ]
    response = prompt["contents"][2]["parts"][0]["functionResponse"]
    assert response == {"name": "get_weather", "response": {"output": "sunny"}}


# -- a Gemini API account ---------------------------------------------------------


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "claude-sonnet-4-5"], ids=["name", "alias"])
async def test_gemini_api_counts_for_an_anthropic_client(localgate, make_fake, model):
    gem = await make_fake("gemini", "gem")
    client = await localgate(
        [account("gem", "gemini", gem.url, key="AIza-gem-key")],
        aliases={"claude-*": ["gemini:gemini-2.5-flash"]},
    )
    response = await anthropic_sdk(client).messages.with_raw_response.count_tokens(
        model=model, **COUNT
    )
    counted = await response.parse()
    assert response.headers["x-localgate-account"] == "gem"
    assert response.headers["x-model-used"] == "gemini-2.5-flash"

    (sent,) = gem.requests
    assert sent.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert sent.headers["x-goog-api-key"] == "AIza-gem-key"
    # The Gemini API counts system instructions and tools only inside a
    # generateContentRequest, which names its model.
    assert set(sent.json) == {"generateContentRequest"}
    request = sent.json["generateContentRequest"]
    assert request.pop("model") == "models/gemini-2.5-flash"
    assert_translated_prompt(request)
    assert counted.input_tokens == fake_count(request)

    # A longer prompt counts more: the number is the upstream's, not a constant.
    longer = {**COUNT, "system": SYSTEM * 20}
    recount = await anthropic_sdk(client).messages.count_tokens(model=model, **longer)
    assert recount.input_tokens > counted.input_tokens
    assert pool_status(client, "gem").state == "ok"


async def test_count_tokens_fails_over_from_a_429_to_the_next_gemini_account(localgate, make_fake):
    one = await make_fake("gemini", "one")
    two = await make_fake("gemini", "two")
    one.script(Error(429, headers={"retry-after": "30"}))
    client = await localgate(
        [account("one", "gemini", one.url), account("two", "gemini", two.url)],
        server={"strategy": "fill-first"},
    )
    response = await anthropic_sdk(client).messages.with_raw_response.count_tokens(
        model="gemini-2.5-flash", messages=MESSAGES
    )
    counted = await response.parse()
    assert response.headers["x-localgate-account"] == "two"
    assert len(one.requests) == len(two.requests) == 1
    assert counted.input_tokens == fake_count(two.requests[0].json["generateContentRequest"])
    assert pool_status(client, "one").state == "cooling"

    # While `one` cools down, counting goes straight to `two`.
    await anthropic_sdk(client).messages.count_tokens(model="gemini-2.5-flash", messages=MESSAGES)
    assert len(one.requests) == 1 and len(two.requests) == 2


# -- a Vertex account, Gemini model ------------------------------------------------


async def test_vertex_gemini_counts_for_an_anthropic_client(
    localgate, fake_vertex, fake_google_token
):
    client = await localgate(
        [vertex_account("gcp", fake_vertex.url, fake_google_token.authorized_user())]
    )
    counted = await anthropic_sdk(client).messages.count_tokens(model="gemini-2.5-pro", **COUNT)
    (sent,) = fake_vertex.gemini.requests
    assert sent.path == (
        "/v1/projects/proj/locations/us-east5/publishers/google/models/gemini-2.5-pro:countTokens"
    )
    assert sent.headers["authorization"].startswith("Bearer ")
    assert "x-goog-api-key" not in sent.headers and "x-api-key" not in sent.headers
    # Vertex's CountTokensRequest takes the prompt fields at the top level.
    assert_translated_prompt(sent.json)
    assert counted.input_tokens == fake_count(sent.json)
    assert fake_vertex.rejected == 0 and fake_vertex.claude.requests == []


# -- no counter, or a counter that fails -----------------------------------------


async def test_count_tokens_without_an_upstream_counter_is_404(localgate, make_fake):
    """OpenAI has no counter: Claude Code falls back to its own estimate on a 404."""
    fake = await make_fake("openai", "up")
    client = await localgate(
        [account("up", "openai", fake.url)], aliases={"claude-*": [f"openai:{MODELS['openai']}"]}
    )
    with pytest.raises(anthropic.NotFoundError) as caught:
        await anthropic_sdk(client).messages.count_tokens(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hello"}]
        )
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert "can count tokens" in caught.value.body["error"]["message"]
    assert fake.requests == []


async def test_an_alias_skips_accounts_without_a_counter(localgate, make_fake):
    """OpenAI first in the alias, Gemini second: the count goes to the one that can count."""
    oai = await make_fake("openai", "oai")
    gem = await make_fake("gemini", "gem")
    client = await localgate(
        [account("oai", "openai", oai.url), account("gem", "gemini", gem.url)],
        aliases={"claude-*": ["openai:gpt-4o", "gemini:gemini-2.5-flash"]},
    )
    counted = await anthropic_sdk(client).messages.count_tokens(
        model="claude-sonnet-4-5", messages=MESSAGES
    )
    assert counted.input_tokens > 0
    assert oai.requests == [] and len(gem.requests) == 1


async def test_an_unreachable_counter_is_an_error_in_anthropics_shape(localgate, make_fake):
    gone = await make_fake("gemini", "gone")
    url = gone.url
    await gone.close()  # nothing listens on its port any more
    client = await localgate([account("gone", "gemini", url)], server={"max_wait": 0})
    with pytest.raises(anthropic.APIStatusError) as caught:
        await anthropic_sdk(client).messages.count_tokens(
            model="gemini-2.5-flash", messages=MESSAGES
        )
    assert caught.value.status_code == 502
    body = caught.value.body
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert "gone" in body["error"]["message"] and "connect" in body["error"]["message"]


@pytest.mark.parametrize(
    ("behavior", "status", "kind"),
    [
        (Error(503, "The model is overloaded."), 502, "api_error"),
        (Cut(after_events=0), 502, "api_error"),
        (Error(400, "contents: invalid part"), 400, "invalid_request_error"),
    ],
    ids=["overloaded", "cut", "refused"],
)
async def test_counter_failures_reach_the_client_in_its_dialect(
    localgate, make_fake, behavior, status, kind
):
    gem = await make_fake("gemini", "gem")
    gem.default = behavior
    client = await localgate([account("gem", "gemini", gem.url)], server={"max_wait": 0})
    with pytest.raises(anthropic.APIStatusError) as caught:
        await anthropic_sdk(client).messages.count_tokens(
            model="gemini-2.5-flash", messages=MESSAGES
        )
    assert caught.value.status_code == status
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == kind


# -- the mapping itself -------------------------------------------------------------


def test_answer_mapping():
    count = counter("anthropic", "gemini")
    answer = {"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]}
    assert count.response(answer) == {"input_tokens": 31}
    assert count.response({}) == {"input_tokens": 0}  # Google's JSON leaves zeros out
    for broken in ({"totalTokens": "31"}, {"totalTokens": -1}, {"totalTokens": True}):
        with pytest.raises(UpstreamError):
            count.response(broken)


def test_only_pairs_with_a_counter():
    with pytest.raises(ValueError):
        counter("anthropic", "openai")
