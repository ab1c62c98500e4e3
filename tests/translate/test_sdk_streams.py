"""Translated streams and responses read by the official SDKs' own parsers.

The SDKs talk to an httpx MockTransport that answers with our bytes, so no
socket is opened; what the SDK assembles must equal what the upstream said.
"""

import json

import anthropic
import httpx2 as httpx
import openai

from localgate.translate import translator

from .streams import load_events, load_json, run_stream


def _anthropic_client(body: bytes, content_type: str) -> anthropic.Anthropic:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return anthropic.Anthropic(api_key="test", base_url="http://127.0.0.1:9", http_client=http)


def _openai_client(body: bytes, content_type: str) -> openai.OpenAI:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return openai.OpenAI(api_key="test", base_url="http://127.0.0.1:9/v1", http_client=http)


def _claude_code_translator(upstream_model: str):
    t = translator("anthropic", "openai")
    body = load_json("claude-code-2.1.197-messages-request.json")["body"]
    t.request(body, model=upstream_model, stream=True)
    return t


def test_anthropic_sdk_accumulates_translated_openai_stream():
    t = _claude_code_translator("gpt-4o")
    data = run_stream(t.stream(), load_events("openai_stream_tool_calls.sse"))
    client = _anthropic_client(data, "text/event-stream")
    messages = [{"role": "user", "content": "hi"}]
    with client.messages.stream(model="claude-x", max_tokens=10, messages=messages) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert text == "Let me check both files."
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[1].input == {"file_path": "/tmp/a.txt"}
    assert message.content[2].id == "call_Yz2cB4"
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == 58
    assert message.usage.cache_read_input_tokens == 1024


def test_anthropic_sdk_accumulates_translated_reasoning_stream():
    t = _claude_code_translator("deepseek-reasoner")
    data = run_stream(t.stream(), load_events("deepseek_stream_reasoning.sse"))
    client = _anthropic_client(data, "text/event-stream")
    messages = [{"role": "user", "content": "hi"}]
    with client.messages.stream(model="claude-x", max_tokens=10, messages=messages) as stream:
        message = stream.get_final_message()
    assert message.content[0].type == "thinking"
    assert message.content[0].thinking == "The user wants a greeting."
    assert message.content[1].text == "Hello!"


def test_anthropic_sdk_reads_translated_completion():
    t = _claude_code_translator("gpt-4o")
    body = json.dumps(t.response(load_json("openai_completion_tool_calls.json"))).encode()
    client = _anthropic_client(body, "application/json")
    message = client.messages.create(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].type == "tool_use"
    assert message.content[0].input == {"command": "echo hi > /tmp/x"}


def test_openai_sdk_accumulates_translated_anthropic_stream():
    t = translator("openai", "anthropic")
    request = {
        "model": "claude-x",
        "messages": [{"role": "user", "content": "weather?"}],
        "stream_options": {"include_usage": True},
    }
    t.request(request, model="claude-sonnet-4-5", stream=True)
    data = run_stream(t.stream(), load_events("anthropic_stream_thinking_tool.sse"))
    client = _openai_client(data, "text/event-stream")
    chunks = list(
        client.chat.completions.create(
            model="claude-x",
            messages=request["messages"],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage.completion_tokens == 89
    with client.chat.completions.stream(model="claude-x", messages=request["messages"]) as stream:
        completion = stream.get_final_completion()
    message = completion.choices[0].message
    assert message.content == "Checking the weather now."
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments) == {"location": "Paris"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_openai_sdk_reads_translated_message():
    t = translator("openai", "anthropic")
    t.request(
        {"model": "x", "messages": [{"role": "user", "content": "hi"}]}, model="c", stream=False
    )
    body = json.dumps(t.response(load_json("anthropic_message_thinking_tool.json"))).encode()
    client = _openai_client(body, "application/json")
    completion = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.tool_calls[0].id == "toolu_01A09q90qw90lq917835lq9"
    assert completion.usage.prompt_tokens_details.cached_tokens == 2048
