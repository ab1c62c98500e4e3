"""Strict validators of request bodies, one per dialect: the rules each API enforces
(and a few it is known to enforce on some models), as plain assertions.

They are stricter than any one server, so a request they accept is one no
provider of that dialect should refuse for its shape.
"""

from __future__ import annotations

import re

from localgate.translate.models import has_adaptive_thinking

ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
GEMINI_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

ANTHROPIC_FIELDS = {
    "model", "messages", "max_tokens", "system", "stream", "stop_sequences", "temperature",
    "top_p", "top_k", "metadata", "tools", "tool_choice", "thinking", "output_config",
}  # fmt: skip
OPENAI_FIELDS = {
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
    "temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "tools",
    "tool_choice", "parallel_tool_calls", "reasoning_effort", "response_format", "user",
}  # fmt: skip
GEMINI_FIELDS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
GEMINI_CONFIG = {
    "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "presencePenalty",
    "frequencyPenalty", "seed", "responseMimeType", "responseJsonSchema", "thinkingConfig",
}  # fmt: skip
# Reasoning models refuse sampling parameters (o-series, gpt-5).
OPENAI_SAMPLING = {"temperature", "top_p", "presence_penalty", "frequency_penalty"}
GEMINI_SCHEMA_KEYS = {
    "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum",
    "items", "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf",
    "properties", "additionalProperties", "required", "propertyOrdering",
}  # fmt: skip
ANY_MODEL = "x"  # a client's model name: no model-specific rule applies
JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}


def _schema_types(schema) -> None:
    """Every `type` a JSON Schema names is a lower-case JSON type."""
    if isinstance(schema, list):
        for sub in schema:
            _schema_types(sub)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        for t in kind if isinstance(kind, list) else [kind] if kind is not None else []:
            assert t in JSON_TYPES, f"schema type {t!r}"
        for value in schema.values():
            if isinstance(value, dict | list):
                _schema_types(value)


def _closed_objects(schema) -> None:
    if isinstance(schema, list):
        for sub in schema:
            _closed_objects(sub)
    elif isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            assert schema.get("additionalProperties") is False, "object not closed"
        for value in schema.values():
            if isinstance(value, dict | list):
                _closed_objects(value)


# -- Anthropic ---------------------------------------------------------------------------


def anthropic(body: dict) -> None:
    """Assert `body` is a Messages request Anthropic accepts."""
    assert set(body) <= ANTHROPIC_FIELDS, set(body) - ANTHROPIC_FIELDS
    assert isinstance(body["model"], str) and body["model"]
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] >= 1
    system = body.get("system")
    if isinstance(system, list):
        assert all(b["type"] == "text" and b["text"] for b in system)
    tools = {t["name"] for t in body.get("tools") or []}
    for tool in body.get("tools") or []:
        assert TOOL_NAME.match(tool["name"]), tool["name"]
        assert tool["input_schema"].get("type") == "object"
        _schema_types(tool["input_schema"])
    messages = body["messages"]
    assert messages and messages[0]["role"] == "user"
    pending: set[str] = set()
    for i, message in enumerate(messages):
        assert message["role"] in ("user", "assistant")
        assert i == 0 or message["role"] != messages[i - 1]["role"], "roles must alternate"
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        assert blocks, "empty message"
        if message["role"] == "user":
            results = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
            assert set(results) == pending, f"results {results} for calls {pending}"
            kinds = [b["type"] for b in blocks]
            assert kinds == sorted(kinds, key=lambda k: k != "tool_result"), "results first"
            pending = set()
        for block in blocks:
            _anthropic_block(block, message["role"])
            if block["type"] == "tool_use":
                pending.add(block["id"])
    assert not pending, "calls without results"
    thinking = body.get("thinking")
    choice = body.get("tool_choice")
    if choice:
        assert choice["type"] in ("auto", "any", "tool", "none")
        assert choice["type"] != "tool" or choice["name"] in tools
    if thinking:
        # 4.7 and later refuse a budget; older models know no adaptive thinking.
        adaptive = has_adaptive_thinking(body["model"])
        assert thinking["type"] == ("adaptive" if adaptive else "enabled"), body["model"]
        if adaptive:
            assert set(thinking) <= {"type", "display"}
            assert thinking.get("display", "summarized") in ("summarized", "omitted")
        else:
            assert 1024 <= thinking["budget_tokens"] < body["max_tokens"]
        assert "temperature" not in body and "top_k" not in body and "top_p" not in body
        assert not choice or choice["type"] in ("auto", "none"), "forced tools beside thinking"
    effort = (body.get("output_config") or {}).get("effort")
    assert effort in (None, "low", "medium", "high", "xhigh", "max")
    assert effort is None or not thinking or thinking["type"] == "adaptive"
    assert 0.0 <= body.get("temperature", 0.0) <= 1.0
    assert 0.0 <= body.get("top_p", 0.0) <= 1.0
    assert all(isinstance(s, str) and s.strip() for s in body.get("stop_sequences") or [])
    fmt = (body.get("output_config") or {}).get("format")
    if fmt:
        assert fmt["type"] == "json_schema"
        _closed_objects(fmt["schema"])


def _anthropic_block(block: dict, role: str) -> None:
    kind = block["type"]
    if kind == "text":
        assert block["text"], "empty text block"
    elif kind in ("image", "document"):
        assert block["source"]["type"] in ("base64", "url", "text")
    elif kind == "tool_use":
        assert role == "assistant" and ANTHROPIC_ID.match(block["id"])
        assert TOOL_NAME.match(block["name"]) and isinstance(block["input"], dict)
    elif kind == "tool_result":
        assert role == "user" and ANTHROPIC_ID.match(block["tool_use_id"])
        content = block.get("content")
        for inner in [] if isinstance(content, str) or content is None else content:
            assert inner["type"] in ("text", "image", "document")
            _anthropic_block(inner, role)
    elif kind in ("thinking", "redacted_thinking"):
        assert role == "assistant"
    else:
        raise AssertionError(f"unknown block {kind}")


# -- OpenAI ----------------------------------------------------------------------------------


def openai(body: dict) -> None:
    """Assert `body` is a Chat Completions request OpenAI accepts."""
    assert set(body) <= OPENAI_FIELDS, set(body) - OPENAI_FIELDS
    assert not ("max_tokens" in body and "max_completion_tokens" in body)
    if body["model"].startswith(("o1", "o3", "o4", "gpt-5")):
        assert not OPENAI_SAMPLING & set(body), "sampling parameters to a reasoning model"
        assert "max_tokens" not in body, "reasoning models take max_completion_tokens"
    elif body["model"] != ANY_MODEL:
        assert "reasoning_effort" not in body, "reasoning_effort to a model without it"
    tools = {t["function"]["name"] for t in body.get("tools") or []}
    for tool in body.get("tools") or []:
        assert tool["type"] == "function" and TOOL_NAME.match(tool["function"]["name"])
        _schema_types(tool["function"].get("parameters") or {})
    answering: set[str] = set()  # calls of the last assistant message still to answer
    for message in body["messages"]:
        role = message["role"]
        assert role in ("system", "developer", "user", "assistant", "tool")
        if role == "tool":
            assert message["tool_call_id"] in answering, "a result for no pending call"
            answering.discard(message["tool_call_id"])
            assert isinstance(message["content"], str) and message["content"]
            continue
        assert not answering, f"calls {answering} unanswered before a {role} message"
        if role == "assistant":
            calls = message.get("tool_calls") or []
            assert message.get("content") or calls, "empty assistant message"
            assert message.get("content") != "", "empty content next to calls must be null"
            for call in calls:
                assert call["id"] and call["type"] == "function"
                assert call["function"]["name"] in tools or not tools
                assert isinstance(call["function"]["arguments"], str)
            answering = {c["id"] for c in calls}
        else:
            content = message["content"]
            assert content, f"empty {role} message"
            if isinstance(content, list):
                assert all(p["type"] in ("text", "image_url", "file") for p in content)
    assert not answering, "calls without results"
    choice = body.get("tool_choice")
    if choice is not None:
        assert tools or choice == "none", "tool_choice without tools"
        if isinstance(choice, dict):
            assert choice["function"]["name"] in tools
        else:
            assert choice in ("auto", "required", "none")
    assert len(body.get("stop") or []) <= 4
    assert 0.0 <= body.get("temperature", 0.0) <= 2.0
    assert 0.0 <= body.get("top_p", 0.0) <= 1.0
    for penalty in ("presence_penalty", "frequency_penalty"):
        assert -2.0 <= body.get(penalty, 0.0) <= 2.0
    assert body.get("reasoning_effort") in (None, "none", "minimal", "low", "medium", "high")
    fmt = body.get("response_format")
    if fmt and fmt["type"] == "json_schema":
        spec = fmt["json_schema"]
        assert SCHEMA_NAME.match(spec["name"])
        _schema_types(spec["schema"])
        if spec.get("strict"):
            _closed_objects(spec["schema"])
            _all_required(spec["schema"])


def _all_required(schema) -> None:
    if isinstance(schema, list):
        for sub in schema:
            _all_required(sub)
    elif isinstance(schema, dict):
        if "properties" in schema:
            assert set(schema.get("required") or []) == set(schema["properties"])
        for value in schema.values():
            if isinstance(value, dict | list):
                _all_required(value)


# -- Gemini -----------------------------------------------------------------------------------


def gemini(body: dict) -> None:
    """Assert `body` is a generateContent request the Gemini API accepts."""
    assert set(body) <= GEMINI_FIELDS, set(body) - GEMINI_FIELDS
    declared = set()
    for tool in body.get("tools") or []:
        assert set(tool) == {"functionDeclarations"}
        for decl in tool["functionDeclarations"]:
            assert GEMINI_NAME.match(decl["name"])
            assert "parameters" not in decl or "parametersJsonSchema" not in decl
            _schema_types(decl.get("parametersJsonSchema") or {})
            declared.add(decl["name"])
    calls = 0  # function calls of the last model turn still to answer
    contents = body["contents"]
    assert contents and contents[0]["role"] == "user"
    for i, content in enumerate(contents):
        assert content["role"] in ("user", "model")
        assert i == 0 or content["role"] != contents[i - 1]["role"], "roles must alternate"
        assert content["parts"], "empty turn"
        responses = 0
        for part in content["parts"]:
            data = set(part) & {
                "text",
                "inlineData",
                "fileData",
                "functionCall",
                "functionResponse",
            }
            assert len(data) == 1, part
            if "functionCall" in part:
                assert content["role"] == "model" and GEMINI_NAME.match(
                    part["functionCall"]["name"]
                )
            if "functionResponse" in part:
                assert content["role"] == "user"
                responses += 1
        if content["role"] == "user":
            assert responses == calls, f"{responses} responses for {calls} calls"
        calls = (
            sum("functionCall" in p for p in content["parts"]) if content["role"] == "model" else 0
        )
    assert calls == 0, "calls without responses"
    config = body.get("generationConfig") or {}
    assert set(config) <= GEMINI_CONFIG, set(config) - GEMINI_CONFIG
    assert 0.0 <= config.get("temperature", 0.0) <= 2.0
    assert 0.0 <= config.get("topP", 0.0) <= 1.0
    assert len(config.get("stopSequences") or []) <= 5
    thinking = config.get("thinkingConfig") or {}
    assert not ("thinkingBudget" in thinking and "thinkingLevel" in thinking)
    assert set(thinking) <= {"thinkingBudget", "thinkingLevel", "includeThoughts"}
    if "responseJsonSchema" in config:
        assert config.get("responseMimeType") == "application/json"
        _gemini_schema(config["responseJsonSchema"])
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig")
    if calling:
        assert calling["mode"] in ("AUTO", "ANY", "NONE", "VALIDATED")
        names = calling.get("allowedFunctionNames")
        assert names is None or (calling["mode"] in ("ANY", "VALIDATED") and set(names) <= declared)


def _gemini_schema(schema) -> None:
    if isinstance(schema, list):
        for sub in schema:
            _gemini_schema(sub)
    elif isinstance(schema, dict):
        assert set(schema) <= GEMINI_SCHEMA_KEYS, set(schema) - GEMINI_SCHEMA_KEYS
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                _gemini_schema(schema[key])
        for sub in (schema.get("properties") or {}).values():
            _gemini_schema(sub)
        for sub in schema.get("anyOf") or []:
            _gemini_schema(sub)


VALIDATORS = {"anthropic": anthropic, "openai": openai, "gemini": gemini}
