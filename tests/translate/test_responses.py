"""The Responses translators: request mapping both ways, and stream properties.

`check_responses` states the rules the openai SDK's accumulator and Codex rely
on (PROTOCOLS-MORE.md §1.5–1.9); every translated stream must keep them, and
carry exactly the text, reasoning and tool calls the upstream sent.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from localgate.sse import Event
from localgate.translate import seal, translator

from .streams import load_json, parse, run_stream
from .test_stream_properties import anthropic_events, expected, openai_events, segments

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def check_responses(data: bytes) -> dict:
    """Assert a Responses stream is valid; return the final response object."""
    events = parse(data)
    payloads = [e.json() for e in events]
    assert [e.event for e in events] == [p["type"] for p in payloads], "event names match types"
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert payloads[0]["type"] == "response.created" and payloads[0]["response"]["output"] == []
    assert payloads[-1]["type"] in TERMINAL
    assert not [p for p in payloads[:-1] if p["type"] in TERMINAL], "one terminal event, last"
    rid = payloads[0]["response"]["id"]
    assert all(p["response"]["id"] == rid for p in payloads if "response" in p)
    added: list[dict] = []
    open_ids: set[str] = set()
    done: list[dict] = []
    for p in payloads:
        if p["type"] == "response.output_item.added":
            assert p["output_index"] == len(added), "indices dense, in `added` order"
            added.append(p["item"])
            open_ids.add(p["item"]["id"])
        elif p["type"] == "response.output_item.done":
            assert p["item"]["id"] in open_ids, "done once, after added"
            assert added[p["output_index"]]["id"] == p["item"]["id"]
            open_ids.discard(p["item"]["id"])
            done.append(p["item"])
        elif "item_id" in p:
            assert p["item_id"] in open_ids, f"{p['type']} outside its item"
            assert added[p["output_index"]]["id"] == p["item_id"]
    final = payloads[-1]["response"]
    if final["status"] != "failed":
        assert not open_ids, "every item closed"
        assert final["output"] == done, "the final response holds every item whole"
        assert set(final["usage"]) >= {"input_tokens", "output_tokens", "total_tokens"}
    return final


def assembled(response: dict) -> tuple[str, str, list]:
    text = "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )
    thinking = "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "reasoning"
        for part in item["summary"]
    )
    calls = [
        (item["name"], json.loads(item["arguments"]))
        for item in response["output"]
        if item["type"] == "function_call"
    ]
    return text, thinking, calls


def responses_client(upstream: str, model: str):
    t = translator("responses", upstream)
    tools = [
        {"type": "function", "name": n, "parameters": {"type": "object"}} for n in ("Bash", "Read")
    ]
    t.request(
        {"model": "x", "input": "go", "tools": tools}, model=model, stream=True, account="acct"
    )
    return t


names = st.sampled_from(["Bash", "Read"])


@st.composite
def tool_segments(draw):
    segs = draw(segments())
    return [(s[0], draw(names), s[2]) if s[0] == "tool" else s for s in segs]


@settings(max_examples=150, deadline=None)
@given(tool_segments(), st.booleans())
def test_anthropic_upstream_to_responses_client(segs, pings):
    t = responses_client("anthropic", "claude-x")
    final = check_responses(run_stream(t.stream(), anthropic_events(segs, pings=pings)))
    assert assembled(final) == expected(segs)
    # Every thinking block's signature rides in its reasoning item, tagged as Anthropic's.
    for item in final["output"]:
        if item["type"] == "reasoning":
            assert seal.unwrap(item["encrypted_content"]) == ("anthropic", "sig")


@settings(max_examples=150, deadline=None)
@given(tool_segments(), st.booleans(), st.booleans())
def test_chat_upstream_to_responses_client(segs, finish_with_content, usage):
    t = responses_client("openai", "gpt-4o")
    events = openai_events(segs, finish_with_content=finish_with_content, usage=usage)
    final = check_responses(run_stream(t.stream(), events))
    assert assembled(final) == expected(segs)


def test_interleaved_tool_call_fragments_reach_their_own_items():
    """Call 0 header, call 1 header, then their fragments interleaved."""
    t = responses_client("openai", "gpt-4o")
    head = {"id": "c", "model": "m"}

    def chunk(delta, finish=None):
        return Event(
            None,
            json.dumps(
                {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            ),
        )

    calls = [
        {
            "index": 0,
            "id": "call_a",
            "type": "function",
            "function": {"name": "Bash", "arguments": ""},
        },
        {
            "index": 1,
            "id": "call_b",
            "type": "function",
            "function": {"name": "Read", "arguments": ""},
        },
    ]
    events = [
        chunk({"role": "assistant"}),
        chunk({"tool_calls": [calls[0]]}),
        chunk({"tool_calls": [calls[1]]}),
    ]
    for index, piece in [(0, '{"cmd":'), (1, '{"path":'), (0, '"ls"}'), (1, '"a"}')]:
        events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    events += [chunk({}, "tool_calls"), Event(None, "[DONE]")]
    final = check_responses(run_stream(t.stream(), events))
    assert assembled(final)[2] == [("Bash", {"cmd": "ls"}), ("Read", {"path": "a"})]


def responses_events(segs) -> list[Event]:
    """An OpenAI Responses upstream's stream saying `segs` (reasoning with a blob)."""
    out: list[dict] = []
    rid = "resp_1"
    out.append(
        {"type": "response.created", "response": {"id": rid, "model": "gpt-5", "output": []}}
    )
    for index, seg in enumerate(segs):
        iid = f"it_{index}"
        ids = {"item_id": iid, "output_index": index}
        if seg[0] == "text":
            out.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {"id": iid, "type": "message", "content": []},
                }
            )
            out += [
                {"type": "response.output_text.delta", **ids, "content_index": 0, "delta": p}
                for p in seg[1]
            ]
            done = {
                "id": iid,
                "type": "message",
                "content": [{"type": "output_text", "text": "".join(seg[1])}],
            }
        elif seg[0] == "thinking":
            out.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {"id": iid, "type": "reasoning", "summary": []},
                }
            )
            out += [
                {
                    "type": "response.reasoning_summary_text.delta",
                    **ids,
                    "summary_index": 0,
                    "delta": p,
                }
                for p in seg[1]
            ]
            done = {
                "id": iid,
                "type": "reasoning",
                "encrypted_content": f"blob{index}",
                "summary": [{"type": "summary_text", "text": "".join(seg[1])}],
            }
        else:
            item = {
                "id": iid,
                "type": "function_call",
                "call_id": f"call_{index}",
                "name": seg[1],
                "arguments": "",
            }
            out.append({"type": "response.output_item.added", "output_index": index, "item": item})
            out += [
                {"type": "response.function_call_arguments.delta", **ids, "delta": p}
                for p in seg[2]
            ]
            done = {**item, "arguments": "".join(seg[2])}
        out.append({"type": "response.output_item.done", "output_index": index, "item": done})
    usage = {"input_tokens": 9, "output_tokens": 4, "input_tokens_details": {"cached_tokens": 3}}
    out.append(
        {
            "type": "response.completed",
            "response": {"id": rid, "status": "completed", "usage": usage},
        }
    )
    return [Event(p["type"], json.dumps(p)) for p in out]


@settings(max_examples=150, deadline=None)
@given(tool_segments())
def test_responses_upstream_to_anthropic_client(segs):
    from .streams import check_anthropic
    from .test_stream_properties import assembled_anthropic

    t = translator("anthropic", "responses")
    body = {"model": "x", "max_tokens": 10, "messages": [{"role": "user", "content": "go"}]}
    body["thinking"] = {"type": "adaptive"}  # thinking blocks reach clients that asked
    t.request(body, model="gpt-5", stream=True, account="work")
    message = check_anthropic(run_stream(t.stream(), responses_events(segs)))
    assert assembled_anthropic(message) == expected(segs)
    assert (
        message["usage"]["cache_read_input_tokens"] == 3 and message["usage"]["input_tokens"] == 6
    )
    signatures = [b["signature"] for b in message["content"] if b["type"] == "thinking"]
    assert all(s.startswith("localgate:responses@work:it_") for s in signatures)


# -- requests ---------------------------------------------------------------------------------


def codex_body(index: int) -> dict:
    return load_json("codex-0.171.0-responses-requests.json")["requests"][index]["body"]


def test_codex_request_to_anthropic():
    t = translator("responses", "anthropic")
    wire = t.request(codex_body(1), model="claude-sonnet-4-5", stream=True, account="a")
    assert wire["system"][0]["text"].startswith("You are a coding agent running in the Codex CLI")
    assert len(wire["system"]) == 3  # the developer messages, in order
    roles = [m["role"] for m in wire["messages"]]
    assert roles == ["user", "assistant", "user"]
    call = wire["messages"][1]["content"][-1]
    assert call == {
        "type": "tool_use",
        "id": "call_abc",
        "name": "exec_command",
        "input": {"cmd": "echo hi > marker.txt"},
    }
    result = wire["messages"][2]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "call_abc"
    names = [tool["name"] for tool in wire["tools"]]
    assert "multi_agent_v1__spawn_agent" in names and "exec_command" in names
    assert {"type": "web_search_20250305", "name": "web_search"} in wire["tools"]
    # OpenAI's own reasoning blob cannot be verified by Anthropic: left out.
    assert "gAAAAA-opaque" not in json.dumps(wire) and "thinking" not in wire
    # So this continued tool turn cannot think on Anthropic, and Codex hears of it.
    assert t.dropped == ("reasoning",)


def test_codex_request_to_gemini_and_chat_say_what_they_left_out():
    gemini = translator("responses", "gemini")
    wire = gemini.request(codex_body(1), model="gemini-2.5-pro", stream=True)
    declarations = wire["tools"][0]["functionDeclarations"]
    assert "multi_agent_v1__close_agent" in [d["name"] for d in declarations]
    assert gemini.dropped == ("tools.web_search",)
    chat = translator("responses", "openai")
    wire = chat.request(codex_body(0), model="gpt-4o", stream=True)
    assert wire["messages"][0]["role"] == "system"
    assert chat.dropped == ("tools.web_search", "reasoning")  # gpt-4o takes no effort


def test_claude_code_request_to_a_responses_upstream():
    body = load_json("claude-code-2.1.197-messages-request.json")["body"]
    t = translator("anthropic", "responses")
    wire = t.request(body, model="gpt-5-codex", stream=True, account="work")
    assert wire["store"] is False and wire["stream"] is True
    assert wire["include"] == ["reasoning.encrypted_content"]
    assert wire["instructions"] and wire["input"][0]["role"] == "user"
    assert all(tool["type"] == "function" and "parameters" in tool for tool in wire["tools"])


def test_refused_fields_name_themselves():
    import pytest

    from localgate.errors import InvalidRequest

    t = translator("responses", "anthropic")
    for field, value in [("background", True), ("conversation", "conv_1"), ("top_logprobs", 3)]:
        with pytest.raises(InvalidRequest) as caught:
            t.request({"model": "x", "input": "hi", field: value}, model="c", stream=False)
        assert caught.value.param == field
    with pytest.raises(InvalidRequest) as caught:
        t.request(
            {"model": "x", "input": [{"type": "item_reference", "id": "rs_1"}]},
            model="c",
            stream=False,
        )
    assert "item_reference" in caught.value.message
