"""Gemini ⇄ Anthropic and Gemini ⇄ OpenAI, from real-format payloads."""

import json

import pytest
from google.genai import types

from localgate.errors import InvalidRequest, RelayedError
from localgate.translate import drop_foreign_thinking, translator

from .streams import check_anthropic, check_openai, load_events, load_json, parse, run_stream

GEMINI_SIGNATURE = "CiQB0e2Kb7w3Q9pXGc1jQm2sYt8m"


def claude_code_body() -> dict:
    return load_json("claude-code-2.1.197-messages-request.json")["body"]


# --- requests toward Gemini ---------------------------------------------------


def test_claude_code_request_to_gemini():
    body = claude_code_body()
    out = translator("anthropic", "gemini").request(body, model="gemini-2.5-pro", stream=True)
    assert set(out) == {"contents", "systemInstruction", "tools", "generationConfig"}
    assert out["systemInstruction"] == {"parts": [{"text": b["text"]} for b in body["system"]]}
    (user,) = out["contents"]  # the mid-conversation system message joins the user turn
    assert user["role"] == "user"
    assert [p["text"] for p in user["parts"][:2]] == [
        b["text"] for b in body["messages"][0]["content"]
    ]
    assert user["parts"][2]["text"] == f"<system>\n{body['messages'][1]['content']}\n</system>"
    declarations = out["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == [t["name"] for t in body["tools"]]
    for declaration, tool in zip(declarations, body["tools"], strict=True):
        expected = {k: v for k, v in tool["input_schema"].items() if k != "$schema"}
        assert declaration["parametersJsonSchema"] == expected
    assert out["generationConfig"] == {
        "maxOutputTokens": 64000,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": -1},
    }
    assert "cache_control" not in json.dumps(out)


def test_claude_code_request_to_gemini_3_uses_thinking_level():
    out = translator("anthropic", "gemini").request(
        claude_code_body(), model="gemini-3-pro-preview", stream=False
    )
    assert out["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingLevel": "high",
    }


def test_gemini_signature_survives_a_claude_code_tool_loop():
    """Gemini stream → Claude Code → next request → Gemini gets the signature back on its call."""
    t = translator("anthropic", "gemini")
    t.request(claude_code_body(), model="gemini-2.5-pro", stream=True)
    message = check_anthropic(
        run_stream(t.stream(), load_events("gemini_stream_thinking_call.sse"))
    )
    thinking, text, carrier, call = message["content"]
    assert thinking["type"] == "thinking" and thinking["signature"] == "localgate:gemini:"
    assert (
        thinking["thinking"]
        == "**Planning the file write**\n\nThe user wants a file created. I'll use Bash."
    )
    assert text == {"type": "text", "text": "Writing the file now."}
    assert carrier == {
        "type": "thinking",
        "thinking": "",
        "signature": f"localgate:gemini:{GEMINI_SIGNATURE}",
    }
    assert call["name"] == "Bash" and call["input"]["command"] == "echo hello > /tmp/out.txt"
    assert message["stop_reason"] == "tool_use"
    assert (
        message["usage"]["input_tokens"] == 1024
        and message["usage"]["cache_read_input_tokens"] == 4096
    )
    assert message["usage"]["output_tokens"] == 31 + 139

    # Claude Code sends the turn back with the tool result.
    history = [{"role": "user", "content": "write hello to /tmp/out.txt"}]
    history.append({"role": "assistant", "content": message["content"]})
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": "done"}
    history.append({"role": "user", "content": [result]})
    body = {
        "model": "x",
        "max_tokens": 1000,
        "messages": history,
        "tools": claude_code_body()["tools"],
    }
    out = translator("anthropic", "gemini").request(body, model="gemini-2.5-pro", stream=True)
    model_turn, answer = out["contents"][1:]
    assert model_turn == {
        "role": "model",
        "parts": [
            {"text": thinking["thinking"], "thought": True},
            {"text": "Writing the file now."},
            {
                "functionCall": {"name": "Bash", "args": call["input"]},
                "thoughtSignature": GEMINI_SIGNATURE,
            },
        ],
    }
    assert answer == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "Bash", "response": {"output": "done"}}}],
    }

    # The same history toward an Anthropic upstream (raw relay) loses the foreign signature.
    relayed = drop_foreign_thinking(body["messages"])
    assert relayed[1]["content"] == [text, call]
    assert drop_foreign_thinking(relayed) is relayed  # nothing left to drop: the list itself


def test_gemini_3_gets_placeholder_signature_when_the_client_lost_it():
    body = load_json("openai_request_tool_round_trip.json")
    out = translator("openai", "gemini").request(body, model="gemini-3-flash-preview", stream=False)
    model_turn = out["contents"][1]
    assert model_turn["parts"][0]["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in model_turn["parts"][1]


def test_openai_request_to_gemini_golden():
    body = load_json("openai_request_tool_round_trip.json") | {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": {"type": "object"}},
        }
    }
    out = translator("openai", "gemini").request(body, model="gemini-2.5-flash", stream=True)
    assert out == {
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": body["messages"][1]["content"][0]["text"]},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
                    {"functionCall": {"name": "get_time", "args": {"tz": "Europe/Paris"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "name": "get_weather",
                            "response": {"output": "18°C, cloudy"},
                        }
                    },
                    {"functionResponse": {"name": "get_time", "response": {"output": "14:05"}}},
                ],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "parametersJsonSchema": body["tools"][0]["function"]["parameters"],
                    },
                    {
                        "name": "get_time",
                        "description": "",
                        "parametersJsonSchema": body["tools"][1]["function"]["parameters"],
                    },
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {
            "temperature": 1.5,
            "maxOutputTokens": 1000,
            "stopSequences": ["END"],
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object"},
        },
    }


def test_tool_result_images_and_url_images_to_gemini():
    body = {
        "model": "x",
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "partial"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": "AA==",
                                },
                            },
                        ],
                    }
                ],
            },
        ],
    }
    out = translator("anthropic", "gemini").request(body, model="gemini-2.5-flash", stream=False)
    assert out["contents"][0]["parts"] == [
        {"fileData": {"mimeType": "image/png", "fileUri": "https://x.test/a.png"}}
    ]
    assert out["contents"][2]["parts"] == [
        {"functionResponse": {"name": "shot", "response": {"error": "partial"}}},
        {"inlineData": {"mimeType": "image/png", "data": "AA=="}},
    ]


# --- requests from Gemini clients -----------------------------------------------


def test_gemini_request_to_anthropic():
    body = load_json("gemini_request_tool_round_trip.json")
    out = translator("gemini", "anthropic").request(body, model="claude-sonnet-4-5", stream=True)
    assert out["system"] == [{"type": "text", "text": "You are a weather bot."}]
    assert out["tools"][0]["input_schema"] == {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    }
    user, model_turn, results = out["messages"]
    assert user["content"][1]["source"] == {
        "type": "base64",
        "media_type": "image/jpeg",
        "data": "/9j/4AAQ",
    }
    ids = [b["id"] for b in model_turn["content"]]
    assert [b["type"] for b in model_turn["content"]] == [
        "tool_use",
        "tool_use",
    ]  # Gemini's signature dropped
    assert len(set(ids)) == 2
    assert [(b["tool_use_id"], b.get("is_error", False)) for b in results["content"]] == [
        (ids[0], False),
        (ids[1], True),
    ]
    assert out["max_tokens"] == 2048 and out["stop_sequences"] == ["END"]
    assert "thinking" not in out  # the tool turn carries no Anthropic thinking
    assert out["tool_choice"] == {"type": "auto"}


def test_gemini_request_to_openai():
    body = load_json("gemini_request_tool_round_trip.json")
    out = translator("gemini", "openai").request(body, model="gpt-4o", stream=False)
    roles = [m["role"] for m in out["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool"]
    calls = out["messages"][2]["tool_calls"]
    assert [m["tool_call_id"] for m in out["messages"][3:]] == [c["id"] for c in calls]
    assert out["messages"][4]["content"] == "Error: station offline"
    assert out["temperature"] == 0.4 and out["max_tokens"] == 2048


def test_gemini_candidate_count_is_400():
    body = {"contents": [], "generationConfig": {"candidateCount": 2}}
    with pytest.raises(InvalidRequest):
        translator("gemini", "openai").request(body, model="gpt-4o", stream=False)


# --- responses ----------------------------------------------------------------------


def test_gemini_response_to_anthropic():
    t = translator("anthropic", "gemini")
    out = t.response(load_json("gemini_response_parallel_calls.json"))
    carrier, text, paris, tokyo = out["content"]
    assert carrier == {
        "type": "thinking",
        "thinking": "",
        "signature": "localgate:gemini:EpYBCpMBAdHtim9",
    }
    assert text == {"type": "text", "text": "Checking both cities."}
    assert (paris["input"], tokyo["input"]) == ({"location": "Paris"}, {"location": "Tokyo"})
    assert paris["id"] != tokyo["id"]
    assert out["stop_reason"] == "tool_use"
    assert out["usage"]["output_tokens"] == 90 and out["usage"]["input_tokens"] == 120


def test_gemini_response_to_openai():
    out = translator("openai", "gemini").response(load_json("gemini_response_parallel_calls.json"))
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Checking both cities."
    assert [c["function"]["arguments"] for c in choice["message"]["tool_calls"]] == [
        '{"location": "Paris"}',
        '{"location": "Tokyo"}',
    ]
    assert out["usage"]["completion_tokens_details"] == {"reasoning_tokens": 50}


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("STOP", "end_turn"),
        ("MAX_TOKENS", "max_tokens"),
        ("SAFETY", "refusal"),
        ("RECITATION", "refusal"),
    ],
)
def test_gemini_finish_reasons(finish, stop):
    body = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": finish}
        ]
    }
    assert translator("anthropic", "gemini").response(body)["stop_reason"] == stop


def test_blocked_prompt_is_a_refusal():
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    out = translator("openai", "gemini").response(body)
    assert out["choices"][0]["finish_reason"] == "content_filter"


def test_anthropic_message_to_gemini_client_parses_in_sdk():
    t = translator("gemini", "anthropic")
    thoughts = {"thinkingConfig": {"includeThoughts": True}}
    t.request(
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": thoughts},
        model="claude-x",
        stream=False,
    )
    out = t.response(load_json("anthropic_message_thinking_tool.json"))
    parsed = types.GenerateContentResponse._from_response(response=out, kwargs={})
    assert parsed.text == "I'll check the weather."
    assert parsed.function_calls[0].args == {"location": "Paris", "unit": "celsius"}
    assert parsed.usage_metadata.prompt_token_count == 472 + 100 + 2048
    assert parsed.candidates[0].content.parts[0].thought is True


def test_gemini_client_gets_no_thoughts_it_did_not_ask_for():
    t = translator("gemini", "anthropic")
    t.request(
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, model="claude-x", stream=False
    )
    out = t.response(load_json("anthropic_message_thinking_tool.json"))
    assert not any(p.get("thought") for p in out["candidates"][0]["content"]["parts"])


# --- streams --------------------------------------------------------------------------


def test_gemini_stream_to_openai():
    t = translator("openai", "gemini")
    body = {
        "model": "x",
        "messages": [{"role": "user", "content": "go"}],
        "stream_options": {"include_usage": True},
    }
    t.request(body, model="gemini-2.5-pro", stream=True)
    out = check_openai(
        run_stream(t.stream(), load_events("gemini_stream_thinking_call.sse")), usage=True
    )
    assert out["text"] == "Writing the file now."
    assert out["reasoning"].endswith("I'll use Bash.")
    assert json.loads(out["tool_calls"][0]["arguments"])["command"] == "echo hello > /tmp/out.txt"
    assert out["finish_reason"] == "tool_calls"
    assert out["usage"]["prompt_tokens"] == 5120 and out["usage"]["completion_tokens"] == 170


def test_anthropic_stream_to_gemini_client():
    t = translator("gemini", "anthropic")
    t.request(
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, model="claude-x", stream=True
    )
    data = run_stream(t.stream(), load_events("anthropic_stream_thinking_tool.sse"))
    chunks = [
        types.GenerateContentResponse._from_response(response=e.json(), kwargs={})
        for e in parse(data)
    ]
    parts = [p for c in chunks for p in c.candidates[0].content.parts]
    assert "".join(p.text for p in parts if p.text and not p.thought) == "Checking the weather now."
    assert [p.function_call.args for p in parts if p.function_call] == [{"location": "Paris"}]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == 89


def test_cut_stream_to_gemini_client():
    t = translator("gemini", "openai")
    t.request(
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, model="gpt-4o", stream=True
    )
    stream = t.stream()
    events = load_events("openai_stream_tool_calls.sse")[:3]
    data = b"".join(stream.feed(e) for e in events) + stream.fail(RelayedError(429, "slow down"))
    last = parse(data)[-1].json()
    assert last == {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}


# --- Claude's thinking through a Gemini client -------------------------------------------

WEATHER_TOOL = {
    "functionDeclarations": [
        {"name": "get_weather", "parametersJsonSchema": {"type": "object", "properties": {}}}
    ]
}
ASKED = {
    "contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
    "tools": [WEATHER_TOOL],
    "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 4096}},
}


def answer_parts(answer: dict | list) -> list[dict]:
    """The model turn a Gemini client keeps, read and written back by the python SDK —
    without its thought parts, as Gemini CLI keeps it."""
    chunks = answer if isinstance(answer, list) else [answer]
    parts = []
    for chunk in chunks:
        parsed = types.GenerateContentResponse._from_response(response=chunk, kwargs={})
        for part in parsed.candidates[0].content.parts or []:
            if not part.thought:
                parts.append(part.model_dump(mode="json", by_alias=True, exclude_none=True))
    return parts


def continue_on_claude(parts: list[dict], model: str = "claude-sonnet-4-5") -> dict:
    """The next request — the call's result sent back — as Claude receives it."""
    body = {
        **ASKED,
        "contents": [
            *ASKED["contents"],
            {"role": "model", "parts": parts},
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"output": "sun"}}}
                ],
            },
        ],
    }
    return translator("gemini", "anthropic").request(body, model=model, stream=False)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_claudes_thinking_rides_on_the_call_and_begins_the_continued_turn(stream):
    """Gemini CLI keeps no thought parts, only a call's thoughtSignature: Claude's
    thinking travels whole there, so the continued tool turn begins with it, signed,
    and thinking stays on (else Claude would answer that turn without it)."""
    t = translator("gemini", "anthropic")
    t.request(ASKED, model="claude-sonnet-4-5", stream=stream)
    if stream:
        data = run_stream(t.stream(), load_events("anthropic_stream_thinking_tool.sse"))
        answer = [e.json() for e in parse(data)]
    else:
        answer = t.response(load_json("anthropic_message_thinking_tool.json"))
    parts = answer_parts(answer)
    call = next(p for p in parts if "functionCall" in p)
    assert call["thoughtSignature"], parts  # base64 the SDK took as bytes and gave back

    out = continue_on_claude(parts)
    assistant = out["messages"][1]["content"]
    assert assistant[0]["type"] == "thinking" and assistant[-1]["type"] == "tool_use"
    assert assistant[0]["signature"] == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDb"
    said = "I should look at the weather" if stream else "The user wants the weather"
    assert assistant[0]["thinking"].startswith(said)  # word for word, as Claude signed it
    assert out["thinking"]["type"] == "enabled"


def test_a_carried_thinking_never_reaches_gemini_and_a_forged_one_is_plain_data():
    """After a fallback from a Claude account to a Gemini one, the relayed history
    loses what Google could not verify; a forged carrier makes no thinking up."""
    from localgate.dialects import gemini as wire
    from localgate.translate.gemini_parts import CARRIED_TEXT, SKIP_SIGNATURE

    assert wire.CARRIED_THINKING == b'"' + CARRIED_TEXT.encode()
    t = translator("gemini", "anthropic")
    t.request(ASKED, model="claude-sonnet-4-5", stream=False)
    parts = answer_parts(t.response(load_json("anthropic_message_thinking_tool.json")))
    body = {**ASKED, "contents": [*ASKED["contents"], {"role": "model", "parts": parts}]}
    relayed = wire.outbound(body, json.dumps(body).encode())
    call = next(p for p in relayed["contents"][1]["parts"] if "functionCall" in p)
    assert call["thoughtSignature"] == SKIP_SIGNATURE
    assert CARRIED_TEXT not in json.dumps(relayed)
    assert wire.outbound(ASKED, json.dumps(ASKED).encode()) == {}  # nothing to drop
    forged = [{**parts[-1], "thoughtSignature": "bG9jYWxnYXRlOmFudGhyb3BpYy10aG91Z2h0Onh4"}]
    out = continue_on_claude(forged)
    assert out["messages"][1]["content"][0]["type"] == "tool_use"  # no thinking made up
    assert "thinking" not in out
