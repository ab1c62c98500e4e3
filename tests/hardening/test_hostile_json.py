"""Hostile JSON: refused at the door (parse_object) or by the translator, always 400 in dialect.

The door's cases (`door_cases`) run in test_input's malformed-body test.

Nothing here may reach an upstream, and nothing may come back as a 500.
"""

from __future__ import annotations

import json

import pytest

from tests.hardening.helpers import (
    CHAT,
    COMPLETIONS,
    GENERATE,
    MESSAGES,
    assert_dialect_error,
    start,
    upstream_calls,
)
from tests.support import account


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def door_cases(route) -> list[tuple[str, bytes]]:
    """Bodies that parse in Python's json but are not JSON any API takes.

    test_input's malformed-body test sends them on every route.
    """
    good = json.dumps(route.body)
    inner = good[1:-1]
    first = next(iter(route.body))
    return [
        ("NaN", ('{"temperature": NaN, ' + inner + "}").encode()),
        ("Infinity", ('{"temperature": Infinity, ' + inner + "}").encode()),
        ("-Infinity", ('{"temperature": -Infinity, ' + inner + "}").encode()),
        ("1e999", ('{"temperature": 1e999, ' + inner + "}").encode()),
        ("duplicate top key", ('{"' + first + '": 1, ' + inner + "}").encode()),
        ("duplicate inner key", ('{"metadata": {"a": 1, "a": 2}, ' + inner + "}").encode()),
        ("utf-16", good.encode("utf-16")),
        ("utf-16-le", good.encode("utf-16-le")),
        ("utf-32", good.encode("utf-32")),
        ("utf-8 bom", b"\xef\xbb\xbf" + good.encode()),
        ("latin-1", ('{"system": "caf\xe9", ' + inner + "}").encode("latin-1")),
        ("deep 1000", ('{"metadata": ' + nested(1000) + ", " + inner + "}").encode()),
        ("deep 100000", ('{"metadata": ' + nested(100_000) + ", " + inner + "}").encode()),
    ]


# (route, model that makes the request translated, field, value)
WRONG_TYPES = [
    (COMPLETIONS, "claude-opus-4-8", "max_tokens", "5"),
    (COMPLETIONS, "claude-opus-4-8", "temperature", "hot"),
    (COMPLETIONS, "claude-opus-4-8", "top_p", [1]),
    (COMPLETIONS, "claude-opus-4-8", "stop", 5),
    (COMPLETIONS, "claude-opus-4-8", "tool_choice", {"type": {}}),
    (COMPLETIONS, "claude-opus-4-8", "tool_choice", {"type": "function", "function": {"name": 5}}),
    (COMPLETIONS, "claude-opus-4-8", "tools", [{"type": "function", "function": {"name": 5}}]),
    (
        COMPLETIONS,
        "claude-opus-4-8",
        "tools",
        [{"type": "function", "function": {"name": "t", "parameters": "x"}}],
    ),
    (COMPLETIONS, "claude-opus-4-8", "messages", [{"role": "user", "content": 5}]),
    (COMPLETIONS, "claude-opus-4-8", "messages", [{"role": 5, "content": "hi"}]),
    (COMPLETIONS, "claude-opus-4-8", "messages", ["hi"]),
    (COMPLETIONS, "claude-opus-4-8", "n", "2"),
    (COMPLETIONS, "claude-opus-4-8", "reasoning_effort", {"a": 1}),
    (COMPLETIONS, "claude-opus-4-8", "stop", {"a": 1}),
    (
        COMPLETIONS,
        "claude-opus-4-8",
        "response_format",
        {"type": "json_schema", "json_schema": {"schema": 5}},
    ),
    (MESSAGES, "gpt-4o", "temperature", "hot"),
    (MESSAGES, "gpt-4o", "top_k", "5"),
    (MESSAGES, "gpt-4o", "stop_sequences", "STOP"),
    (MESSAGES, "gpt-4o", "system", 5),
    (MESSAGES, "gpt-4o", "system", [{"type": "text", "text": 5}]),
    (MESSAGES, "gpt-4o", "tool_choice", {"type": {}}),
    (MESSAGES, "gpt-4o", "tool_choice", {"type": "tool", "name": 5}),
    (MESSAGES, "gpt-4o", "tools", [{"name": 5, "input_schema": {"type": "object"}}]),
    (MESSAGES, "gpt-4o", "tools", [{"name": "t", "input_schema": [1]}]),
    (MESSAGES, "gpt-4o", "thinking", {"type": "enabled", "budget_tokens": "lots"}),
    (MESSAGES, "gpt-4o", "messages", [{"role": "user", "content": [{"type": "text", "text": {}}]}]),
    (
        MESSAGES,
        "gpt-4o",
        "messages",
        [{"role": "user", "content": [{"type": "image", "source": 5}]}],
    ),
    (
        MESSAGES,
        "gpt-4o",
        "messages",
        [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": 5, "name": "t", "input": {}}],
            }
        ],
    ),
    (
        MESSAGES,
        "gpt-4o",
        "messages",
        [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": 5}]}],
    ),
    (MESSAGES, "gpt-4o", "metadata", {"user_id": 5}),
    (GENERATE, None, "generationConfig", {"maxOutputTokens": "5"}),
    (GENERATE, None, "generationConfig", {"temperature": "hot"}),
    (GENERATE, None, "generationConfig", 5),
    (GENERATE, None, "tools", [{"functionDeclarations": [{"name": 5}]}]),
    (GENERATE, None, "toolConfig", {"functionCallingConfig": {"mode": {"a": 1}}}),
    (GENERATE, None, "contents", [{"role": "user", "parts": [{"text": 5}]}]),
    (GENERATE, None, "contents", [{"role": "user", "parts": 5}]),
    (GENERATE, None, "systemInstruction", {"parts": [{"text": ["x"]}]}),
]


def _case_id(case) -> str:
    route, _, name, value = case
    return f"{route.dialect}:{name}={json.dumps(value)[:30]}"


@pytest.mark.parametrize(
    "route,model,name,value", WRONG_TYPES, ids=[_case_id(c) for c in WRONG_TYPES]
)
async def test_wrong_types_in_translated_requests_are_400_naming_the_field(
    localgate, make_fake, route, model, name, value
):
    # Gemini's route asks for a model only an alias maps to the Anthropic account.
    client, fakes = await start(
        localgate, make_fake, aliases={"gemini-2.5-flash": ["claude-opus-4-8"]}
    )
    body = {**route.body, name: value}
    if model is not None:
        body["model"] = model
        body.setdefault("max_tokens", 10)
    resp = await client.post(route.path, json=body)
    raw = await resp.read()
    assert resp.status == 400, raw
    error = assert_dialect_error(route.dialect, 400, raw)
    assert name in json.dumps(error), error
    assert upstream_calls(fakes) == 0


async def test_a_deep_but_parseable_body_is_refused_before_translation(localgate, make_fake):
    client, fakes = await start(localgate, make_fake)
    schema: dict = {"type": "object"}
    for _ in range(400):
        schema = {"type": "object", "properties": {"a": schema}}
    tool = {"type": "function", "function": {"name": "t", "parameters": schema}}
    body = {"model": "claude-opus-4-8", "messages": CHAT, "tools": [tool]}
    resp = await client.post(COMPLETIONS.path, json=body)
    assert resp.status == 400
    assert "deep" in assert_dialect_error("openai", 400, await resp.read())["error"]["message"]
    assert upstream_calls(fakes) == 0


def schema_nested(depth: int, shape: str) -> dict:
    """A JSON schema `depth` JSON levels deep: objects of properties (two levels a
    step) or arrays of items (one level a step, a translator's deepest recursion)."""
    schema: dict = {"type": "object"}
    if shape == "items":
        for _ in range(depth - 1):
            schema = {"type": "array", "items": schema}
        return schema
    for _ in range(depth // 2):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


DEEP_TOOL = {  # each client's way of offering a tool whose schema nests to the door's limit
    "anthropic": lambda s: {"tools": [{"name": "t", "input_schema": s}]},
    "openai": lambda s: {
        "tools": [{"type": "function", "function": {"name": "t", "parameters": s}}]
    },
    "responses": lambda s: {"tools": [{"type": "function", "name": "t", "parameters": s}]},
    "gemini": lambda s: {"tools": [{"functionDeclarations": [{"name": "t", "parameters": s}]}]},
}
DEEP_ROUTES = {
    "anthropic": ("/v1/messages", {"max_tokens": 10, "messages": CHAT}),
    "openai": ("/v1/chat/completions", {"messages": CHAT}),
    "responses": ("/v1/responses", {"input": "hi"}),
    "gemini": ("/v1beta/models/{model}:generateContent", GENERATE.body),
}
UPSTREAM_MODELS = {
    "anthropic": "claude-opus-4-8",
    "openai": "gpt-4o",
    "gemini": "gemini-2.5-flash",
    "responses": "gpt-5-codex",
}


TRANSLATED_PAIRS = [(c, u) for c in DEEP_ROUTES for u in UPSTREAM_MODELS if c != u]


@pytest.mark.parametrize("shape", ["properties", "items"])
@pytest.mark.parametrize(("client_dialect", "upstream"), TRANSLATED_PAIRS)
async def test_a_body_nested_to_the_doors_limit_is_translated_for_every_pair(
    localgate, make_fake, client_dialect, upstream, shape
):
    """The door lets through MAX_DEPTH levels: every translator (they recurse over
    schemas) must then answer."""
    from localgate.door import MAX_DEPTH

    fakes = {kind: await make_fake(kind, kind) for kind in ("anthropic", "openai", "gemini")}
    client = await localgate(
        [
            account("anthropic", "anthropic", fakes["anthropic"].url),
            account("openai", "openai", fakes["openai"].url, models=["gpt-4o"], api="chat"),
            account("responses", "openai", fakes["openai"].url, models=["gpt-5-codex"]),
            account("gemini", "gemini", fakes["gemini"].url),
        ]
    )
    model = UPSTREAM_MODELS[upstream]
    path, base = DEEP_ROUTES[client_dialect]
    body = {**base, **DEEP_TOOL[client_dialect](schema_nested(MAX_DEPTH - 6, shape))}
    if client_dialect != "gemini":
        body["model"] = model
    raw = json.dumps(body).encode()
    resp = await client.post(path.format(model=model), data=raw)
    assert resp.status == 200, await resp.text()
