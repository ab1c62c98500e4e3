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
- Every schema a Gemini client sends (responseSchema, responseJsonSchema, tool
  parameters) is read as JSON Schema (schemas.from_gemini: Gemini CLI sends
  upper-case types even in responseJsonSchema).
- Media with no true equivalent elsewhere (audio, video, gs:// and Files API
  URIs) and fields whose loss would change the answer (cachedContent,
  text/x.enum, logprobs…) are refused with a 400 naming them; the rest of
  `fields.GEMINI` is mapped or noted as dropped.
"""

from __future__ import annotations

from localgate.errors import InvalidRequest
from localgate.ids import new_id
from localgate.translate import fields, ir, schemas
from localgate.translate.fields import CONFIG, refuse
from localgate.translate.gemini_parts import (
    SKIP_SIGNATURE,
    client_parts,
    media_note,
    part_to_ir,
    parts_from_ir,
)
from localgate.translate.models import (
    clamp_max_tokens,
    clamp_thinking_budget,
    is_gemini_3,
)
from localgate.translate.protojson import json_names

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


# --- requests --------------------------------------------------------------


def request_to_ir(body: dict) -> ir.Request:
    """A client's generateContent request as the internal form."""
    body = json_names(body)  # the python SDK sends some fields by their proto names
    contents = body.get("contents")
    if not isinstance(contents, list):
        raise InvalidRequest("contents: a list is required", param="contents")
    if body.get("cachedContent"):
        raise refuse("cachedContent", "cached content lives on Google's side; send it inline")
    config = body.get("generationConfig") or {}
    _refuse_config(config)
    system = body.get("systemInstruction") or {}
    req = ir.Request(
        system=[ir.Text(p["text"]) for p in system.get("parts") or [] if p.get("text")],
        max_tokens=config.get("maxOutputTokens"),
        temperature=config.get("temperature"),
        top_p=config.get("topP"),
        top_k=config.get("topK"),
        seed=config.get("seed"),
        presence_penalty=config.get("presencePenalty"),
        frequency_penalty=config.get("frequencyPenalty"),
        stop=list(config.get("stopSequences") or []),
    )
    fields.GEMINI.note(req, body)
    fields.GEMINI_CONFIG.note(req, config)
    pending: list[tuple[str, str]] = []  # (id, name) of the last model turn's calls
    for i, content in enumerate(contents):
        role = "assistant" if content.get("role") == "model" else "user"
        if role == "assistant":
            pending.clear()  # results answer the latest model turn's calls
        parts: list[ir.Part] = []
        for j, part in enumerate(content.get("parts") or []):
            parts += part_to_ir(part, pending, role, f"contents[{i}].parts[{j}]")
        if role == "assistant":  # Claude's thinking came first in its answer (`carried`)
            parts.sort(key=lambda p: not (isinstance(p, ir.Thinking) and p.origin == "anthropic"))
        req.messages.append(ir.Message(role, parts))
    _tools_to_ir(req, body)
    if config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        fmt = "json_schema" if schema else "json_object"
        req.response_format = ir.ResponseFormat(
            fmt, schemas.from_gemini(schema) if schema else None
        )
    thinking = config.get("thinkingConfig")
    if thinking:
        budget = thinking.get("thinkingBudget")
        level = thinking.get("thinkingLevel")
        req.reasoning = ir.Reasoning(
            enabled=budget != 0,
            effort=level.lower() if isinstance(level, str) else None,
            budget=budget if isinstance(budget, int) and budget > 0 else None,
            adaptive=budget == -1,
        )
        known = ("thinkingBudget", "thinkingLevel", "includeThoughts")
        fields.note_unknown(req, thinking, known, CONFIG + "thinkingConfig.")
    # Gemini answers with thoughts only when includeThoughts asked for them.
    req.show_thinking = bool((thinking or {}).get("includeThoughts"))
    ir.resolve_tool_names(req)
    return req


def _refuse_config(config: dict) -> None:
    """400 for generation settings whose loss would change what the client gets."""
    if (config.get("candidateCount") or 1) > 1:
        raise refuse(CONFIG + "candidateCount", "more than one candidate is not supported")
    for name in ("responseLogprobs", "logprobs"):
        if config.get(name):
            raise refuse(CONFIG + name, "log probabilities are not supported for this model")
    modalities = [str(m).upper() for m in config.get("responseModalities") or []]
    if any(m != "TEXT" for m in modalities):
        raise refuse(CONFIG + "responseModalities", "only text answers can be translated")
    if config.get("speechConfig"):
        raise refuse(CONFIG + "speechConfig", "only text answers can be translated")
    for name in ("responseFormat", "translationConfig"):
        if config.get(name):
            raise refuse(CONFIG + name, "this output setting has no equivalent elsewhere")
    mime = config.get("responseMimeType")
    if mime not in (None, "text/plain", "application/json"):
        raise refuse(CONFIG + "responseMimeType", f"{mime} answers have no equivalent elsewhere")


def _tools_to_ir(req: ir.Request, body: dict) -> None:
    """Function declarations (every schema read as JSON Schema) and the calling config."""
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or []:
            schema = decl.get("parametersJsonSchema") or decl.get("parameters")
            req.tools.append(
                ir.Tool(decl["name"], decl.get("description"), schemas.from_gemini(schema))
            )
        if "googleSearch" in tool:  # the provider's own search, as each provider has one
            req.web_search = ir.WebSearch()
        for kind in tool:
            if kind not in ("functionDeclarations", "googleSearch"):
                req.dropped.append(f"tools.{kind}")  # Google's own tools (code, maps…)
    config = body.get("toolConfig") or {}
    fields.note_unknown(req, config, ("functionCallingConfig",), "toolConfig.")
    calling = config.get("functionCallingConfig") or {}
    mode = calling.get("mode")
    allowed = list(calling.get("allowedFunctionNames") or []) or None
    if mode == "ANY" and allowed and len(allowed) == 1:
        req.tool_choice = ir.ToolChoice("tool", allowed[0])
    elif mode:
        choice = {"ANY": "any", "NONE": "none"}.get(mode, "auto")  # VALIDATED: auto, checked
        req.tool_choice = ir.ToolChoice(choice, allowed=allowed if choice != "none" else None)


def request_from_ir(req: ir.Request, ctx: ir.Context) -> dict:
    """The generateContent body for a Gemini upstream (model and stream go in the URL)."""
    body: dict = {"contents": _contents_from_ir(req.messages, ctx.model)}
    system = [{"text": t.text} for t in req.system if t.text]
    if system:
        body["systemInstruction"] = {"parts": system}
    # allowedFunctionNames goes only with ANY: an "auto" choice among some tools
    # declares only those.
    choice = req.tool_choice
    tools = ir.allowed_tools(req) if choice and choice.mode == "auto" else req.tools
    if tools:
        declarations = [
            {
                "name": t.name,
                "description": t.description or "",
                "parametersJsonSchema": {k: v for k, v in t.schema.items() if k != "$schema"},
            }
            for t in tools
        ]
        body["tools"] = [{"functionDeclarations": declarations}]
        if req.tool_choice:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(req.tool_choice)}
    if req.tool_choice and req.tool_choice.parallel is False:
        ctx.drop("parallel")  # Gemini decides how many calls it makes
    if req.user:
        ctx.drop("user")
    if req.web_search is not None:
        if req.tools:  # Gemini refuses Google Search grounding beside function calling
            ctx.drop("tools.web_search")
        else:
            body["tools"] = [{"googleSearch": {}}]
    config = _generation_config(req, ctx)
    if config:
        body["generationConfig"] = config
    return body


def _calling_config(choice: ir.ToolChoice) -> dict:
    mode = {"auto": "AUTO", "any": "ANY", "tool": "ANY", "none": "NONE"}[choice.mode]
    calling: dict = {"mode": mode}
    if choice.mode == "tool":
        calling["allowedFunctionNames"] = [choice.name]
    elif choice.allowed is not None and choice.mode == "any":
        calling["allowedFunctionNames"] = list(choice.allowed)
    return calling


def _generation_config(req: ir.Request, ctx: ir.Context) -> dict:
    config: dict = {}
    sampling = (
        ("temperature", req.temperature),
        ("topP", req.top_p),
        ("topK", req.top_k),
        ("seed", req.seed),
        ("presencePenalty", req.presence_penalty),
        ("frequencyPenalty", req.frequency_penalty),
    )
    for key, value in sampling:
        if value is not None:
            config[key] = value
    max_tokens = clamp_max_tokens(ctx.model, req.max_tokens)
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    if req.stop:
        config["stopSequences"] = req.stop[:5]  # Gemini's limit
        if len(req.stop) > 5:
            ctx.drop("stop")
    fmt = req.response_format
    if fmt and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema:
            config["responseJsonSchema"], left_out = schemas.for_gemini(fmt.schema)
            if left_out:
                ctx.drop("response_format")  # keywords Gemini refuses (`not`, `if`…)
    thinking = _thinking_config(req.reasoning, ctx)
    if thinking:
        config["thinkingConfig"] = thinking
    return config


def _thinking_config(reasoning: ir.Reasoning | None, ctx: ir.Context) -> dict | None:
    """A thinkingConfig with one of budget or level (never both), within the model's range."""
    model = ctx.model
    name = model.rsplit("/", 1)[-1].lower()
    if not reasoning:
        return None
    if not name.startswith("gemini-") or name.startswith(("gemini-1", "gemini-2.0")):
        if reasoning.enabled:
            ctx.drop("reasoning")  # older models and Gemma refuse thinkingConfig
        return None
    if not reasoning.enabled:
        if is_gemini_3(model) or name.startswith("gemini-2.5-pro"):
            ctx.drop("reasoning")  # these models cannot stop thinking
            return None
        return {"thinkingBudget": 0}
    shown = {"includeThoughts": True} if ctx.show_thinking else {}
    if is_gemini_3(model):
        level = "low" if ir.effort_for(reasoning) in ("minimal", "low") else "high"
        return {**shown, "thinkingLevel": level}
    if reasoning.adaptive or (reasoning.budget is None and reasoning.effort is None):
        return {**shown, "thinkingBudget": -1}  # Gemini's dynamic budget: the model decides
    return {**shown, "thinkingBudget": clamp_thinking_budget(model, ir.budget_for(reasoning))}


def _contents_from_ir(messages: list[ir.Message], model: str) -> list[dict]:
    contents: list[dict] = []
    for message in messages:
        role = "model" if message.role == "assistant" else "user"
        if message.role == "system":
            text = ir.text_of(message.parts)
            parts = [{"text": f"<system>\n{text}\n</system>"}] if text else []
        else:
            parts = parts_from_ir(message.parts)
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
            note = media_note(part)
            parts += [ir.Text(note)] if note else part_to_ir(part, [], "assistant")
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


def response_from_ir(resp: ir.Response, ctx: ir.Context) -> dict:
    """The GenerateContentResponse a client receives."""
    parts = client_parts(resp.parts)
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
