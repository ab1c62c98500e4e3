"""Structured output through each SDK's own helper, on every account kind.

A client asks for an answer that fits a type with its SDK's helper (OpenAI
`chat.completions.parse` and `responses.parse`, Anthropic `messages.parse`,
google-genai's `response_schema`): the upstream must receive the schema in its
own field, and the SDK must parse the answer into the client's type — whether
the request was relayed or translated.
"""

from __future__ import annotations

import json

import pytest
from google.genai import types
from pydantic import BaseModel

from tests.fakes import Reply
from tests.sdks import anthropic_sdk, genai_sdk, openai_sdk
from tests.support import account


class Weather(BaseModel):
    city: str
    celsius: int


ANSWER = Weather(city="Paris", celsius=24)
QUESTION = "What is the weather in Paris?"

# The model each kind of account serves, and the fake that plays it (a Responses
# account is an OpenAI account whose model is served only there).
MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4o",
    "responses": "gpt-5-codex",
    "gemini": "gemini-2.5-flash",
}
PROVIDERS = {"responses": "openai"}


def schema_sent(kind: str, body: dict) -> dict:
    """The schema the upstream received, from its own dialect's field."""
    if kind == "anthropic":
        return body["output_config"]["format"]["schema"]
    if kind == "openai":
        assert body["response_format"]["type"] == "json_schema"
        return body["response_format"]["json_schema"]["schema"]
    if kind == "responses":
        assert body["text"]["format"]["type"] == "json_schema"
        return body["text"]["format"]["schema"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    return config.get("responseJsonSchema") or config["responseSchema"]


async def openai_chat(client, model: str, stream: bool) -> Weather | None:
    sdk, messages = openai_sdk(client), [{"role": "user", "content": QUESTION}]
    if not stream:
        completion = await sdk.chat.completions.parse(
            model=model, messages=messages, response_format=Weather
        )
        return completion.choices[0].message.parsed
    async with sdk.chat.completions.stream(
        model=model, messages=messages, response_format=Weather
    ) as events:
        completion = await events.get_final_completion()
    return completion.choices[0].message.parsed


async def openai_responses(client, model: str, stream: bool) -> Weather | None:
    sdk = openai_sdk(client)
    if not stream:
        response = await sdk.responses.parse(model=model, input=QUESTION, text_format=Weather)
        return response.output_parsed
    async with sdk.responses.stream(model=model, input=QUESTION, text_format=Weather) as events:
        response = await events.get_final_response()
    return response.output_parsed


async def anthropic_messages(client, model: str, stream: bool) -> Weather | None:
    sdk = anthropic_sdk(client)
    kwargs = dict(
        model=model,
        max_tokens=1024,
        messages=[{"role": "user", "content": QUESTION}],
        output_format=Weather,
    )
    if not stream:
        return (await sdk.messages.parse(**kwargs)).parsed_output
    async with sdk.messages.stream(**kwargs) as events:
        message = await events.get_final_message()
    return message.parsed_output


async def gemini_generate(client, model: str, stream: bool) -> Weather | None:
    sdk = genai_sdk(client)
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=Weather
    )
    if not stream:
        response = await sdk.aio.models.generate_content(
            model=model, contents=QUESTION, config=config
        )
        return response.parsed
    # The SDK parses whole answers only: a streaming client joins the text itself.
    chunks = await sdk.aio.models.generate_content_stream(
        model=model, contents=QUESTION, config=config
    )
    return Weather.model_validate_json("".join([c.text or "" async for c in chunks]))


CLIENTS = {
    "openai-chat": openai_chat,
    "openai-responses": openai_responses,
    "anthropic": anthropic_messages,
    "gemini": gemini_generate,
}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("upstream", list(MODELS))
@pytest.mark.parametrize("client_kind", list(CLIENTS))
async def test_the_sdk_parses_an_answer_that_fits_its_type(
    localgate, make_fake, client_kind, upstream, stream
):
    provider = PROVIDERS.get(upstream, upstream)
    fake = await make_fake(provider, "up")
    fake.default = Reply(text=ANSWER.model_dump_json())
    client = await localgate([account("up", provider, fake.url)])

    parsed = await CLIENTS[client_kind](client, MODELS[upstream], stream)

    assert parsed == ANSWER
    (request,) = fake.requests
    schema = schema_sent(upstream, request.json)
    # Property names and types survive (Gemini's SDK writes its own schema flavour).
    assert set(schema["properties"]) == {"city", "celsius"}, json.dumps(schema)
    assert {p["type"].lower() for p in schema["properties"].values()} == {"string", "integer"}
