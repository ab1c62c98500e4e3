"""The internal form written as an OpenAI Responses request (an account with
`api = "responses"`, or a model that exists only there).

Stateless, as Codex runs it: `store: false`, reasoning asked back encrypted
(`include`) and sent back only to the account that made it (translate/seal.py);
system text as `instructions`; a custom tool's call as `custom_tool_call`.
Stop sequences and `top_k` have no field here and are reported dropped.
"""

from __future__ import annotations

import json

from localgate.translate import ir, seal
from localgate.translate.models import clamp_max_tokens, is_openai_reasoning


def request_from_ir(req: ir.Request, ctx: ir.Context) -> dict:
    """The Responses request for an OpenAI upstream (stateless: store false)."""
    custom = {t.name for t in req.tools if t.kind == "custom"}
    body: dict = {"model": ctx.model, "input": _items_from_ir(req, ctx, custom), "store": False}
    system = "\n\n".join(t.text for t in req.system if t.text)
    if system:
        body["instructions"] = system
    reasoning_model = is_openai_reasoning(ctx.model)
    if reasoning_model:
        body["include"] = ["reasoning.encrypted_content"]
    max_tokens = clamp_max_tokens(ctx.model, req.max_tokens)
    if max_tokens:
        body["max_output_tokens"] = max_tokens
    if req.tools:
        body["tools"] = [_tool_from_ir(t) for t in req.tools]
    if req.web_search is not None:
        body.setdefault("tools", []).append(_web_search_from_ir(req.web_search))
    choice = req.tool_choice
    if choice and (req.tools or choice.mode == "none"):
        if choice.mode == "tool":
            kind = "custom" if choice.name in custom else "function"
            body["tool_choice"] = {"type": kind, "name": choice.name}
        else:
            body["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.mode]
    if choice and choice.parallel is not None:
        body["parallel_tool_calls"] = choice.parallel
    if req.stop:
        ctx.drop("stop")  # Responses has no stop sequences
    if req.top_k is not None:
        ctx.drop("top_k")
    if not reasoning_model:  # reasoning models refuse sampling parameters
        if req.temperature is not None:
            body["temperature"] = req.temperature
        if req.top_p is not None:
            body["top_p"] = req.top_p
    elif req.reasoning and req.reasoning.enabled:
        body["reasoning"] = {
            "effort": req.reasoning.effort or ir.effort_for(req.reasoning),
            "summary": req.reasoning.summary or "auto",
        }
    if req.user and len(req.user) <= 64:
        body["safety_identifier"] = req.user
    fmt = req.response_format
    if fmt and fmt.type == "json_object":
        body["text"] = {"format": {"type": "json_object"}}
    elif fmt and fmt.type == "json_schema":
        spec: dict = {
            "type": "json_schema",
            "name": fmt.name or "response",
            "schema": fmt.schema or {},
        }
        if fmt.strict is not None:
            spec["strict"] = fmt.strict
        body["text"] = {"format": spec}
    if ctx.stream:
        body["stream"] = True
    return body


def _tool_from_ir(tool: ir.Tool) -> dict:
    if tool.kind == "custom":
        out: dict = {"type": "custom", "name": tool.name, "description": tool.description or ""}
        if tool.format:
            out["format"] = tool.format
        return out
    schema = {k: v for k, v in tool.schema.items() if k != "$schema"}
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description or "",
        "parameters": schema,
        "strict": False,
    }


def _web_search_from_ir(search: ir.WebSearch) -> dict:
    tool: dict = {"type": "web_search"}
    if search.allowed_domains:
        tool["filters"] = {"allowed_domains": search.allowed_domains}
    if search.user_location:
        tool["user_location"] = search.user_location
    if search.context_size:
        tool["search_context_size"] = search.context_size
    return tool


def _items_from_ir(req: ir.Request, ctx: ir.Context, custom: set[str]) -> list[dict]:
    items: list[dict] = []
    for message in req.messages:
        if message.role == "system":
            text = ir.text_of(message.parts)
            if text:
                items.append({"type": "message", "role": "developer", "content": text})
        elif message.role == "assistant":
            items += _assistant_items(message.parts, ctx, custom)
        else:
            items += _user_items(message.parts)
    return items


def _assistant_items(parts: list[ir.Part], ctx: ir.Context, custom: set[str]) -> list[dict]:
    items: list[dict] = []
    for part in parts:
        if isinstance(part, ir.Text) and part.text:
            items.append({"type": "message", "role": "assistant", "content": part.text})
        elif isinstance(part, ir.ToolCall):
            items.append(_call_item(part, part.name in custom))
        elif isinstance(part, ir.Thinking) and part.signature:
            # Only the account whose organisation made a blob can decrypt it.
            if part.origin == seal.responses_origin(ctx.account):
                item_id, _, blob = part.signature.partition(":")
                items.append(
                    {
                        "type": "reasoning",
                        "id": item_id,
                        "summary": [{"type": "summary_text", "text": part.text}]
                        if part.text
                        else [],
                        "encrypted_content": blob,
                    }
                )
    return items


def _call_item(call: ir.ToolCall, custom: bool) -> dict:
    if custom:
        value = call.arguments.get(ir.CUSTOM_INPUT)
        return {
            "type": "custom_tool_call",
            "call_id": call.id,
            "name": call.name,
            "input": value if isinstance(value, str) else json.dumps(call.arguments),
        }
    return {
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": json.dumps(call.arguments, ensure_ascii=False),
    }


def _user_items(parts: list[ir.Part]) -> list[dict]:
    items: list[dict] = []
    content: list[dict] = []
    for part in parts:
        if isinstance(part, ir.ToolResult):
            output = [p for p in (_input_part_from_ir(x) for x in part.content) if p]
            text_only = all(p["type"] == "input_text" for p in output)
            value: str | list = "\n".join(p["text"] for p in output) if text_only else output
            if part.is_error and isinstance(value, str):
                value = f"Error: {value}" if value else "Error"
            items.append({"type": "function_call_output", "call_id": part.id, "output": value})
        else:
            converted = _input_part_from_ir(part)
            if converted:
                content.append(converted)
    if content:
        items.append({"type": "message", "role": "user", "content": content})
    return items


def _input_part_from_ir(part: ir.Part) -> dict | None:
    if isinstance(part, ir.Text):
        return {"type": "input_text", "text": part.text} if part.text else None
    if isinstance(part, ir.Image):
        return {"type": "input_image", "image_url": part.link, "detail": "auto"}
    if isinstance(part, ir.Document):
        if part.text is not None:
            return {"type": "input_text", "text": part.text}
        if part.data is not None:
            return {
                "type": "input_file",
                "filename": part.title or "document.pdf",
                "file_data": part.data_url,
            }
        return {"type": "input_file", "file_url": part.url} if part.url else None
    return None
