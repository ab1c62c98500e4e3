"""Google's JSON field names: each field is read by its JSON name or its proto name.

Google's parser takes `thinkingBudget` and `thinking_budget` alike, and the
python SDK (google-genai 3.x) sends some of each: `thinkingConfig.include_thoughts`,
`inlineData.mime_type`, `functionDeclarations[].parameters_json_schema`. A
Gemini request is translated after `json_names` has given every field its JSON
name. Values that are the client's own data keep their keys as they are: call
arguments, function responses, schemas (whose keys are property names), labels.
"""

from __future__ import annotations

# Fields whose values are the client's data rather than Google's messages.
OPAQUE = frozenset(
    {
        "args",
        "response",
        "parameters",
        "parametersJsonSchema",
        "responseSchema",
        "responseJsonSchema",
        "labels",
    }
)


def json_names(value):
    """`value` with every message field under its JSON name (`thinking_budget` →
    `thinkingBudget`), opaque values untouched."""
    if isinstance(value, list):
        return [json_names(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        name = _camel(key) if "_" in key else key
        out[name] = item if name in OPAQUE else json_names(item)
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    if not head:
        return name  # `_private`: no proto field looks like this; leave it be
    return head + "".join(word[:1].upper() + word[1:] for word in rest)
