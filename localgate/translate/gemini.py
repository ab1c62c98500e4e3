"""Gemini generateContent ⇄ the internal form (requests, responses, errors).

Choices worth knowing:
- Tool schemas go out as `parametersJsonSchema` (full JSON Schema, which
  Gemini accepts as is) minus the top-level `$schema`, instead of being cut
  down to the OpenAPI subset `parameters` takes: no information is lost.
- Gemini pairs calls and responses by order and name, so no ids are sent;
  calls that come back without ids get fresh ones, and names of results are
  found from the calls earlier in the conversation.
- A `thoughtSignature` on a non-thought part travels in the IR as an empty
  thinking part just before that part, and is put back on it on the way out.
  Gemini 3 requires a signature on the first call of each model turn: calls
  whose signature was lost (other dialects) get Google's documented
  `skip_thought_signature_validator` placeholder.
- Mid-conversation system messages become `<system>` user text.
"""

from __future__ import annotations

import json
import mimetypes

from localgate.errors import InvalidRequest
from localgate.ids import new_id
from localgate.translate import ir
from localgate.translate.models import clamp_max_tokens, is_gemini_3
from localgate.translate.names import new_tool_id

FINISH_TO_IR = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "refusal",
    "RECITATION": "refusal",
    "BLOCKLIST": "refusal",
    "PROHIBITED_CONTENT": "refusal",
    "SPII": "refusal",
    "IMAGE_SAFETY": "refusal",
}
FINISH_FROM_IR = {"max_tokens": "MAX_TOKENS", "refusal": "SAFETY"}  # everything else: STOP
SKIP_SIGNATURE = "skip_thought_signature_validator"
MAX_THINKING_BUDGET = 24576  # the smallest ceiling among 2.5 models (Flash)


# --- requests --------------------------------------------------------------


def request_to_ir(body: dict) -> ir.Request:
    """A client's generateContent request as the internal form."""
    contents = body.get("contents")
    if not isinstance(contents, list):
        raise InvalidRequest("contents: a list is required", param="contents")
    config = body.get("generationConfig") or {}
    if (config.get("candidateCount") or 1) > 1:
        raise InvalidRequest("candidateCount > 1 is not supported", param="candidateCount")
    system = body.get("systemInstruction") or body.get("system_instruction") or {}
    req = ir.Request(
        system=[ir.Text(p["text"]) for p in system.get("parts") or [] if p.get("text")],
        max_tokens=config.get("maxOutputTokens"),
        temperature=config.get("temperature"),
        top_p=config.get("topP"),
        top_k=config.get("topK"),
        stop=list(config.get("stopSequences") or []),
    )
    pending: list[tuple[str, str]] = []  # (id, name) of the last model turn's calls
    for content in contents:
        role = "assistant" if content.get("role") == "model" else "user"
        if role == "assistant":
            pending.clear()  # results answer the latest model turn's calls
        parts: list[ir.Part] = []
        for part in content.get("parts") or []:
            parts += _part_to_ir(part, pending, role)
        req.messages.append(ir.Message(role, parts))
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or []:
            schema = decl.get("parametersJsonSchema") or _json_schema(decl.get("parameters"))
            req.tools.append(ir.Tool(decl["name"], decl.get("description"), schema))
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = calling.get("mode")
    if mode:
        allowed = calling.get("allowedFunctionNames") or []
        if mode == "ANY" and len(allowed) == 1:
            req.tool_choice = ir.ToolChoice("tool", allowed[0])
        else:
            req.tool_choice = ir.ToolChoice({"ANY": "any", "NONE": "none"}.get(mode, "auto"))
    if config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        req.response_format = ir.ResponseFormat("json_schema" if schema else "json_object", schema)
    thinking = config.get("thinkingConfig")
    if thinking:
        budget = thinking.get("thinkingBudget")
        level = thinking.get("thinkingLevel")
        req.reasoning = ir.Reasoning(
            enabled=budget != 0,
            effort=level.lower() if isinstance(level, str) else None,
            budget=budget if isinstance(budget, int) and budget > 0 else None,
        )
    ir.resolve_tool_names(req)
    return req


def _json_schema(schema) -> dict:
    """Gemini's OpenAPI-subset `parameters` as JSON Schema (types are upper case there)."""
    if not schema:
        return {"type": "object", "properties": {}}
    if isinstance(schema, list):
        return [_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key in ("nullable", "propertyOrdering"):
            continue
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = _json_schema(value)
        else:
            out[key] = value
    return out


def _part_to_ir(part: dict, pending: list[tuple[str, str]], role: str) -> list[ir.Part]:
    out: list[ir.Part] = []
    signature = part.get("thoughtSignature")
    if part.get("thought"):
        return [ir.Thinking(part.get("text", ""), signature, "gemini")]
    if signature:
        out.append(ir.Thinking("", signature, "gemini"))
    if "text" in part:
        out.append(ir.Text(part["text"]))
    elif "inlineData" in part:
        data = part["inlineData"]
        out.append(_media(data.get("mimeType"), data=data.get("data")))
    elif "fileData" in part:
        data = part["fileData"]
        out.append(_media(data.get("mimeType"), url=data.get("fileUri")))
    elif "functionCall" in part:
        call = part["functionCall"]
        call_id = call.get("id") or new_tool_id()
        pending.append((call_id, call.get("name", "")))
        out.append(ir.ToolCall(call_id, call.get("name", ""), call.get("args") or {}))
    elif "functionResponse" in part:
        response = part["functionResponse"]
        name = response.get("name", "")
        call_id = response.get("id") or _take_pending(pending, name)
        payload = response.get("response") or {}
        is_error = "error" in payload and "output" not in payload
        value = payload.get("error") if is_error else payload.get("output", payload)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        out.append(ir.ToolResult(call_id, name, [ir.Text(text)], is_error))
    return out


def _take_pending(pending: list[tuple[str, str]], name: str) -> str:
    for i, (call_id, call_name) in enumerate(pending):
        if call_name == name:
            del pending[i]
            return call_id
    return new_tool_id()


def _media(mime: str | None, *, data: str | None = None, url: str | None = None) -> ir.Part:
    if mime and mime.startswith("image/"):
        return ir.Image(mime, data, url)
    return ir.Document(mime, data, url)


def request_from_ir(req: ir.Request, ctx: ir.Context) -> dict:
    """The generateContent body for a Gemini upstream (model and stream go in the URL)."""
    body: dict = {"contents": _contents_from_ir(req.messages, ctx.model)}
    system = [{"text": t.text} for t in req.system if t.text]
    if system:
        body["systemInstruction"] = {"parts": system}
    if req.tools:
        declarations = [
            {
                "name": t.name,
                "description": t.description or "",
                "parametersJsonSchema": {k: v for k, v in t.schema.items() if k != "$schema"},
            }
            for t in req.tools
        ]
        body["tools"] = [{"functionDeclarations": declarations}]
        if req.tool_choice:
            mode = {"auto": "AUTO", "any": "ANY", "tool": "ANY", "none": "NONE"}[
                req.tool_choice.mode
            ]
            calling: dict = {"mode": mode}
            if req.tool_choice.mode == "tool":
                calling["allowedFunctionNames"] = [req.tool_choice.name]
            body["toolConfig"] = {"functionCallingConfig": calling}
    config = _generation_config(req, ctx)
    if config:
        body["generationConfig"] = config
    return body


def _generation_config(req: ir.Request, ctx: ir.Context) -> dict:
    config: dict = {}
    for key, value in (("temperature", req.temperature), ("topP", req.top_p), ("topK", req.top_k)):
        if value is not None:
            config[key] = value
    max_tokens = clamp_max_tokens(ctx.model, req.max_tokens)
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    if req.stop:
        config["stopSequences"] = req.stop[:5]  # Gemini's limit
    fmt = req.response_format
    if fmt and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema:
            config["responseJsonSchema"] = fmt.schema
    thinking = _thinking_config(req.reasoning, ctx.model)
    if thinking:
        config["thinkingConfig"] = thinking
    return config


def _thinking_config(reasoning: ir.Reasoning | None, model: str) -> dict | None:
    name = model.rsplit("/", 1)[-1].lower()
    if (
        not reasoning
        or not name.startswith("gemini-")
        or name.startswith(("gemini-1", "gemini-2.0"))
    ):
        return None  # older models and Gemma refuse thinkingConfig
    if not reasoning.enabled:
        return None if is_gemini_3(model) else {"thinkingBudget": 0}
    if is_gemini_3(model):
        level = "low" if ir.effort_for(reasoning) in ("minimal", "low") else "high"
        return {"includeThoughts": True, "thinkingLevel": level}
    budget = min(reasoning.budget, MAX_THINKING_BUDGET) if reasoning.budget else -1  # -1: dynamic
    return {"includeThoughts": True, "thinkingBudget": budget}


def _contents_from_ir(messages: list[ir.Message], model: str) -> list[dict]:
    contents: list[dict] = []
    for message in messages:
        role = "model" if message.role == "assistant" else "user"
        if message.role == "system":
            text = ir.text_of(message.parts)
            parts = [{"text": f"<system>\n{text}\n</system>"}] if text else []
        else:
            parts = _parts_from_ir(message.parts)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    for content in contents:
        # Function responses lead the user turn that answers the calls.
        content["parts"].sort(key=lambda p: "functionResponse" not in p)
        calls = [p for p in content["parts"] if "functionCall" in p]
        if is_gemini_3(model) and calls and "thoughtSignature" not in calls[0]:
            calls[0]["thoughtSignature"] = SKIP_SIGNATURE
    return contents


def _parts_from_ir(parts: list[ir.Part]) -> list[dict]:
    out: list[dict] = []
    signature: str | None = None  # a carried signature waiting for its part
    for part in parts:
        if isinstance(part, ir.Thinking):
            if part.origin != "gemini":
                continue  # foreign reasoning: Gemini cannot verify it
            if part.text:
                thought = {"text": part.text, "thought": True}
                if part.signature:
                    thought["thoughtSignature"] = part.signature
                out.append(thought)
            elif part.signature:
                signature = part.signature
            continue
        produced = _part_from_ir(part)
        if produced and signature:
            produced[0]["thoughtSignature"] = signature
            signature = None
        out += produced
    if signature:  # the signed part was an empty text part at the end
        out.append({"text": "", "thoughtSignature": signature})
    return out


def _part_from_ir(part: ir.Part) -> list[dict]:
    if isinstance(part, ir.Text):
        return [{"text": part.text}] if part.text else []
    if isinstance(part, ir.Image | ir.Document):
        return _media_from_ir(part)
    if isinstance(part, ir.ToolCall):
        return [{"functionCall": {"name": part.name, "args": part.arguments}}]
    if isinstance(part, ir.ToolResult):
        text = ir.text_of(part.content)
        response = {"error": text} if part.is_error else {"output": text}
        images = [m for p in part.content if isinstance(p, ir.Image) for m in _media_from_ir(p)]
        return [{"functionResponse": {"name": part.name or "tool", "response": response}}, *images]
    return []


def _media_from_ir(part: ir.Image | ir.Document) -> list[dict]:
    if isinstance(part, ir.Document) and part.text is not None:
        return [{"text": part.text}]
    mime = part.media_type
    if part.data is not None:
        return [{"inlineData": {"mimeType": mime or "application/octet-stream", "data": part.data}}]
    if part.url:
        mime = mime or mimetypes.guess_type(part.url)[0] or "image/jpeg"
        return [{"fileData": {"mimeType": mime, "fileUri": part.url}}]
    return []


# --- responses -------------------------------------------------------------


def usage_to_ir(meta: dict | None) -> ir.Usage:
    meta = meta or {}
    cached = meta.get("cachedContentTokenCount") or 0
    thoughts = meta.get("thoughtsTokenCount") or 0
    return ir.Usage(
        input_tokens=max((meta.get("promptTokenCount") or 0) - cached, 0),
        output_tokens=(meta.get("candidatesTokenCount") or 0) + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def usage_from_ir(usage: ir.Usage) -> dict:
    meta = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.prompt_tokens + usage.output_tokens,
    }
    if usage.cache_read_tokens:
        meta["cachedContentTokenCount"] = usage.cache_read_tokens
    if usage.reasoning_tokens:
        meta["thoughtsTokenCount"] = usage.reasoning_tokens
    return meta


def stop_to_ir(finish: str | None, has_calls: bool) -> ir.StopReason | None:
    if not finish:
        return None
    stop = FINISH_TO_IR.get(finish, "end_turn")
    return "tool_use" if stop == "end_turn" and has_calls else stop


def response_to_ir(body: dict) -> ir.Response:
    """A Gemini upstream's GenerateContentResponse as the internal form."""
    candidates = body.get("candidates") or []
    parts: list[ir.Part] = []
    finish = None
    if candidates:
        for part in (candidates[0].get("content") or {}).get("parts") or []:
            parts += _part_to_ir(part, [], "assistant")
        finish = candidates[0].get("finishReason")
    elif (body.get("promptFeedback") or {}).get("blockReason"):
        finish = "SAFETY"
    has_calls = any(isinstance(p, ir.ToolCall) for p in parts)
    return ir.Response(
        id=body.get("responseId") or new_id(""),
        model=body.get("modelVersion", ""),
        parts=parts,
        stop_reason=stop_to_ir(finish or "STOP", has_calls),
        usage=usage_to_ir(body.get("usageMetadata")),
    )


def client_part(part: ir.Part) -> dict | None:
    """A response part as a Gemini client reads it (foreign signatures dropped)."""
    if isinstance(part, ir.Thinking):
        return {"text": part.text, "thought": True} if part.text else None
    if isinstance(part, ir.ToolCall):
        return {"functionCall": {"id": part.id, "name": part.name, "args": part.arguments}}
    produced = _part_from_ir(part)
    return produced[0] if produced else None


def response_from_ir(resp: ir.Response, ctx: ir.Context) -> dict:
    """The GenerateContentResponse a client receives."""
    parts = [p for p in (client_part(x) for x in resp.parts) if p]
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": FINISH_FROM_IR.get(resp.stop_reason or "", "STOP"),
                "index": 0,
            }
        ],
        "usageMetadata": usage_from_ir(resp.usage),
        "modelVersion": ctx.client_model or resp.model or ctx.model,
        "responseId": resp.id,
    }


def error_message(body: dict) -> str | None:
    error = body.get("error")
    return error.get("message") if isinstance(error, dict) else None
