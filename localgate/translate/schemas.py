"""JSON Schemas between dialects (PROTOCOLS-MORE.md §5).

The IR holds JSON Schema with lower-case types. Gemini clients send three
kinds: `responseSchema` and tool `parameters` in Google's OpenAPI subset
(upper-case types, `nullable`, `propertyOrdering`), `responseJsonSchema` and
`parametersJsonSchema` as JSON Schema — though Gemini CLI puts upper-case
types there too. `from_gemini` reads all of them. Writers then fit the schema
to their target: OpenAI's `json_schema` rules (`for_openai`), Anthropic's
structured-output subset (`for_anthropic`), Gemini's `responseJsonSchema`
subset (`for_gemini`). Nothing a target cannot check is lost: Anthropic gets
it as text in the description, as its own SDK does.
"""

from __future__ import annotations

import json

# Keys that only order or illustrate: they carry no constraint.
ORDERING_KEYS = frozenset({"propertyOrdering", "property_ordering", "example"})
# Sub-schema holders: key → how its value nests ("one", "map" or "list").
NESTED = {
    "items": "one",
    "additionalProperties": "one",
    "not": "one",
    "properties": "map",
    "$defs": "map",
    "definitions": "map",
    "anyOf": "list",
    "oneOf": "list",
    "allOf": "list",
    "prefixItems": "list",
}


def _walk(schema, node):
    """`schema` rebuilt bottom-up: `node(dict)` rewrites each sub-schema after its children."""
    if isinstance(schema, list):
        return [_walk(s, node) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        shape = NESTED.get(key)
        if shape == "map" and isinstance(value, dict):
            out[key] = {name: _walk(sub, node) for name, sub in value.items()}
        elif shape in ("one", "list") and isinstance(value, dict | list):
            out[key] = _walk(value, node)
        else:
            out[key] = value
    return node(out)


def from_gemini(schema) -> dict:
    """A Gemini schema (OpenAPI subset, or JSON Schema with upper-case types) as JSON Schema."""
    if not isinstance(schema, dict) or not schema:
        return {"type": "object", "properties": {}}

    def node(s: dict) -> dict:
        s = {k: v for k, v in s.items() if k not in ORDERING_KEYS}
        kind = s.get("type")
        if isinstance(kind, str):
            s["type"] = kind.lower()
        elif isinstance(kind, list):
            s["type"] = [t.lower() if isinstance(t, str) else t for t in kind]
        if s.pop("nullable", False) is True:
            if isinstance(s.get("type"), str):
                s["type"] = [s["type"], "null"]
            elif "anyOf" in s:
                s["anyOf"] = [*s["anyOf"], {"type": "null"}]
        return s

    return _walk(schema, node)


def for_openai(schema: dict) -> tuple[dict, bool]:
    """(schema, strict) for OpenAI's `json_schema`: every object closed
    (`additionalProperties: false`, as Gemini's output is) and `strict` only
    when every property is already required — making optional properties
    nullable would let answers through that the client's schema refuses."""
    complete = True

    def node(s: dict) -> dict:
        nonlocal complete
        s = {k: v for k, v in s.items() if k != "$schema"}
        if "oneOf" in s and "anyOf" not in s:
            s["anyOf"] = s.pop("oneOf")
        if _is_object(s):
            s.setdefault("additionalProperties", False)
            properties = s.get("properties") or {}
            if set(properties) - set(s.get("required") or []):
                complete = False
            if s["additionalProperties"] is not False:
                complete = False
        if s.get("default", 0) is None:
            del s["default"]
        return s

    out = _walk(schema, node)
    strict = complete and _is_object(out) and "anyOf" not in out
    return out, strict


# What Anthropic's structured output checks itself (PROTOCOLS-MORE.md §5.3).
ANTHROPIC_KEYS = frozenset(
    {
        "type",
        "anyOf",
        "allOf",
        "enum",
        "const",
        "description",
        "title",
        "$defs",
        "$ref",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "format",
        "minItems",
        "default",
    }
)
ANTHROPIC_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def for_anthropic(schema: dict) -> dict:
    """The schema in Anthropic's structured-output subset; every other constraint
    is written into the description as `{key: value}`, as Anthropic's SDK does."""

    def node(s: dict) -> dict:
        s = {k: v for k, v in s.items() if k != "$schema"}
        if "oneOf" in s:
            s["anyOf"] = [*s.get("anyOf", []), *s.pop("oneOf")]
        moved = {k: v for k, v in s.items() if k not in ANTHROPIC_KEYS}
        if s.get("format") is not None and s["format"] not in ANTHROPIC_FORMATS:
            moved["format"] = s["format"]
        if s.get("minItems") not in (None, 0, 1):
            moved["minItems"] = s["minItems"]
        out = {k: v for k, v in s.items() if k not in moved}
        if _is_object(out):
            out["additionalProperties"] = False
        if isinstance(out.get("type"), list):  # type unions read as anyOf there
            rest = {k: v for k, v in out.items() if k not in ("type", "description", "title")}
            head = {k: out[k] for k in ("description", "title") if k in out}
            branches = [{**rest, "type": t} if t != "null" else {"type": t} for t in out["type"]]
            out = {**head, "anyOf": branches}
        if moved:
            notes = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in moved.items())
            out["description"] = " ".join(filter(None, [out.get("description"), f"{{{notes}}}"]))
        return out

    return _walk(schema, node)


# What Gemini's responseJsonSchema takes (PROTOCOLS-MORE.md §5.1).
GEMINI_KEYS = frozenset(
    {
        "$id",
        "$defs",
        "$ref",
        "$anchor",
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    }
)


def for_gemini(schema: dict) -> tuple[dict, list[str]]:
    """(schema, keywords left out) for Gemini's `responseJsonSchema`: `const` as a
    one-value enum, `oneOf` as anyOf; other keywords Gemini refuses are left out
    and named, so the caller can say so."""
    left_out: list[str] = []

    def node(s: dict) -> dict:
        if "const" in s:
            s["enum"] = [s.pop("const")]
        if "oneOf" in s:
            s["anyOf"] = [*s.get("anyOf", []), *s.pop("oneOf")]
        for key in s:
            if key not in GEMINI_KEYS and key != "$schema" and key not in left_out:
                left_out.append(key)
        return {k: v for k, v in s.items() if k in GEMINI_KEYS}

    return _walk(schema, node), left_out


def _is_object(schema: dict) -> bool:
    kind = schema.get("type")
    return (
        kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema
    )
