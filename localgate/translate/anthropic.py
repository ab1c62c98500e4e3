"""Anthropic Messages ⇄ the internal form (requests, responses, errors).

Choices worth knowing:
- Foreign thinking signatures ride in `signature` as `localgate:<origin>:<sig>`
  so Claude Code echoes them back; toward an Anthropic upstream only thinking
  that Anthropic signed is sent (others would be "Invalid signature").
- Mid-conversation system messages from other dialects become user text
  wrapped in `<system>` tags, keeping their place (and the cache prefix).
- `response_format` toward Anthropic is `output_config.format` on models that
  have structured output (schema fitted by schemas.for_anthropic), a system
  instruction on the others.
- Claude 4.6 and later get adaptive thinking with `output_config.effort` (4.7
  and later refuse budgets); older models a budget, raised to 1024 and lowered
  below max_tokens. What cannot be honoured (a budget with max_tokens ≤ 1024,
  sampling parameters beside thinking, temperature above 1) is reported, never
  silent (`fields.ANTHROPIC`).
- Tool ids outside `^[a-zA-Z0-9_-]+$` are escaped reversibly (names.encode_id).
"""

from __future__ import annotations

import json

from localgate.errors import InvalidRequest
from localgate.ids import new_id
from localgate.translate import fields, ir, schemas
from localgate.translate.models import (
    clamp_max_tokens,
    has_adaptive_thinking,
    has_structured_output,
    unasked_max_tokens,
)
from localgate.translate.names import decode_id, encode_id

SIGNATURE_PREFIX = "localgate:"


def wrap_signature(signature: str | None, origin: str | None) -> str:
    """The `signature` field value carrying a signature from `origin`."""
    if origin == "anthropic":
        return signature or ""
    return f"{SIGNATURE_PREFIX}{origin or 'unknown'}:{signature or ''}"


def unwrap_signature(value: str | None) -> tuple[str | None, str]:
    """(signature, origin) from a `signature` field value."""
    if value and value.startswith(SIGNATURE_PREFIX):
        origin, _, raw = value[len(SIGNATURE_PREFIX) :].partition(":")
        return raw or None, origin
    return value, "anthropic"


# --- requests --------------------------------------------------------------


def request_to_ir(body: dict) -> ir.Request:
    """A client's Messages request as the internal form."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise InvalidRequest("messages: field required (a list)", param="messages")
    dropped: list[str] = []
    req = ir.Request(
        system=_system_to_ir(body.get("system")),
        messages=[_message_to_ir(m, i, dropped) for i, m in enumerate(messages)],
        tools=[_tool_to_ir(t) for t in body.get("tools") or [] if _is_custom_tool(t)],
        max_tokens=body.get("max_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        top_k=body.get("top_k"),
        stop=_copied(body.get("stop_sequences")),
        user=(body.get("metadata") or {}).get("user_id"),
        dropped=dropped,
    )
    fields.ANTHROPIC.note(req, body)
    for tool in body.get("tools") or []:
        if str(tool.get("type", "")).startswith("web_search_"):
            req.web_search = ir.WebSearch(  # each provider has a search of its own
                allowed_domains=list(tool.get("allowed_domains") or []),
                user_location=tool.get("user_location"),
            )
        elif not _is_custom_tool(tool):
            req.dropped.append(f"tools.{tool.get('type')}")
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        parallel = (
            None
            if "disable_parallel_tool_use" not in choice
            else not choice["disable_parallel_tool_use"]
        )
        req.tool_choice = ir.ToolChoice(choice.get("type", "auto"), choice.get("name"), parallel)
    output = body.get("output_config") or {}
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "disabled":
        req.reasoning = ir.Reasoning(enabled=False)
    elif thinking.get("type") in ("enabled", "adaptive"):
        req.reasoning = ir.Reasoning(
            effort=output.get("effort"),
            budget=thinking.get("budget_tokens"),
            adaptive=thinking.get("type") == "adaptive",
        )
    elif output.get("effort"):
        req.reasoning = ir.Reasoning(effort=output["effort"])
    # Anthropic answers with thinking only when it was asked for.
    req.show_thinking = thinking.get("type") in ("enabled", "adaptive")
    fields.note_unknown(req, output, ("effort", "format"), "output_config.")
    fmt = output.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        req.response_format = ir.ResponseFormat("json_schema", fmt.get("schema"))
    ir.resolve_tool_names(req)
    return req


def _is_custom_tool(tool: dict) -> bool:
    # Server tools (web_search_…, code_execution_…) exist only on Anthropic.
    return tool.get("type") in (None, "custom") and "name" in tool


def _tool_to_ir(tool: dict) -> ir.Tool:
    schema = tool.get("input_schema") or {"type": "object", "properties": {}}
    return ir.Tool(tool["name"], tool.get("description"), schema)


# Claude Code opens its system prompt with a per-request attribution line
# ("x-anthropic-billing-header: cc_version=…; cch=…"). It means nothing to other
# providers and, changing on every request, would defeat their prefix caches.
BILLING_HEADER = "x-anthropic-billing-header:"


def _system_to_ir(system) -> list[ir.Text]:
    if not system:
        return []
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    return [
        ir.Text(b["text"])
        for b in system
        if b.get("type") == "text" and b.get("text") and not b["text"].startswith(BILLING_HEADER)
    ]


def _message_to_ir(message: dict, index: int, dropped: list[str]) -> ir.Message:
    role = message.get("role")
    if role not in ("user", "assistant", "system"):
        raise InvalidRequest(f"messages.{index}.role: unknown role {role!r}", param="messages")
    content = message.get("content")
    if isinstance(content, str):
        return ir.Message(role, [ir.Text(content)])
    parts = []
    for position, block in enumerate(content or []):
        part = _block_to_ir(block, f"messages.{index}.content.{position}")
        if part is not None:
            parts.append(part)
        else:  # server tools' history: it ran on Anthropic's side only
            dropped.append(f"messages.content.{block.get('type')}")
    return ir.Message(role, parts)


def _block_to_ir(block: dict, where: str = "") -> ir.Part | None:
    """One content block; None for Anthropic-only blocks (server tools' history)."""
    kind = block.get("type")
    if kind == "text":
        return ir.Text(block.get("text", ""))
    if kind in ("image", "document"):
        return _media_to_ir(kind, block, where)
    if kind == "search_result":  # text with a source: a titled text document elsewhere
        text = "\n".join(b.get("text", "") for b in block.get("content") or [])
        title = block.get("title") or block.get("source")
        return ir.Document("text/plain", text=text, title=title)
    if kind == "tool_use":
        return ir.ToolCall(decode_id(block["id"]), block["name"], block.get("input") or {})
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            parts: list[ir.Part] = [ir.Text(content)] if content else []
        else:
            parts = [
                p
                for i, b in enumerate(content or [])
                if (p := _block_to_ir(b, f"{where}.content.{i}")) is not None
            ]
        return ir.ToolResult(
            decode_id(block["tool_use_id"]), "", parts, bool(block.get("is_error"))
        )
    if kind == "thinking":
        signature, origin = unwrap_signature(block.get("signature"))
        return ir.Thinking(block.get("thinking", ""), signature, origin)
    if kind == "redacted_thinking":
        return ir.RedactedThinking(block.get("data", ""))
    return None  # server tool blocks, search results…: Anthropic-only


def _media_to_ir(kind: str, block: dict, where: str) -> ir.Part:
    """An image or document block; a source only Anthropic can resolve is a 400."""
    source = block.get("source") or {}
    media = {"media_type": source.get("media_type")}
    title = block.get("title")
    if source.get("type") == "base64":
        media["data"] = source.get("data")
    elif source.get("type") == "url":
        media["url"] = source.get("url")
    elif source.get("type") == "text":
        return ir.Document(text=source.get("data"), title=title, **media)
    elif source.get("type") == "content" and all(
        b.get("type") == "text" for b in source.get("content") or []
    ):
        text = "\n".join(b.get("text", "") for b in source.get("content") or [])
        return ir.Document("text/plain", text=text, title=title)
    else:
        raise InvalidRequest(
            f"{where}: a {kind} with a {source.get('type')!r} source exists only on "
            "Anthropic's side and cannot be sent to this model's account; send it inline",
            param="messages",
        )
    if kind == "image":
        return ir.Image(**media)
    return ir.Document(title=title, **media)


def request_from_ir(req: ir.Request, ctx: ir.Context) -> dict:
    """The Messages request for an Anthropic upstream."""
    max_tokens = clamp_max_tokens(ctx.model, req.max_tokens) or unasked_max_tokens(ctx.model)
    body: dict = {"model": ctx.model, "max_tokens": max_tokens}
    system = [{"type": "text", "text": t.text} for t in req.system if t.text]
    fmt = req.response_format
    if fmt and fmt.type == "json_schema" and fmt.schema and has_structured_output(ctx.model):
        schema = schemas.for_anthropic(fmt.schema)
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    elif fmt and fmt.type != "text":
        system.append({"type": "text", "text": _format_instruction(fmt)})
    if system:
        body["system"] = system
    body["messages"] = _messages_from_ir(req.messages)
    tools = ir.allowed_tools(req)
    if tools:
        body["tools"] = [
            {"name": t.name, "description": t.description or "", "input_schema": t.schema}
            for t in tools
        ]
    if req.web_search is not None:
        body.setdefault("tools", []).append(_web_search_tool(req.web_search))
    if req.tool_choice and (tools or req.tool_choice.mode == "none"):
        choice: dict = {"type": req.tool_choice.mode}
        if req.tool_choice.mode == "tool":
            choice["name"] = req.tool_choice.name
        if req.tool_choice.parallel is False and req.tool_choice.mode != "none":
            choice["disable_parallel_tool_use"] = True
        body["tool_choice"] = choice
    if req.stop:
        body["stop_sequences"] = req.stop
    if req.user:
        body["metadata"] = {"user_id": req.user}
    thinking = _thinking_from_ir(req, body, ctx)
    sampling = {"temperature": req.temperature, "top_p": req.top_p, "top_k": req.top_k}
    if thinking:
        body["thinking"] = thinking
        for name in (n for n, v in sampling.items() if v is not None):
            ctx.drop(name)  # Anthropic refuses sampling parameters beside thinking
    else:
        for name, value in sampling.items():
            if value is not None:
                body[name] = value
        if req.temperature is not None and not 0.0 <= req.temperature <= 1.0:
            body["temperature"] = min(max(req.temperature, 0.0), 1.0)  # OpenAI allows 0–2
            ctx.drop("temperature")
    for name in ("seed", "presence_penalty", "frequency_penalty"):
        if getattr(req, name) is not None:
            ctx.drop(name)
    if ctx.stream:
        body["stream"] = True
    return body


def _web_search_tool(search: ir.WebSearch) -> dict:
    """Anthropic's own web search (a server tool: Anthropic runs the searches)."""
    tool: dict = {"type": "web_search_20250305", "name": "web_search"}
    if search.allowed_domains:
        tool["allowed_domains"] = search.allowed_domains
    location = search.user_location or {}
    fields = {k: location[k] for k in ("city", "region", "country", "timezone") if location.get(k)}
    if fields:
        tool["user_location"] = {"type": "approximate", **fields}
    return tool


def _format_instruction(fmt: ir.ResponseFormat) -> str:
    if fmt.type == "json_schema" and fmt.schema is not None:
        schema = json.dumps(fmt.schema, ensure_ascii=False)
        return (
            "Respond with one JSON object only (no prose, no code fences) that validates "
            f"against this JSON Schema:\n{schema}"
        )
    return "Respond with one valid JSON object only (no prose, no code fences)."


# Anthropic's least thinking budget; the most is max_tokens - 1.
MIN_THINKING_BUDGET = 1024


def _thinking_from_ir(req: ir.Request, body: dict, ctx: ir.Context) -> dict | None:
    """`thinking` in the form the model takes, or None (noted when asked for).

    Claude 4.6 and later think adaptively, their effort in `output_config`
    (4.7 and later refuse a budget); older models take a budget in Anthropic's
    range."""
    if not req.reasoning or not req.reasoning.enabled:
        return None
    # A continued tool turn must start with the thinking block that preceded the
    # call; when the client could not keep it (other dialects), thinking must be off.
    last = next((m for m in reversed(body["messages"]) if m["role"] == "assistant"), None)
    if last and any(b["type"] == "tool_use" for b in last["content"]):
        if last["content"][0]["type"] not in ("thinking", "redacted_thinking"):
            ctx.drop("reasoning")
            return None
    if body.get("tool_choice", {}).get("type") in ("any", "tool"):
        ctx.drop("reasoning")  # Anthropic refuses a forced tool beside thinking
        return None
    if has_adaptive_thinking(ctx.model):
        effort = _effort(req.reasoning)
        if effort:
            body.setdefault("output_config", {})["effort"] = effort
        # Shown only when the client asked to see thinking; else the model's default.
        return (
            {"type": "adaptive", "display": "summarized"}
            if req.show_thinking
            else {"type": "adaptive"}
        )
    if body["max_tokens"] <= MIN_THINKING_BUDGET:
        ctx.drop("reasoning")  # no room for the least budget below max_tokens
        return None
    budget = max(ir.budget_for(req.reasoning), MIN_THINKING_BUDGET)
    return {"type": "enabled", "budget_tokens": min(budget, body["max_tokens"] - 1)}


def _effort(reasoning: ir.Reasoning) -> str | None:
    """`output_config.effort` for what the client asked: low, medium or high (xhigh
    and max are not every model's); None, when the client named neither an effort
    nor a budget, leaves it to the model."""
    if reasoning.effort is None and reasoning.budget is None:
        return None
    effort = ir.effort_for(reasoning)
    return "low" if effort == "minimal" else effort


def _messages_from_ir(messages: list[ir.Message]) -> list[dict]:
    out: list[dict] = []
    for message in messages:
        role = "assistant" if message.role == "assistant" else "user"
        if message.role == "system":
            text = ir.text_of(message.parts)
            blocks = [{"type": "text", "text": f"<system>\n{text}\n</system>"}] if text else []
        else:
            blocks = [b for b in (_part_from_ir(p) for p in message.parts) if b]
        if not blocks:
            continue  # the API refuses empty messages
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for message in out:  # tool results must lead the user message that carries them
        message["content"].sort(key=lambda b: b["type"] != "tool_result")
    return out


def _part_from_ir(part: ir.Part) -> dict | None:
    if isinstance(part, ir.Text):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ir.Image | ir.Document):
        return _media_from_ir(part)
    if isinstance(part, ir.ToolCall):
        return {
            "type": "tool_use",
            "id": encode_id(part.id),
            "name": part.name,
            "input": part.arguments,
        }
    if isinstance(part, ir.ToolResult):
        content = [b for b in (_part_from_ir(p) for p in part.content) if b]
        block = {"type": "tool_result", "tool_use_id": encode_id(part.id), "content": content}
        if part.is_error:
            block["is_error"] = True
        return block
    if isinstance(part, ir.Thinking):
        if part.origin != "anthropic" or not part.signature:
            return None  # a foreign or missing signature is refused upstream
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    if isinstance(part, ir.RedactedThinking):
        return {"type": "redacted_thinking", "data": part.data}
    return None


def _media_from_ir(part: ir.Image | ir.Document) -> dict | None:
    kind = "image" if isinstance(part, ir.Image) else "document"
    if isinstance(part, ir.Document) and part.text is not None:
        source = {"type": "text", "media_type": "text/plain", "data": part.text}
    elif part.data is not None:
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    elif part.url:
        source = {"type": "url", "url": part.url}
    else:
        return None
    block = {"type": kind, "source": source}
    if isinstance(part, ir.Document) and part.title:
        block["title"] = part.title
    return block


# --- responses -------------------------------------------------------------


def usage_to_ir(usage: dict | None) -> ir.Usage:
    usage = usage or {}
    return ir.Usage(
        input_tokens=usage.get("input_tokens") or 0,
        output_tokens=usage.get("output_tokens") or 0,
        cache_read_tokens=usage.get("cache_read_input_tokens") or 0,
        cache_creation_tokens=usage.get("cache_creation_input_tokens") or 0,
    )


def usage_from_ir(usage: ir.Usage) -> dict:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }


def response_to_ir(body: dict) -> ir.Response:
    """An Anthropic upstream's Message as the internal form."""
    parts = [p for p in (_block_to_ir(b) for b in body.get("content") or []) if p is not None]
    return ir.Response(
        id=body.get("id") or new_message_id(),
        model=body.get("model", ""),
        parts=parts,
        stop_reason=body.get("stop_reason"),
        usage=usage_to_ir(body.get("usage")),
        stop_sequence=body.get("stop_sequence"),
    )


def response_from_ir(resp: ir.Response, ctx: ir.Context) -> dict:
    """The Message a client receives."""
    return {
        "id": resp.id if resp.id.startswith("msg_") else new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": ctx.client_model or resp.model or ctx.model,
        "content": [b for b in (client_block(p) for p in resp.parts) if b],
        "stop_reason": resp.stop_reason or "end_turn",
        "stop_sequence": resp.stop_sequence,
        "usage": usage_from_ir(resp.usage),
    }


def client_block(part: ir.Part) -> dict | None:
    """A response part as the content block a client receives."""
    if isinstance(part, ir.Thinking):
        signature = wrap_signature(part.signature, part.origin)
        return {"type": "thinking", "thinking": part.text, "signature": signature}
    return _part_from_ir(part)


def new_message_id() -> str:
    return new_id("msg_")


def error_message(body: dict) -> str | None:
    error = body.get("error")
    return error.get("message") if isinstance(error, dict) else None


def drop_foreign_thinking(messages: list) -> list:
    """`messages` without thinking blocks another dialect's upstream signed.

    For Anthropic requests relayed untouched to an Anthropic upstream: after a
    fallback, Claude Code's history may hold `localgate:`-wrapped signatures,
    which Anthropic would refuse. Returns `messages` itself when there are none.
    """
    if SIGNATURE_PREFIX not in json.dumps(messages):
        return messages
    cleaned = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            kept = [b for b in content if not _foreign_thinking(b)]
            message = {**message, "content": kept or [{"type": "text", "text": "…"}]}
        cleaned.append(message)
    return cleaned


def _foreign_thinking(block) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "thinking"
        and str(block.get("signature", "")).startswith(SIGNATURE_PREFIX)
    )


def _copied(value):
    """A copy of a client's list (None: empty); anything else is left for the IR check."""
    return list(value) if isinstance(value, list) else value or []
