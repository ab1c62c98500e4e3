"""docs/translation.md's table of every request field, checked against the translators.

Each row says what one client field becomes toward one other provider: mapped,
dropped (named in `x-localgate-dropped`) or refused (a 400 naming it). Every row
is run: the field is added to a small valid request and translated. A field the
translators do not list (translate/fields.py), a listed field without its rows, or an SDK
field nobody listed fails here, so the table and the code cannot drift apart.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from localgate.errors import InvalidRequest
from localgate.translate import fields, translator
from localgate.translate.fields import CONFIG

DOC = Path(__file__).parents[2] / "docs" / "translation.md"
SECTIONS = {
    "Anthropic Messages clients": "anthropic",
    "OpenAI Chat Completions clients": "openai",
    "Gemini generateContent clients": "gemini",
}
TOWARD = {"Anthropic": "anthropic", "OpenAI": "openai", "Gemini": "gemini"}
# The upstream model each direction is checked with (one that takes thinking and
# structured output, so fields that depend on them are seen at work).
MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4.1", "gemini": "gemini-2.5-flash"}

TOOL = {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}
OAI_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}
GEMINI_TOOL = {"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT"}}]}
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}

BASE = {
    "anthropic": {
        "model": "m",
        "max_tokens": 4000,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "openai": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    "gemini": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
}

# One telling value per field (the value a row's fate is checked with).
SAMPLES = {
    "anthropic": {
        "model": "claude-x",
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 123,
        "system": "Be brief.",
        "stream": True,
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "metadata": {"user_id": "u-1"},
        "tools": [TOOL],
        "tool_choice": {"type": "any"},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
        "service_tier": "standard_only",
        "cache_control": {"type": "ephemeral"},
        "container": "container_1",
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "mcp_servers": [{"type": "url", "url": "https://mcp.example", "name": "x"}],
        "diagnostics": {"enabled": True},
        "inference_geo": "us",
        "speed": "fast",
        "user_profile_id": "p-1",
        "workspace_id": "w-1",
    },
    "openai": {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "hello there"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 123,
        "max_completion_tokens": 123,
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "stop": ["END"],
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.5,
        "tools": [OAI_TOOL],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "functions": [{"name": "get_weather", "parameters": {"type": "object"}}],
        "function_call": "auto",
        "reasoning_effort": "high",
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}},
        "user": "u-1",
        "n": 2,
        "modalities": ["text", "audio"],
        "audio": {"voice": "alloy", "format": "wav"},
        "logprobs": True,
        "top_logprobs": 2,
        "logit_bias": {"50256": -100},
        "metadata": {"k": "v"},
        "store": True,
        "service_tier": "flex",
        "prediction": {"type": "content", "content": "x"},
        "web_search_options": {},
        "verbosity": "low",
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "prompt_cache_options": {"mode": "auto"},
        "safety_identifier": "s-1",
        "moderation": {"mode": "auto"},
    },
    "gemini": {
        "model": "models/gemini-x",
        "contents": [{"role": "user", "parts": [{"text": "hello there"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "tools": [GEMINI_TOOL],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        "generationConfig": {"temperature": 0.5},
        "cachedContent": "cachedContents/abc",
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "labels": {"team": "a"},
        "serviceTier": "flex",
        "store": True,
        "generationConfig.temperature": 0.5,
        "generationConfig.topP": 0.9,
        "generationConfig.topK": 40,
        "generationConfig.candidateCount": 2,
        "generationConfig.maxOutputTokens": 123,
        "generationConfig.stopSequences": ["END"],
        "generationConfig.presencePenalty": 0.5,
        "generationConfig.frequencyPenalty": 0.5,
        "generationConfig.seed": 7,
        "generationConfig.responseMimeType": "text/x.enum",
        "generationConfig.responseSchema": {
            "type": "OBJECT",
            "properties": {"a": {"type": "STRING"}},
        },
        "generationConfig.responseJsonSchema": SCHEMA,
        "generationConfig.thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True},
        "generationConfig.responseLogprobs": True,
        "generationConfig.logprobs": 2,
        "generationConfig.responseModalities": ["AUDIO"],
        "generationConfig.speechConfig": {"voiceConfig": {}},
        "generationConfig.responseFormat": [{"type": "x"}],
        "generationConfig.translationConfig": {"targetLanguage": "fr"},
        "generationConfig.audioTimestamp": True,
        "generationConfig.mediaResolution": "MEDIA_RESOLUTION_LOW",
        "generationConfig.enableAffectiveDialog": True,
        "generationConfig.routingConfig": {"autoMode": {}},
        "generationConfig.modelSelectionConfig": {"featureSelectionPreference": "BALANCED"},
        "generationConfig.enableEnhancedCivicAnswers": True,
        "generationConfig.audioTranscriptionConfig": {"languageCodes": ["en"]},
    },
}
# Fields whose sample needs company to mean anything (a schema needs the JSON mime type…).
COMPANY = {
    ("gemini", "generationConfig.responseSchema"): {"responseMimeType": "application/json"},
    ("gemini", "generationConfig.responseJsonSchema"): {"responseMimeType": "application/json"},
    ("gemini", "toolConfig"): {"tools": [GEMINI_TOOL]},
    ("openai", "tool_choice"): {"tools": [OAI_TOOL]},
    ("openai", "parallel_tool_calls"): {"tools": [OAI_TOOL]},
    ("openai", "function_call"): {"functions": [{"name": "get_weather"}]},
    ("anthropic", "tool_choice"): {"tools": [TOOL]},
}


def table() -> list[tuple[str, str, str, str]]:
    """(client dialect, field, upstream dialect, fate) for every row of the table."""
    rows, dialect = [], None
    for line in DOC.read_text().splitlines():
        if line.startswith("#"):  # a table runs until the next heading
            dialect = SECTIONS.get(line.lstrip("#").strip())
        elif dialect and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            field, toward, fate = cells[0].strip("`"), TOWARD[cells[1]], cells[2].strip("*")
            rows.append((dialect, field, toward, fate))
    return rows


ROWS = table()


def known_fields(dialect: str) -> set[str]:
    if dialect == "gemini":
        return set(fields.GEMINI.known) | {CONFIG + f for f in fields.GEMINI_CONFIG.known}
    return set({"anthropic": fields.ANTHROPIC, "openai": fields.OPENAI}[dialect].known)


def sdk_fields(dialect: str) -> set[str]:
    """The request fields each official SDK can send."""
    if dialect == "anthropic":
        from anthropic.types import message_create_params as params

        return set(typing.get_type_hints(params.MessageCreateParamsBase)) | {"stream"}
    if dialect == "openai":
        from openai.types.chat import completion_create_params as params

        return set(typing.get_type_hints(params.CompletionCreateParamsBase)) | {"stream"}
    from google.genai import types

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(word.title() for word in rest)

    return {CONFIG + camel(f) for f in types.GenerationConfig.model_fields}


def with_field(dialect: str, field: str) -> dict:
    body = {**BASE[dialect]}
    value = SAMPLES[dialect][field]
    company = COMPANY.get((dialect, field), {})
    if field.startswith(CONFIG):
        config = {**company, field.removeprefix(CONFIG): value}
        body["generationConfig"] = config
    else:
        body.update(company)
        body[field] = value
    return body


def translate(dialect: str, upstream: str, body: dict):
    t = translator(dialect, upstream)
    return t, t.request(body, model=MODELS[upstream], stream=False)


@pytest.mark.parametrize("dialect", list(SECTIONS.values()))
def test_every_field_has_a_row_per_direction(dialect):
    rows = {(f, u) for d, f, u, _ in ROWS if d == dialect}
    others = [u for u in TOWARD.values() if u != dialect]
    expected = {(f, u) for f in known_fields(dialect) for u in others}
    assert rows == expected, {"missing": expected - rows, "unknown to the code": rows - expected}


@pytest.mark.parametrize("dialect", list(SECTIONS.values()))
def test_every_sdk_field_is_known(dialect):
    assert sdk_fields(dialect) <= known_fields(dialect), sdk_fields(dialect) - known_fields(dialect)


@pytest.mark.parametrize(("dialect", "field", "upstream", "fate"), ROWS)
def test_row(dialect, field, upstream, fate):
    body = with_field(dialect, field)
    name = field.split(".")[-1]
    if fate == "refused":
        with pytest.raises(InvalidRequest) as caught:
            translate(dialect, upstream, body)
        assert name in caught.value.message or name == caught.value.param
        return
    t, out = translate(dialect, upstream, body)
    dropped = [d for d in t.dropped if d == field or d.startswith(field + ".")]
    if fate == "dropped":
        assert dropped, f"{field} was not reported in x-localgate-dropped: {t.dropped}"
        return
    assert fate == "mapped", fate
    assert not dropped, f"{field} is mapped but reported dropped: {t.dropped}"
    if field in BASE[dialect] or field in NEUTRAL:
        return
    _, without = translate(dialect, upstream, {**BASE[dialect], **_company_only(dialect, field)})
    assert out != without, f"{field} changed nothing in the {upstream} request"


# Mapped fields whose sample reads the same as leaving them out upstream.
NEUTRAL = {"stream", "stream_options", "model"}


def _company_only(dialect: str, field: str) -> dict:
    company = COMPANY.get((dialect, field), {})
    return {"generationConfig": company} if field.startswith(CONFIG) else company


def test_the_table_rows_are_well_formed():
    assert len(ROWS) > 100
    assert {fate for *_, fate in ROWS} <= {"mapped", "dropped", "refused"}
    assert len(set(ROWS)) == len(ROWS)
    assert all(re.fullmatch(r"[A-Za-z_.]+", field) for _, field, _, _ in ROWS)
