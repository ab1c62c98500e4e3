"""Property: any request the strict validator of dialect X accepts, translated to
dialect Y, is accepted by Y's strict validator (or refused with a clear 400).

Requests are drawn as one abstract conversation — system text, user turns,
assistant turns with text and parallel tool calls, their results — plus the
settings each dialect has (sampling, stop lists, tool choice, reasoning, JSON
output), and written in each client dialect's own wire form.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from localgate.errors import InvalidRequest
from localgate.translate import translator

from .validators import VALIDATORS

NAMES = ["get_weather", "Bash", "read_file", "search_docs"]
words = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=12).filter(str.strip)
arguments = st.dictionaries(
    st.sampled_from(["path", "city", "n"]), st.one_of(st.integers(0, 9), words), max_size=2
)
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "n": {"type": "integer"}},
    "required": ["city"],
}
MODELS = {
    "anthropic": ["claude-sonnet-4-5", "claude-3-5-haiku", "claude-opus-4-8"],
    "openai": ["gpt-4.1", "o3", "gpt-5", "deepseek-chat"],
    "gemini": ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview"],
}


@st.composite
def conversations(draw):
    """[("user", text) | ("assistant", text, [(id, name, args)]) | ("results", [(id, text)])]."""
    turns = [("user", draw(words))]
    counter = 0
    for _ in range(draw(st.integers(0, 3))):
        text = draw(st.one_of(st.none(), words))
        calls = []
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=3)):
            counter += 1
            calls.append((f"call_{counter}", name, draw(arguments)))
        if not text and not calls:
            text = "ok"
        turns.append(("assistant", text, calls))
        if calls:
            turns.append(("results", [(c[0], draw(words)) for c in calls]))
            if draw(st.booleans()):
                turns.append(("user", draw(words)))
        else:
            turns.append(("user", draw(words)))
    if turns[-1][0] == "assistant":
        turns.append(("user", draw(words)))
    return turns


@st.composite
def settings_(draw):
    return {
        "system": draw(st.one_of(st.none(), words)),
        "tools": draw(st.booleans()),
        "choice": draw(st.sampled_from([None, "auto", "any", "none", "tool"])),
        "temperature": draw(st.one_of(st.none(), st.floats(0, 1))),
        "top_p": draw(st.one_of(st.none(), st.floats(0.1, 1))),
        "stop": draw(st.lists(words, max_size=7)),
        "top_k": draw(st.one_of(st.none(), st.integers(1, 100))),
        "penalty": draw(st.one_of(st.none(), st.floats(-2, 2))),
        "max_tokens": draw(st.sampled_from([500, 1024, 4000, 64000])),
        "reasoning": draw(st.sampled_from([None, "low", "high", "off", 2000, 100])),
        "json": draw(st.sampled_from([None, "object", "schema"])),
        "seed": draw(st.one_of(st.none(), st.integers(0, 99))),
    }


def used_names(turns) -> set[str]:
    return {c[1] for t in turns if t[0] == "assistant" for c in t[2]}


# -- writing one conversation in each client dialect ---------------------------------------------


def anthropic_request(turns, s) -> dict:
    messages = []
    for turn in turns:
        if turn[0] == "user":
            messages.append({"role": "user", "content": turn[1]})
        elif turn[0] == "assistant":
            blocks = [{"type": "text", "text": turn[1]}] if turn[1] else []
            blocks += [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in turn[2]]
            messages.append({"role": "assistant", "content": blocks})
        else:
            results = [{"type": "tool_result", "tool_use_id": i, "content": t} for i, t in turn[1]]
            messages.append({"role": "user", "content": results})
    merged = []  # a user text after results joins their message
    for m in messages:
        if merged and merged[-1]["role"] == m["role"] == "user":
            merged[-1]["content"] = [*merged[-1]["content"], {"type": "text", "text": m["content"]}]
        else:
            merged.append(m)
    body = {"model": "x", "max_tokens": s["max_tokens"], "messages": merged}
    if s["system"]:
        body["system"] = s["system"]
    names = sorted(used_names(turns) | ({"get_weather"} if s["tools"] else set()))
    if names:
        body["tools"] = [{"name": n, "input_schema": SCHEMA} for n in names]
        if s["choice"]:
            choice = {"type": s["choice"]}
            if s["choice"] == "tool":
                choice["name"] = names[0]
            body["tool_choice"] = choice
    thinking = s["reasoning"] not in (None, "off", 100) and s["max_tokens"] > 2000
    if thinking:
        budget = s["reasoning"] if isinstance(s["reasoning"], int) else 1024
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if body.get("tool_choice", {}).get("type") in ("any", "tool"):
            del body["tool_choice"]
    else:
        for key in ("temperature", "top_p", "top_k"):
            if s[key] is not None:
                body[key] = s[key]
    if s["stop"]:
        body["stop_sequences"] = s["stop"]
    if s["json"] == "schema":
        body["output_config"] = {"format": {"type": "json_schema", "schema": closed(SCHEMA)}}
    return body


def closed(schema: dict) -> dict:
    return {**schema, "additionalProperties": False}


def openai_request(turns, s) -> dict:
    messages = [{"role": "system", "content": s["system"]}] if s["system"] else []
    for turn in turns:
        if turn[0] == "user":
            messages.append({"role": "user", "content": turn[1]})
        elif turn[0] == "assistant":
            message = {"role": "assistant", "content": turn[1]}
            if turn[2]:
                message["tool_calls"] = [
                    {
                        "id": i,
                        "type": "function",
                        "function": {"name": n, "arguments": json.dumps(a)},
                    }
                    for i, n, a in turn[2]
                ]
            messages.append(message)
        else:
            messages += [{"role": "tool", "tool_call_id": i, "content": t} for i, t in turn[1]]
    body = {"model": "x", "messages": messages, "max_tokens": s["max_tokens"]}
    names = sorted(used_names(turns) | ({"get_weather"} if s["tools"] else set()))
    if names:
        body["tools"] = [
            {"type": "function", "function": {"name": n, "parameters": SCHEMA}} for n in names
        ]
        if s["choice"] == "tool":
            body["tool_choice"] = {"type": "function", "function": {"name": names[0]}}
        elif s["choice"]:
            body["tool_choice"] = {"any": "required"}.get(s["choice"], s["choice"])
    for key in ("temperature", "top_p", "seed"):
        if s[key] is not None:
            body[key] = s[key]
    if s["penalty"] is not None:
        body["presence_penalty"] = body["frequency_penalty"] = s["penalty"]
    if s["stop"]:
        body["stop"] = s["stop"][:4]
    if isinstance(s["reasoning"], str):
        body["reasoning_effort"] = {"off": "none"}.get(s["reasoning"], s["reasoning"])
    if s["json"] == "object":
        body["response_format"] = {"type": "json_object"}
    elif s["json"] == "schema":
        spec = {"name": "answer", "schema": SCHEMA}
        body["response_format"] = {"type": "json_schema", "json_schema": spec}
    return body


def gemini_request(turns, s) -> dict:
    contents = []
    for turn in turns:
        if turn[0] == "user":
            parts, role = [{"text": turn[1]}], "user"
        elif turn[0] == "assistant":
            parts = [{"text": turn[1]}] if turn[1] else []
            parts += [{"functionCall": {"name": n, "args": a}} for _, n, a in turn[2]]
            role = "model"
        else:
            names = {c[0]: c[1] for t in turns if t[0] == "assistant" for c in t[2]}
            parts = [
                {"functionResponse": {"name": names[i], "response": {"output": t}}}
                for i, t in turn[1]
            ]
            role = "user"
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"] += parts
        else:
            contents.append({"role": role, "parts": parts})
    body: dict = {"contents": contents}
    if s["system"]:
        body["systemInstruction"] = {"parts": [{"text": s["system"]}]}
    names = sorted(used_names(turns) | ({"get_weather"} if s["tools"] else set()))
    if names:
        upper = {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}
        body["tools"] = [
            {"functionDeclarations": [{"name": n, "parameters": upper} for n in names]}
        ]
        if s["choice"]:
            mode = {"auto": "AUTO", "any": "ANY", "none": "NONE", "tool": "ANY"}[s["choice"]]
            calling = {"mode": mode}
            if s["choice"] == "tool":
                calling["allowedFunctionNames"] = [names[0]]
            body["toolConfig"] = {"functionCallingConfig": calling}
    config: dict = {"maxOutputTokens": s["max_tokens"]}
    for key, name in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed")):
        if s[key] is not None:
            config[name] = s[key]
    if s["top_k"] is not None:
        config["topK"] = s["top_k"]
    if s["penalty"] is not None:
        config["presencePenalty"] = config["frequencyPenalty"] = s["penalty"]
    if s["stop"]:
        config["stopSequences"] = s["stop"][:5]
    if s["reasoning"] is not None:
        budget = {"off": 0, "low": 1024, "high": 24576}.get(s["reasoning"], s["reasoning"])
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True}
    if s["json"]:
        config["responseMimeType"] = "application/json"
        if s["json"] == "schema":
            config["responseJsonSchema"] = {
                "type": "OBJECT",
                "properties": {"city": {"type": "STRING"}},
                "required": ["city"],
            }
    body["generationConfig"] = config
    return body


WRITERS = {"anthropic": anthropic_request, "openai": openai_request, "gemini": gemini_request}
PAIRS = [(c, u) for c in WRITERS for u in WRITERS if c != u]


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(PAIRS),
    conversations(),
    settings_(),
    st.data(),
)
def test_a_valid_request_translates_to_a_valid_request(pair, turns, s, data):
    client, upstream = pair
    body = WRITERS[client](turns, s)
    VALIDATORS[client](body)  # the drawing is right: the client's own API would take it
    model = data.draw(st.sampled_from(MODELS[upstream]))
    t = translator(client, upstream)
    try:
        out = t.request(body, model=model, stream=data.draw(st.booleans()))
    except InvalidRequest as refused:  # allowed: a clear 400 naming what cannot travel
        assert refused.param or ":" in refused.message
        return
    VALIDATORS[upstream]({**out, "model": model} if upstream != "gemini" else out)
