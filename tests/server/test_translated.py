"""Across dialects, end to end: each official SDK against fake upstreams of another dialect.

Every SDK parses every answer and stream itself (that is the point: the SDKs are
the clients we must satisfy), through a tool round trip — the model calls a tool,
the client sends the result back, the model answers — and the upstream is checked
to have received the conversation in its own wire format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from google.genai import types

from tests.fakes import Reply, ToolCall
from tests.sdks import anthropic_sdk, genai_sdk, openai_sdk
from tests.support import account

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"}},
    "required": ["city"],
    "additionalProperties": False,  # Gemini's OpenAPI subset rejects this: must be sanitized
}
QUESTION = "What is the weather in Paris?"
TOOL_OUTPUT = "sunny, 24 degrees"
FINAL = "It is sunny in Paris."
# The model name each kind of upstream serves by default.
MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4o",
    "gemini": "gemini-2.5-flash",
    "responses": "gpt-5-codex",  # OpenAI serves it only through the Responses API
}
# Ids as each upstream mints them; Gemini usually sends none.
CALL_IDS = {
    "anthropic": "toolu_01A09q90qw90lq917835lq9",
    "openai": "call_Xy12Ab34",
    "gemini": None,
    "responses": "call_Rz98Qw76",
}
# The fake that plays each kind of upstream: a Responses upstream is an OpenAI account.
FAKE_KINDS = {"responses": "openai"}


def pool_status(client, name: str):
    from localgate.server.app import GATEWAY

    return {s.name: s for s in client.app[GATEWAY].pool.status()}[name]


@dataclass
class Trip:
    """What the client saw of a tool round trip."""

    tool_name: str
    tool_input: dict
    final_text: str


# -- the clients ---------------------------------------------------------------


async def anthropic_trip(client, model: str, stream: bool) -> Trip:
    sdk = anthropic_sdk(client)
    tools = [{"name": "get_weather", "description": "Weather now", "input_schema": WEATHER_SCHEMA}]
    messages: list = [{"role": "user", "content": QUESTION}]

    async def ask():
        kwargs = dict(model=model, max_tokens=1024, tools=tools, messages=messages)
        if not stream:
            return await sdk.messages.create(**kwargs)
        async with sdk.messages.stream(**kwargs) as events:
            kinds = [event.type async for event in events]
            message = await events.get_final_message()
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
        return message

    first = await ask()
    assert first.stop_reason == "tool_use"
    calls = [block for block in first.content if block.type == "tool_use"]
    assert len(calls) == 1
    assert all(block.text for block in first.content if block.type == "text"), first.content
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": calls[0].id, "content": TOOL_OUTPUT}
            ],
        },
    ]
    second = await ask()
    assert second.stop_reason == "end_turn"
    assert second.usage.output_tokens > 0
    text = "".join(block.text for block in second.content if block.type == "text")
    return Trip(calls[0].name, calls[0].input, text)


async def openai_trip(client, model: str, stream: bool) -> Trip:
    sdk = openai_sdk(client)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather now",
                "parameters": WEATHER_SCHEMA,
            },
        }
    ]
    messages: list = [{"role": "user", "content": QUESTION}]

    async def ask() -> tuple[str, list[dict], str]:
        kwargs = dict(model=model, messages=messages, tools=tools)
        if not stream:
            completion = await sdk.chat.completions.create(**kwargs)
            choice = completion.choices[0]
            calls = [
                {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                for c in choice.message.tool_calls or []
            ]
            assert completion.usage.prompt_tokens > 0
            return choice.message.content or "", calls, choice.finish_reason
        return await read_openai_stream(
            await sdk.chat.completions.create(
                **kwargs, stream=True, stream_options={"include_usage": True}
            )
        )

    _, calls, finish = await ask()
    assert finish == "tool_calls" and len(calls) == 1
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in calls
            ],
        },
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": TOOL_OUTPUT},
    ]
    text, more, finish = await ask()
    assert finish == "stop" and not more
    return Trip(calls[0]["name"], json.loads(calls[0]["arguments"]), text)


async def read_openai_stream(stream) -> tuple[str, list[dict], str]:
    """Accumulate an OpenAI stream, checking the shape the SDK users rely on."""
    text, calls, finish, usage, first = "", {}, None, None, True
    async for chunk in stream:
        if first:
            assert chunk.choices and chunk.choices[0].delta.role == "assistant"
            first = False
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        assert finish is None, "a choice chunk after the finish chunk"
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for fragment in delta.tool_calls or []:
            if fragment.index not in calls:
                # The first fragment of a call names it; later ones only add arguments.
                assert fragment.id and fragment.function.name, fragment
                calls[fragment.index] = {
                    "id": fragment.id,
                    "name": fragment.function.name,
                    "arguments": "",
                }
            calls[fragment.index]["arguments"] += fragment.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert usage is not None and usage.completion_tokens > 0, "no usage chunk"
    return text, [calls[i] for i in sorted(calls)], finish


async def genai_trip(client, model: str, stream: bool) -> Trip:
    sdk = genai_sdk(client)
    config = types.GenerateContentConfig(
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name="get_weather",
                        description="Weather now",
                        parameters_json_schema=WEATHER_SCHEMA,
                    )
                ]
            )
        ],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    contents: list = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]

    async def ask() -> tuple[str, list, list]:
        if not stream:
            response = await sdk.aio.models.generate_content(
                model=model, contents=contents, config=config
            )
            return (
                response.text or "",
                response.function_calls or [],
                response.candidates[0].content.parts,
            )
        text, calls, parts = "", [], []
        async for chunk in await sdk.aio.models.generate_content_stream(
            model=model, contents=contents, config=config
        ):
            content = chunk.candidates[0].content if chunk.candidates else None
            new = (content.parts if content else None) or []
            parts += new
            text += "".join(p.text or "" for p in new if not p.thought)
            calls += chunk.function_calls or []
        return text, calls, parts

    _, calls, parts = await ask()
    assert len(calls) == 1
    call = calls[0]
    contents += [
        types.Content(role="model", parts=parts),
        types.Content(
            role="user",
            parts=[
                types.Part(
                    function_response=types.FunctionResponse(
                        id=call.id, name=call.name, response={"output": TOOL_OUTPUT}
                    )
                )
            ],
        ),
    ]
    text, more, _ = await ask()
    assert not more
    return Trip(call.name, dict(call.args), text)


async def responses_trip(client, model: str, stream: bool) -> Trip:
    """Codex's way: stateless (store false), every output item replayed as input."""
    sdk = openai_sdk(client)
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather now",
            "parameters": WEATHER_SCHEMA,
            "strict": False,
        }
    ]
    items: list = [{"role": "user", "content": QUESTION}]

    async def ask():
        kwargs = dict(model=model, input=items, tools=tools, store=False)
        if not stream:
            return await sdk.responses.create(**kwargs)
        async with sdk.responses.stream(**kwargs) as events:
            kinds = [event.type async for event in events]
            response = await events.get_final_response()
        assert kinds[:2] == ["response.created", "response.in_progress"], kinds
        assert kinds[-1] == "response.completed", kinds
        return response

    first = await ask()
    assert first.status == "completed"
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    items += [item.model_dump(exclude_none=True) for item in first.output]
    items.append(
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": TOOL_OUTPUT}
    )
    second = await ask()
    assert second.status == "completed" and second.usage.output_tokens > 0
    assert not [item for item in second.output if item.type == "function_call"]
    return Trip(calls[0].name, json.loads(calls[0].arguments), second.output_text)


CLIENTS = {
    "anthropic": anthropic_trip,
    "openai": openai_trip,
    "gemini": genai_trip,
    "responses": responses_trip,
}


# -- what the upstream must have received ----------------------------------------


def check_schema(schema: dict) -> None:
    """The tool's parameters arrived whole: its property, described, and required."""
    assert schema["properties"]["city"]["type"].lower() == "string", schema
    assert schema["properties"]["city"]["description"] == "City name"
    assert schema["required"] == ["city"]


def check_upstream_conversation(kind: str, first: dict, second: dict) -> None:
    """The upstream got the tools, then the call and its result, in its own format."""
    call_id = CALL_IDS[kind]
    if kind == "anthropic":
        assert first["tools"][0]["name"] == "get_weather"
        check_schema(first["tools"][0]["input_schema"])
        assistant, result = second["messages"][-2], second["messages"][-1]
        uses = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert uses[0]["id"] == call_id and uses[0]["input"] == {"city": "Paris"}
        results = [b for b in result["content"] if b["type"] == "tool_result"]
        assert results[0]["tool_use_id"] == call_id
        assert TOOL_OUTPUT in json.dumps(results[0]["content"])
    elif kind == "openai":
        assert first["tools"][0]["function"]["name"] == "get_weather"
        check_schema(first["tools"][0]["function"]["parameters"])
        assistant = next(m for m in second["messages"] if m["role"] == "assistant")
        assert assistant["tool_calls"][0]["id"] == call_id
        assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
        tool = next(m for m in second["messages"] if m["role"] == "tool")
        assert tool["tool_call_id"] == call_id and TOOL_OUTPUT in json.dumps(tool["content"])
    elif kind == "responses":
        assert first["tools"][0]["name"] == "get_weather" and first["store"] is False
        check_schema(first["tools"][0]["parameters"])
        call = next(i for i in second["input"] if i.get("type") == "function_call")
        assert call["call_id"] == call_id and json.loads(call["arguments"]) == {"city": "Paris"}
        output = next(i for i in second["input"] if i.get("type") == "function_call_output")
        assert output["call_id"] == call_id and TOOL_OUTPUT in json.dumps(output["output"])
    else:
        declarations = first["tools"][0]["functionDeclarations"]
        assert declarations[0]["name"] == "get_weather"
        assert "additionalProperties" not in json.dumps(declarations[0].get("parameters", {}))
        check_schema(declarations[0].get("parametersJsonSchema") or declarations[0]["parameters"])
        model_turn, user_turn = second["contents"][-2], second["contents"][-1]
        assert model_turn["role"] == "model"
        assert any(
            p.get("functionCall", {}).get("name") == "get_weather" for p in model_turn["parts"]
        )
        responses = [p["functionResponse"] for p in user_turn["parts"] if "functionResponse" in p]
        assert len(responses) == 1 and responses[0]["name"] == "get_weather"
        assert TOOL_OUTPUT in json.dumps(responses[0]["response"])


PAIRS = [
    ("anthropic", "openai"),
    ("anthropic", "gemini"),
    ("openai", "anthropic"),
    ("openai", "gemini"),
    ("gemini", "anthropic"),
    ("gemini", "openai"),
    ("responses", "anthropic"),
    ("responses", "openai"),
    ("responses", "gemini"),
    ("anthropic", "responses"),
    ("openai", "responses"),
    ("gemini", "responses"),
    ("responses", "responses"),  # the same dialect: relayed, not translated
]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(
    ("client_kind", "upstream_kind"), PAIRS, ids=[f"{c}-sdk-to-{u}" for c, u in PAIRS]
)
async def test_tool_round_trip(localgate, make_fake, client_kind, upstream_kind, stream):
    fake = await make_fake(FAKE_KINDS.get(upstream_kind, upstream_kind), "up")
    fake.script(
        Reply(
            text="",
            tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id=CALL_IDS[upstream_kind])],
        ),
        Reply(text=FINAL),
    )
    provider = FAKE_KINDS.get(upstream_kind, upstream_kind)
    client = await localgate([account("up", provider, fake.url)])
    trip = await CLIENTS[client_kind](client, MODELS[upstream_kind], stream)
    assert trip == Trip("get_weather", {"city": "Paris"}, FINAL)
    assert len(fake.requests) == 2
    first, second = (r.json for r in fake.requests)
    check_upstream_conversation(upstream_kind, first, second)
    # The client's key never travels; the account's does.
    assert "client-key-not-forwarded" not in json.dumps([r.headers for r in fake.requests])
    # Both answers were booked as successes, with their tokens, for the account.
    status = pool_status(client, "up")
    assert status.state == "ok"
    assert status.requests_last_minute == 2 and status.tokens_last_minute > 0


async def test_openai_sdk_streams_parallel_tool_calls_from_anthropic(localgate, make_fake):
    fake = await make_fake("anthropic", "claude")
    fake.script(
        Reply(
            text="Let me look both up.",
            thinking="two cities",
            tool_calls=[
                ToolCall("get_weather", {"city": "Paris"}),
                ToolCall("get_weather", {"city": "Oslo"}),
            ],
        )
    )
    client = await localgate(
        [account("claude", "anthropic", fake.url)], aliases={"gpt-4o": ["claude-sonnet-4-5"]}
    )
    text, calls, finish = await read_openai_stream(
        await openai_sdk(client).chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Paris and Oslo?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert text == "Let me look both up." and finish == "tool_calls"
    assert [json.loads(c["arguments"]) for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert len({c["id"] for c in calls}) == 2
    sent = fake.requests[0].json
    assert sent["model"] == "claude-sonnet-4-5" and sent["stream"] is True


async def test_anthropic_sdk_through_alias_to_openai(localgate, make_fake):
    """What Claude Code does: a claude-* name mapped onto an OpenAI-compatible account."""
    fake = await make_fake("openai", "oai")
    client = await localgate(
        [account("oai", "openai", fake.url)], aliases={"claude-*": ["openai:gpt-4o"]}
    )
    response = await anthropic_sdk(client).messages.with_raw_response.create(
        model="claude-sonnet-4-5",
        max_tokens=8000,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": "context-management-2025-06-27"},
    )
    message = await response.parse()
    assert message.content[0].text == "Hello from oai"
    assert response.headers["x-model-used"] == "gpt-4o"
    assert response.headers["x-localgate-account"] == "oai"
    assert "x-fallback-from" not in response.headers
    sent = fake.requests[0]
    assert sent.json["model"] == "gpt-4o"
    assert sent.json["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "anthropic-beta" not in sent.headers and "cache_control" not in json.dumps(sent.json)


async def _think_openai_chat(client, model: str) -> str:
    completion = await openai_sdk(client).chat.completions.create(
        model=model, messages=[{"role": "user", "content": QUESTION}], reasoning_effort="high"
    )
    return completion.choices[0].message.content


async def _think_responses(client, model: str) -> str:
    response = await openai_sdk(client).responses.create(
        model=model, input=QUESTION, reasoning={"effort": "high", "summary": "auto"}
    )
    return response.output_text


async def _think_gemini(client, model: str) -> str:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_level="HIGH")
    )
    response = await genai_sdk(client).aio.models.generate_content(
        model=model, contents=QUESTION, config=config
    )
    return response.text


@pytest.mark.parametrize(
    "ask",
    [_think_openai_chat, _think_responses, _think_gemini],
    ids=["chat", "responses", "gemini"],
)
async def test_reasoning_clients_reach_claude_4_7_and_later(localgate, make_fake, ask):
    """Claude 4.7 and later refuse a thinking budget with a 400 (as the fake does): a
    client asking for high effort gets adaptive thinking at high effort there."""
    fake = await make_fake("anthropic", "claude")
    fake.default = Reply(text=FINAL, thinking="Weather lookups need a city.")
    client = await localgate([account("claude", "anthropic", fake.url)])
    assert await ask(client, "claude-opus-4-8") == FINAL
    sent = fake.requests[0].json
    assert sent["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert sent["output_config"]["effort"] == "high"
