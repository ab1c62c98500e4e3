"""Requests keep their meaning across dialects, or say what they could not carry:
Gemini schemas of every slot, media, thinking budgets, sampling fields, tool
choices; what is left out is named in `dropped` (x-localgate-dropped)."""

from __future__ import annotations

import base64

import pytest

from localgate.errors import InvalidRequest
from localgate.translate import translator

from .streams import check_anthropic, load_events, load_json, run_stream

HI = [{"role": "user", "content": "hi"}]
GEMINI_HI = [{"role": "user", "parts": [{"text": "hi"}]}]


def gemini_cli_router_request() -> dict:
    """Gemini CLI's model router: upper-case types inside responseJsonSchema."""
    requests = load_json("gemini-cli-0.61.0-requests.json")["requests"]
    return next(r["body"] for r in requests if "responseJsonSchema" in str(r["body"]))


# -- schemas (PROTOCOLS-MORE.md §5) --------------------------------------------------------


def test_gemini_cli_response_json_schema_meets_openai_json_schema_rules():
    t = translator("gemini", "openai")
    out = t.request(gemini_cli_router_request(), model="gpt-4.1", stream=False)
    spec = out["response_format"]["json_schema"]
    assert spec["schema"] == {
        "type": "object",
        "properties": {
            "complexity_reasoning": {
                "type": "string",
                "description": "Brief explanation for the score.",
            },
            "complexity_score": {"type": "integer", "description": "Complexity score from 1-100."},
        },
        "required": ["complexity_reasoning", "complexity_score"],
        "additionalProperties": False,
    }
    assert spec["strict"] is True  # every property required: strict holds the same answers


def test_gemini_response_schema_openapi_subset_is_converted_for_openai():
    body = {
        "contents": GEMINI_HI,
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {
                "type": "OBJECT",
                "properties": {
                    "name": {"type": "STRING"},
                    "age": {"type": "INTEGER", "nullable": True},
                    "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["a", "b"]}},
                },
                "required": ["name"],
                "propertyOrdering": ["name", "age", "tags"],
            },
        },
    }
    out = translator("gemini", "openai").request(body, model="gpt-4.1", stream=False)
    spec = out["response_format"]["json_schema"]
    assert spec["schema"] == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    assert spec["strict"] is False  # optional properties: strict would change the answers


def test_gemini_schema_uses_anthropic_structured_output():
    out = translator("gemini", "anthropic").request(
        gemini_cli_router_request(), model="claude-sonnet-4-5", stream=False
    )
    schema = out["output_config"]["format"]["schema"]
    assert schema["properties"]["complexity_score"]["type"] == "integer"
    assert schema["additionalProperties"] is False
    old = translator("gemini", "anthropic").request(
        gemini_cli_router_request(), model="claude-3-5-haiku", stream=False
    )
    assert "output_config" not in old and '"integer"' in old["system"][-1]["text"]


def test_gemini_tool_parameters_are_json_schema_everywhere():
    body = {
        "contents": GEMINI_HI,
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "a",
                        "parameters": {"type": "OBJECT", "properties": {"x": {"type": "NUMBER"}}},
                    },
                    {
                        "name": "b",
                        "parametersJsonSchema": {"type": "OBJECT", "propertyOrdering": []},
                    },
                ]
            }
        ],
    }
    out = translator("gemini", "openai").request(body, model="gpt-4.1", stream=False)
    params = [t["function"]["parameters"] for t in out["tools"]]
    assert params == [
        {"type": "object", "properties": {"x": {"type": "number"}}},
        {"type": "object"},
    ]


def json_schema_request(schema: dict) -> dict:
    """A Chat Completions request for JSON output matching `schema`."""
    spec = {"name": "r", "schema": schema}
    return {
        "model": "x",
        "messages": HI,
        "response_format": {"type": "json_schema", "json_schema": spec},
    }


def test_json_schema_toward_gemini_fits_response_json_schema():
    body = json_schema_request(
        {
            "type": "object",
            "properties": {"k": {"const": "v"}, "n": {"type": "integer", "not": {"const": 3}}},
        }
    )
    t = translator("openai", "gemini")
    out = t.request(body, model="gemini-2.5-flash", stream=False)
    schema = out["generationConfig"]["responseJsonSchema"]
    assert schema["properties"] == {"k": {"enum": ["v"]}, "n": {"type": "integer"}}
    assert t.dropped == ("response_format",)  # `not` is not Gemini's


def test_json_schema_is_anthropic_structured_output_where_the_model_has_it():
    body = json_schema_request(
        {"type": "object", "properties": {"n": {"type": "integer", "maximum": 9}}}
    )
    out = translator("openai", "anthropic").request(body, model="claude-haiku-4-5", stream=False)
    assert "system" not in out
    assert out["output_config"]["format"] == {
        "type": "json_schema",
        "schema": {
            "type": "object",
            "properties": {"n": {"type": "integer", "description": "{maximum: 9}"}},
            "additionalProperties": False,
        },
    }


# -- media ---------------------------------------------------------------------------------


def gemini_with_part(part: dict) -> dict:
    return {"contents": [{"role": "user", "parts": [{"text": "what is this?"}, part]}]}


@pytest.mark.parametrize("upstream", ["anthropic", "openai"])
@pytest.mark.parametrize(
    ("part", "where"),
    [
        ({"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}, "inlineData"),
        ({"inlineData": {"mimeType": "video/mp4", "data": "AAAA"}}, "inlineData"),
        ({"fileData": {"mimeType": "application/pdf", "fileUri": "gs://b/doc.pdf"}}, "fileData"),
        (
            {
                "fileData": {
                    "mimeType": "image/png",
                    "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc",
                }
            },
            "fileData",
        ),
    ],
)
def test_gemini_media_without_an_equivalent_is_refused_naming_the_part(upstream, part, where):
    with pytest.raises(InvalidRequest) as caught:
        translator("gemini", upstream).request(gemini_with_part(part), model="m", stream=False)
    assert caught.value.param == f"contents[0].parts[1].{where}"
    assert caught.value.message.startswith(f"contents[0].parts[1].{where}:")


def test_gemini_media_with_an_equivalent_is_mapped():
    pdf = {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}
    text = {"inlineData": {"mimeType": "text/plain", "data": base64.b64encode(b"notes").decode()}}
    image = {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png"}}
    body = {"contents": [{"role": "user", "parts": [pdf, text, image]}]}
    claude = translator("gemini", "anthropic").request(body, model="claude-x", stream=False)
    blocks = claude["messages"][0]["content"]
    assert blocks[0] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
    }
    assert blocks[1]["source"] == {"type": "text", "media_type": "text/plain", "data": "notes"}
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/a.png"},
    }
    oai = translator("gemini", "openai").request(body, model="gpt-4.1", stream=False)
    parts = oai["messages"][0]["content"]
    assert parts[0]["type"] == "file" and parts[0]["file"]["file_data"].startswith(
        "data:application/pdf"
    )
    assert parts[1] == {"type": "text", "text": "notes"}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}


def test_anthropic_file_sources_and_document_urls_are_refused():
    image = {"type": "image", "source": {"type": "file", "file_id": "file_011"}}
    body = {"model": "c", "max_tokens": 10, "messages": [{"role": "user", "content": [image]}]}
    with pytest.raises(InvalidRequest, match=r"messages\.0\.content\.0: .*'file' source"):
        translator("anthropic", "gemini").request(body, model="gemini-2.5-flash", stream=False)
    doc = {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}
    body["messages"][0]["content"] = [doc]
    with pytest.raises(InvalidRequest, match="document by URL"):
        translator("anthropic", "openai").request(body, model="gpt-4.1", stream=False)


def test_pdf_in_a_tool_result_reaches_openai_and_gemini():
    pdf = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
    }
    body = {
        "model": "c",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "read it"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [pdf]}],
            },
        ],
    }
    oai = translator("anthropic", "openai").request(body, model="gpt-4.1", stream=False)
    tool, user = oai["messages"][-2:]
    assert tool["role"] == "tool" and "file content follows" in tool["content"]
    assert user["content"][0]["type"] == "file"
    gem = translator("anthropic", "gemini").request(body, model="gemini-2.5-flash", stream=False)
    parts = gem["contents"][-1]["parts"]
    assert "functionResponse" in parts[0]
    assert parts[1] == {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}


# -- sampling, tool choice, legacy fields ------------------------------------------------------


def test_seed_and_penalties_reach_gemini_and_are_reported_toward_anthropic():
    body = {
        "model": "x",
        "messages": HI,
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
        "logit_bias": {"1": 5},
        "top_logprobs": None,
    }
    t = translator("openai", "gemini")
    config = t.request(body, model="gemini-2.5-flash", stream=False)["generationConfig"]
    assert (config["seed"], config["presencePenalty"], config["frequencyPenalty"]) == (7, 0.5, 0.25)
    assert t.dropped == ("logit_bias",)
    t = translator("openai", "anthropic")
    out = t.request(body, model="claude-x", stream=False)
    assert "seed" not in out
    assert t.dropped == ("logit_bias", "seed", "presence_penalty", "frequency_penalty")


def test_gemini_any_with_several_allowed_functions():
    decls = [{"name": n, "parameters": {"type": "OBJECT"}} for n in ("a", "b", "c")]
    body = {
        "contents": GEMINI_HI,
        "tools": [{"functionDeclarations": decls}],
        "toolConfig": {
            "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["a", "c"]}
        },
    }
    oai = translator("gemini", "openai").request(body, model="gpt-4.1", stream=False)
    assert [t["function"]["name"] for t in oai["tools"]] == ["a", "c"]
    assert oai["tool_choice"] == "required"
    claude = translator("gemini", "anthropic").request(body, model="claude-x", stream=False)
    assert [t["name"] for t in claude["tools"]] == ["a", "c"]
    assert claude["tool_choice"] == {"type": "any"}


def test_openai_allowed_tools_reach_gemini_as_allowed_function_names():
    tools = [{"type": "function", "function": {"name": n}} for n in ("a", "b")]
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "auto",
            "tools": [{"type": "function", "function": {"name": "b"}}],
        },
    }
    body = {"model": "x", "messages": HI, "tools": tools, "tool_choice": choice}
    out = translator("openai", "gemini").request(body, model="gemini-2.5-flash", stream=False)
    # Gemini takes allowedFunctionNames only with ANY: auto among some declares only those.
    assert [d["name"] for d in out["tools"][0]["functionDeclarations"]] == ["b"]
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    choice["allowed_tools"]["mode"] = "required"
    out = translator("openai", "gemini").request(body, model="gemini-2.5-flash", stream=False)
    calling = out["toolConfig"]["functionCallingConfig"]
    assert calling == {"mode": "ANY", "allowedFunctionNames": ["b"]}


def test_parallel_tool_calls_false_is_reported_toward_gemini():
    body = {
        "model": "x",
        "messages": HI,
        "tools": [{"type": "function", "function": {"name": "a"}}],
        "parallel_tool_calls": False,
    }
    t = translator("openai", "gemini")
    t.request(body, model="gemini-2.5-flash", stream=False)
    assert t.dropped == ("parallel_tool_calls",)


def test_legacy_functions_are_tools():
    body = {
        "model": "x",
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "w", "arguments": '{"c":"P"}'},
            },
            {"role": "function", "name": "w", "content": "sunny"},
        ],
        "functions": [{"name": "w", "parameters": {"type": "object"}}],
        "function_call": {"name": "w"},
    }
    t = translator("openai", "anthropic")
    out = t.request(body, model="claude-x", stream=False)
    assert out["tools"][0]["name"] == "w" and out["tool_choice"] == {"type": "tool", "name": "w"}
    call = out["messages"][1]["content"][0]
    result = out["messages"][2]["content"][0]
    assert call["type"] == "tool_use" and call["input"] == {"c": "P"}
    assert result["type"] == "tool_result" and result["tool_use_id"] == call["id"]
    assert t.dropped == ()


def test_cached_content_and_enum_answers_are_refused():
    for extra, param in (
        ({"cachedContent": "cachedContents/1"}, "cachedContent"),
        (
            {"generationConfig": {"responseMimeType": "text/x.enum"}},
            "generationConfig.responseMimeType",
        ),
    ):
        with pytest.raises(InvalidRequest) as caught:
            translator("gemini", "openai").request(
                {"contents": GEMINI_HI, **extra}, model="m", stream=False
            )
        assert caught.value.param == param


def test_cut_stop_lists_and_clamped_temperatures_are_reported():
    body = {
        "model": "x",
        "messages": HI,
        "stop": ["1", "2", "3", "4", "5", "6"],
        "temperature": 1.7,
    }
    t = translator("openai", "gemini")
    out = t.request(body, model="gemini-2.5-flash", stream=False)
    assert out["generationConfig"]["stopSequences"] == ["1", "2", "3", "4", "5"]
    assert t.dropped == ("stop",)
    t = translator("openai", "anthropic")
    out = t.request(body, model="claude-x", stream=False)
    assert out["temperature"] == 1.0 and t.dropped == ("temperature",)


def test_unknown_fields_are_reported_never_silent():
    t = translator("anthropic", "openai")
    body = {"model": "x", "max_tokens": 10, "messages": HI, "brand_new_field": 1}
    t.request(body, model="gpt-4.1", stream=False)
    assert t.dropped == ("brand_new_field",)
    t = translator("gemini", "anthropic")
    t.request(
        {"contents": GEMINI_HI, "generationConfig": {"futureKnob": 1}}, model="c", stream=False
    )
    assert t.dropped == ("generationConfig.futureKnob",)


# -- thinking ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thinking", "max_tokens", "budget"),
    [
        ({"thinkingBudget": 100}, 8000, 1024),  # raised to Anthropic's minimum
        ({"thinkingBudget": 50000}, 8000, 7999),  # lowered below max_tokens
        ({"thinkingLevel": "LOW"}, 8000, 2048),
    ],
)
def test_thinking_budgets_are_clamped_toward_anthropic(thinking, max_tokens, budget):
    body = {
        "contents": GEMINI_HI,
        "generationConfig": {"thinkingConfig": thinking, "maxOutputTokens": max_tokens},
    }
    out = translator("gemini", "anthropic").request(body, model="claude-sonnet-4-5", stream=False)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}


@pytest.mark.parametrize(
    ("client", "body", "effort", "shown"),
    [
        (  # Gemini CLI's own turn
            "gemini",
            {
                "contents": GEMINI_HI,
                "generationConfig": {
                    "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "HIGH"}
                },
            },
            "high",
            True,
        ),
        (
            "gemini",
            {
                "contents": GEMINI_HI,
                "generationConfig": {"thinkingConfig": {"thinkingBudget": 2000}},
            },
            "low",
            False,
        ),
        ("openai", {"model": "x", "messages": HI, "reasoning_effort": "minimal"}, "low", True),
        (
            "responses",
            {"model": "x", "input": "hi", "reasoning": {"effort": "xhigh", "summary": "auto"}},
            "high",
            True,
        ),
        # Codex's: a summary, no effort: the model's own default effort.
        ("responses", {"model": "x", "input": "hi", "reasoning": {"summary": "auto"}}, None, True),
    ],
)
def test_thinking_toward_claude_4_6_and_later_is_adaptive(client, body, effort, shown):
    """Claude 4.7 and later answer a thinking budget with a 400 ("thinking.type.enabled
    is not supported for this model"): they get adaptive thinking and an effort."""
    for model in ("claude-opus-4-8", "claude-sonnet-4-6", "claude-mythos-preview"):
        t = translator(client, "anthropic")
        out = t.request(body, model=model, stream=False)
        assert out["thinking"] == {
            "type": "adaptive",
            **({"display": "summarized"} if shown else {}),
        }
        assert out.get("output_config", {}).get("effort") == effort
        assert not t.dropped
    older = translator(client, "anthropic").request(body, model="claude-sonnet-4-5", stream=False)
    assert older["thinking"]["type"] == "enabled" and "effort" not in older.get("output_config", {})


def test_thinking_without_room_below_max_tokens_is_reported():
    body = {
        "contents": GEMINI_HI,
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 2000}, "maxOutputTokens": 900},
    }
    t = translator("gemini", "anthropic")
    out = t.request(body, model="claude-sonnet-4-5", stream=False)
    assert "thinking" not in out and t.dropped == ("generationConfig.thinkingConfig",)


@pytest.mark.parametrize(
    ("effort", "model", "config"),
    [
        ("low", "gemini-2.5-flash", {"thinkingBudget": 2048}),
        ("high", "gemini-2.5-flash-lite", {"thinkingBudget": 24576}),
        ("minimal", "gemini-2.5-pro", {"thinkingBudget": 1024}),
        ("high", "gemini-3-pro-preview", {"thinkingLevel": "high"}),
    ],
)
def test_reasoning_effort_becomes_a_budget_not_the_dynamic_one(effort, model, config):
    body = {"model": "x", "messages": HI, "reasoning_effort": effort}
    out = translator("openai", "gemini").request(body, model=model, stream=False)
    # OpenAI clients read reasoning_content as it comes: thoughts are asked for.
    assert out["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, **config}


def test_gemini_pro_budget_is_clamped_to_its_range():
    body = {
        "model": "x",
        "max_tokens": 60000,
        "messages": HI,
        "thinking": {"type": "enabled", "budget_tokens": 50000},
    }
    out = translator("anthropic", "gemini").request(body, model="gemini-2.5-pro", stream=False)
    assert out["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingBudget": 32768,
    }


def test_no_empty_thinking_block_for_anthropic_clients_that_did_not_ask():
    t = translator("anthropic", "gemini")
    t.request(
        {"model": "x", "max_tokens": 100, "messages": HI}, model="gemini-2.5-pro", stream=True
    )
    message = check_anthropic(
        run_stream(t.stream(), load_events("gemini_stream_thinking_call.sse"))
    )
    assert [b["type"] for b in message["content"]] == ["text", "tool_use"]
