"""Anthropic ⇄ OpenAI: requests, responses and streams, from real-format payloads."""

import json

import pytest

from localgate.errors import InvalidRequest, RelayedError, UpstreamTimeout
from localgate.sse import Event
from localgate.translate import error_message, translator

from .streams import check_anthropic, check_openai, load_events, load_json, run_stream


def claude_code_body() -> dict:
    return load_json("claude-code-2.1.197-messages-request.json")["body"]


def walk(value):
    """Every dict key in a nested structure."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# --- requests: Anthropic client → OpenAI upstream ---------------------------


def test_claude_code_request_to_openai():
    body = claude_code_body()
    out = translator("anthropic", "openai").request(body, model="gpt-4o", stream=True)
    assert out["model"] == "gpt-4o"
    assert out["max_tokens"] == 16384  # 64000 clamped to gpt-4o's cap
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    roles = [m["role"] for m in out["messages"]]
    assert roles == ["system", "user"]  # the mid-conversation system message joins the user turn
    system_texts = [b["text"] for b in body["system"]]
    assert out["messages"][0]["content"] == "\n\n".join(system_texts)
    user_text = "\n".join(b["text"] for b in body["messages"][0]["content"])
    system_note = f"<system>\n{body['messages'][1]['content']}\n</system>"
    assert out["messages"][1]["content"] == f"{user_text}\n\n{system_note}"
    assert [t["function"]["name"] for t in out["tools"]] == [t["name"] for t in body["tools"]]
    bash = next(t for t in out["tools"] if t["function"]["name"] == "Bash")
    assert bash["function"]["parameters"]["required"] == ["command"]
    assert "cache_control" not in set(walk(out))
    assert not {"context_management", "thinking", "output_config", "metadata"} & set(out)
    assert "$schema" not in bash["function"]["parameters"]  # some compatible servers choke on it
    assert "reasoning_effort" not in out and "temperature" not in out


def test_claude_code_request_to_openai_reasoning_model():
    out = translator("anthropic", "openai").request(claude_code_body(), model="o3", stream=False)
    assert out["max_completion_tokens"] == 64000 and "max_tokens" not in out
    assert out["reasoning_effort"] == "high"  # output_config.effort
    assert "stream" not in out and "stream_options" not in out


def test_anthropic_tool_round_trip_to_openai():
    body = {
        "model": "claude-x",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "write a file"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "use bash", "signature": "localgate:openai:"},
                    {"type": "text", "text": ""},
                    {
                        "type": "tool_use",
                        "id": "lgx_functions_2eBash_3a0",
                        "name": "Bash",
                        "input": {"command": "ls"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "lgx_functions_2eBash_3a0",
                        "content": [
                            {"type": "text", "text": "a.txt"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": "AAA=",
                                },
                            },
                        ],
                    },
                    {"type": "text", "text": "and now?"},
                ],
            },
        ],
    }
    out = translator("anthropic", "openai").request(body, model="deepseek-chat", stream=False)
    assert out["messages"] == [
        {"role": "user", "content": "write a file"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "functions.Bash:0",
                    "type": "function",
                    "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
                }
            ],
            "reasoning_content": "use bash",
        },
        {
            "role": "tool",
            "tool_call_id": "functions.Bash:0",
            "content": "a.txt\n[image content follows in the next user message]",
        },
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}},
                {"type": "text", "text": "and now?"},
            ],
        },
    ]
    assert out["max_tokens"] == 100


def test_anthropic_signed_thinking_is_not_sent_to_openai():
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "secret", "signature": "EqQBCgIYAh"},
                    {"type": "text", "text": "hello"},
                ],
            },
        ],
    }
    out = translator("anthropic", "openai").request(body, model="gpt-4o", stream=False)
    assert out["messages"][1] == {"role": "assistant", "content": "hello"}


# --- requests: OpenAI client → Anthropic upstream ---------------------------


def test_openai_request_to_anthropic_golden():
    body = load_json("openai_request_tool_round_trip.json")
    out = translator("openai", "anthropic").request(body, model="claude-sonnet-4-5", stream=True)
    weather_schema = body["tools"][0]["function"]["parameters"]
    time_schema = body["tools"][1]["function"]["parameters"]
    encoded = "lgx_functions_2eget_5ftime_3a1"
    assert out == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1000,
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": body["messages"][1]["content"][0]["text"]},
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBORw0KGgo=",
                        },
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "call_Xq1bA3",
                        "name": "get_weather",
                        "input": {"location": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": encoded,
                        "name": "get_time",
                        "input": {"tz": "Europe/Paris"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_Xq1bA3",
                        "content": [{"type": "text", "text": "18°C, cloudy"}],
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": encoded,
                        "content": [{"type": "text", "text": "14:05"}],
                    },
                ],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": weather_schema,
            },
            {"name": "get_time", "description": "", "input_schema": time_schema},
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "temperature": 1.0,  # OpenAI's 1.5 clamped into Anthropic's 0–1
        "stream": True,
    }


@pytest.mark.parametrize(
    "model,asked,sent",
    [
        ("claude-opus-4-8", None, 64000),  # nothing asked: what Claude Code asks of it
        ("claude-opus-4-8", 100000, 100000),  # 4.6 and later write up to 128K
        ("claude-opus-4-8", 500000, 128000),
        ("claude-sonnet-4-6", 128000, 128000),
        ("claude-opus-5-5", None, 64000),
        ("claude-sonnet-4-5", None, 64000),  # its cap
        ("claude-sonnet-4-5", 100000, 64000),
        ("claude-haiku-4-5", 100000, 64000),
        ("claude-opus-4-1", None, 32000),
        ("deepseek-v4-pro", None, 8192),  # an Anthropic-compatible server's own model
    ],
)
def test_max_tokens_toward_claude(model, asked, sent):
    """A client's ask is lowered only to the model's own cap; when it asked nothing,
    Anthropic (which needs max_tokens, and reserves rate limit by it) gets the cap
    up to Claude Code's 64000."""
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}
    if asked is not None:
        body["max_completion_tokens"] = asked
    out = translator("openai", "anthropic").request(body, model=model, stream=False)
    assert out["max_tokens"] == sent


def test_openai_reasoning_effort_becomes_thinking_budget():
    body = {
        "model": "x",
        "messages": [{"role": "user", "content": "hi"}],
        "reasoning_effort": "low",
        "temperature": 0.2,
    }
    out = translator("openai", "anthropic").request(body, model="claude-sonnet-4-5", stream=False)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert out["max_tokens"] == 64000  # no max_tokens asked: the model's cap
    assert "temperature" not in out  # refused alongside thinking


def test_openai_thinking_off_when_the_tool_turn_lost_its_thinking():
    body = load_json("openai_request_tool_round_trip.json") | {"reasoning_effort": "high"}
    t = translator("openai", "anthropic")
    out = t.request(body, model="claude-sonnet-4-5", stream=False)
    assert "thinking" not in out
    # The client hears of it, and of its temperature 1.5 lowered to Anthropic's 1.
    assert t.dropped == ("reasoning_effort", "temperature")
    assert out["temperature"] == 1.0


def test_openai_response_format_becomes_system_instruction():
    body = {
        "model": "x",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": True},
        },
    }
    out = translator("openai", "anthropic").request(body, model="claude-3-5-haiku", stream=False)
    assert out["system"][0] == {"type": "text", "text": "Be brief."}
    assert '{"type": "object"}' in out["system"][1]["text"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"modalities": ["text", "audio"], "audio": {"voice": "alloy"}}, "audio"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_openai_untranslatable_parameters_are_400(extra, param):
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}]} | extra
    with pytest.raises(InvalidRequest) as info:
        translator("openai", "anthropic").request(body, model="claude-haiku-4-5", stream=False)
    assert info.value.param == param and info.value.status == 400


def test_openai_audio_input_is_400():
    body = {
        "model": "x",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}
                ],
            }
        ],
    }
    with pytest.raises(InvalidRequest):
        translator("openai", "anthropic").request(body, model="claude-haiku-4-5", stream=False)


# --- non-streaming responses -----------------------------------------------


def test_openai_completion_to_anthropic_message():
    t = translator("anthropic", "openai")
    t.request(claude_code_body(), model="gpt-4o", stream=False)
    out = t.response(load_json("openai_completion_tool_calls.json"))
    assert out["id"].startswith("msg_") and out["type"] == "message" and out["role"] == "assistant"
    assert out["model"] == "gpt-4o-2024-08-06"
    assert out["content"] == [
        {
            "type": "tool_use",
            "id": "lgx_functions_2eBash_3a0",
            "name": "Bash",
            "input": {"command": "echo hi > /tmp/x"},
        }
    ]
    assert out["stop_reason"] == "tool_use" and out["stop_sequence"] is None
    assert out["usage"] == {
        "input_tokens": 52,
        "output_tokens": 21,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2048,
    }


def test_anthropic_message_to_openai_completion():
    t = translator("openai", "anthropic")
    t.request(
        {"model": "x", "messages": [{"role": "user", "content": "hi"}]},
        model="claude-x",
        stream=False,
    )
    out = t.response(load_json("anthropic_message_thinking_tool.json"))
    assert out["object"] == "chat.completion" and out["id"].startswith("chatcmpl-")
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": "I'll check the weather.",
        "refusal": None,
        "reasoning_content": "The user wants the weather; call the tool.",
        "tool_calls": [
            {
                "id": "toolu_01A09q90qw90lq917835lq9",
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "arguments": '{"location": "Paris", "unit": "celsius"}',
                },
            }
        ],
    }
    assert out["usage"] == {
        "prompt_tokens": 472 + 100 + 2048,
        "completion_tokens": 89,
        "total_tokens": 472 + 100 + 2048 + 89,
        "prompt_tokens_details": {"cached_tokens": 2048},
    }


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_openai_finish_reasons_to_anthropic(finish, stop):
    t = translator("anthropic", "openai")
    body = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": finish}
        ]
    }
    assert t.response(body)["stop_reason"] == stop


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_anthropic_stop_reasons_to_openai(stop, finish):
    body = load_json("anthropic_message_thinking_tool.json") | {"stop_reason": stop}
    assert translator("openai", "anthropic").response(body)["choices"][0]["finish_reason"] == finish


# --- streams ----------------------------------------------------------------


def test_openai_stream_to_anthropic():
    t = translator("anthropic", "openai")
    t.request(claude_code_body(), model="gpt-4o", stream=True)
    stream = t.stream()
    events = load_events("openai_stream_tool_calls.sse")
    first = stream.feed(events[0])
    assert first.startswith(b"event: message_start\n")  # at once, before any content
    data = first + run_stream(stream, events[1:])
    message = check_anthropic(data)
    assert message["stop_reason"] == "tool_use"
    assert [b["type"] for b in message["content"]] == ["text", "tool_use", "tool_use"]
    assert message["content"][0]["text"] == "Let me check both files."
    assert [b["input"] for b in message["content"][1:]] == [
        {"file_path": "/tmp/a.txt"},
        {"file_path": "/tmp/b.txt"},
    ]
    assert message["usage"]["input_tokens"] == 1520 - 1024
    assert message["usage"]["cache_read_input_tokens"] == 1024
    assert message["usage"]["output_tokens"] == 58
    assert stream.usage.total == 1520 + 58  # what the pool's usage accounting adds up
    assert (
        stream.usage.input_tokens,
        stream.usage.output_tokens,
        stream.usage.cache_read_tokens,
    ) == (
        496,
        58,
        1024,
    )


def test_deepseek_reasoning_stream_to_anthropic():
    t = translator("anthropic", "openai")
    t.request(claude_code_body(), model="deepseek-reasoner", stream=True)
    message = check_anthropic(run_stream(t.stream(), load_events("deepseek_stream_reasoning.sse")))
    thinking, text = message["content"]
    assert thinking["thinking"] == "The user wants a greeting."
    assert thinking["signature"] == "localgate:openai:"  # marks its origin, nothing invented
    assert text == {"type": "text", "text": "Hello!"}
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["output_tokens"] == 9


def test_anthropic_stream_to_openai():
    t = translator("openai", "anthropic")
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    t.request(
        body | {"stream_options": {"include_usage": True}}, model="claude-sonnet-4-5", stream=True
    )
    out = check_openai(
        run_stream(t.stream(), load_events("anthropic_stream_thinking_tool.sse")), usage=True
    )
    assert out["reasoning"] == "I should look at the weather in Paris."
    assert out["text"] == "Checking the weather now."
    assert out["tool_calls"] == [
        {
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "arguments": '{"location": "Paris"}',
        }
    ]
    assert out["finish_reason"] == "tool_calls"
    assert out["usage"]["prompt_tokens"] == 472 + 2048
    assert out["usage"]["completion_tokens"] == 89
    assert out["usage"]["prompt_tokens_details"] == {"cached_tokens": 2048}


def test_anthropic_stream_to_openai_without_usage_asked():
    t = translator("openai", "anthropic")
    t.request(
        {"model": "x", "messages": [{"role": "user", "content": "hi"}]},
        model="claude-x",
        stream=True,
    )
    out = check_openai(
        run_stream(t.stream(), load_events("anthropic_stream_thinking_tool.sse")), usage=False
    )
    assert out["usage"] is None


def test_cut_stream_to_anthropic_closes_block_then_errors():
    t = translator("anthropic", "openai")
    t.request(claude_code_body(), model="gpt-4o", stream=True)
    stream = t.stream()
    events = load_events("openai_stream_tool_calls.sse")[:5]  # cut inside the first tool call
    data = b"".join(stream.feed(e) for e in events) + stream.fail(
        UpstreamTimeout("upstream went quiet")
    )
    message = check_anthropic(data, complete=False)
    assert message["error"] == {"type": "timeout_error", "message": "upstream went quiet"}
    assert stream.finish() == b"" and stream.fail(UpstreamTimeout("again")) == b""


def test_cut_stream_to_openai_emits_error_object():
    t = translator("openai", "anthropic")
    t.request(
        {"model": "x", "messages": [{"role": "user", "content": "hi"}]},
        model="claude-x",
        stream=True,
    )
    stream = t.stream()
    events = load_events("anthropic_stream_thinking_tool.sse")[:9]
    data = b"".join(stream.feed(e) for e in events) + stream.fail(RelayedError(529, "Overloaded"))
    check_openai(data, usage=False, complete=False)
    last = json.loads(data.strip().split(b"\n")[-1][len(b"data: ") :])
    assert last == {
        "error": {
            "message": "Overloaded",
            "type": "server_error",
            "param": None,
            "code": "overloaded",
        }
    }


def test_upstream_error_event_mid_stream_becomes_client_error():
    t = translator("openai", "anthropic")
    t.request(
        {"model": "x", "messages": [{"role": "user", "content": "hi"}]},
        model="claude-x",
        stream=True,
    )
    stream = t.stream()
    events = load_events("anthropic_stream_thinking_tool.sse")[:4]
    error = Event(
        "error", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    )
    data = b"".join(stream.feed(e) for e in events) + stream.feed(error)
    assert b'"code":"overloaded"' in data
    assert stream.finish() == b""


def test_openai_stream_with_content_and_finish_in_one_chunk():
    t = translator("anthropic", "openai")
    t.request(claude_code_body(), model="gpt-4o", stream=True)
    chunk = {
        "id": "c",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}],
    }
    message = check_anthropic(run_stream(t.stream(), [Event(None, json.dumps(chunk))]))
    assert message["content"] == [{"type": "text", "text": "Hi"}]
    assert message["stop_reason"] == "end_turn"


def test_unreadable_upstream_body_is_502():
    from localgate.errors import UpstreamError

    with pytest.raises(UpstreamError):
        translator("anthropic", "openai").response({"choices": "garbage"})


def test_unreadable_stream_events_are_skipped():
    t = translator("anthropic", "openai")
    t.request(claude_code_body(), model="gpt-4o", stream=True)
    stream = t.stream()
    assert stream.feed(Event(None, "not json")) == b""
    assert stream.feed(Event(None, '{"choices": [{"delta": "odd"}]}')) == b""
    message = check_anthropic(run_stream(stream, load_events("openai_stream_tool_calls.sse")))
    assert message["content"][0]["text"] == "Let me check both files."


def test_mid_conversation_system_between_tool_turns_to_openai():
    body = {
        "model": "x",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
            },
            {"role": "system", "content": "reminder"},
        ],
    }
    out = translator("anthropic", "openai").request(body, model="gpt-4o", stream=False)
    assert out["messages"][-2:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        {"role": "user", "content": "<system>\nreminder\n</system>"},
    ]


# --- errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "body", "message"),
    [
        (
            "anthropic",
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            "Overloaded",
        ),
        (
            "openai",
            b'{"error":{"message":"Rate limit reached","type":"requests"}}',
            "Rate limit reached",
        ),
        (
            "gemini",
            b'[{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}]',
            "Quota exceeded",
        ),
        (
            "openai",
            b"<html>\n<h1>502 Bad Gateway</h1></html>",
            "<html> <h1>502 Bad Gateway</h1></html>",
        ),
    ],
)
def test_error_message(dialect, body, message):
    assert error_message(dialect, body) == message


def test_claude_code_billing_header_is_not_sent_to_other_providers():
    """A per-request system line would break OpenAI/DeepSeek prefix caching."""
    from localgate.translate import translator

    body = {
        "model": "claude-opus-4-8",
        "max_tokens": 100,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197; cch=1a2b;"},
            {"type": "text", "text": "You are Claude.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [{"role": "user", "content": "hi"}],
    }
    out = translator("anthropic", "openai").request(body, model="gpt-4o", stream=False)
    system = [m for m in out["messages"] if m["role"] in ("system", "developer")]
    assert "billing-header" not in json.dumps(system)
    assert "You are Claude." in json.dumps(system)
