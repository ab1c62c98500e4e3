"""Google's JSON takes a field by its proto name too: the door reads both."""

from __future__ import annotations

from localgate.translate.protojson import json_names
from tests.translate.test_request_fidelity import translator


def test_fields_get_their_json_names_and_the_clients_data_keeps_its_keys():
    body = {
        "system_instruction": {"parts": [{"text": "be brief"}]},
        "generation_config": {"thinking_config": {"include_thoughts": True, "thinking_budget": 9}},
        "contents": [
            {
                "role": "user",
                "parts": [{"inline_data": {"mime_type": "image/png", "data": "eA=="}}],
            },
            {
                "role": "model",
                "parts": [{"function_call": {"name": "f", "args": {"file_path": "a"}}}],
            },
        ],
        "tools": [
            {
                "function_declarations": [
                    {
                        "name": "f",
                        "parameters_json_schema": {
                            "type": "object",
                            "properties": {"file_path": {"type": "string"}},
                        },
                    }
                ]
            }
        ],
        "labels": {"team_name": "x"},
    }
    out = json_names(body)
    assert out["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert out["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 9}
    }
    assert out["contents"][0]["parts"][0] == {
        "inlineData": {"mimeType": "image/png", "data": "eA=="}
    }
    assert out["contents"][1]["parts"][0]["functionCall"]["args"] == {"file_path": "a"}
    declaration = out["tools"][0]["functionDeclarations"][0]
    assert declaration["parametersJsonSchema"]["properties"] == {"file_path": {"type": "string"}}
    assert out["labels"] == {"team_name": "x"}


def test_the_python_sdks_mixed_names_are_translated_whole():
    """What google-genai 3.x sends: thinking and a tool schema under proto names."""
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "parameters_json_schema": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        },
                    }
                ]
            }
        ],
        "generationConfig": {"thinkingConfig": {"include_thoughts": True, "thinking_budget": 4096}},
    }
    t = translator("gemini", "anthropic")
    out = t.request(body, model="claude-sonnet-4-5", stream=False)
    assert out["tools"][0]["input_schema"]["required"] == ["city"]
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert not t.dropped
