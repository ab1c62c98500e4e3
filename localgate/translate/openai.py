"""OpenAI Chat Completions ⇄ the internal form (requests, responses, errors).

Choices worth knowing:
- `n > 1`, audio input/output, `logprobs` and `top_logprobs` cannot be served
  from another dialect: 400 naming the parameter. Every field is listed in
  `fields.OPENAI`: what the IR carries goes on (`seed` and the penalties to Gemini),
  what no other provider has (`logit_bias`, `store`…) is noted as dropped, and
  the answer names it in `x-localgate-dropped` (see translate/fields.py).
- Legacy `functions`/`function_call` are read as tools and tool_choice.
- Mid-conversation system messages (Claude Code's) become `<system>` user
  text, since many OpenAI-compatible servers only take a leading system one.
- Reasoning text (`reasoning_content`, or `reasoning`) becomes thinking; it is
  sent back as `reasoning_content` only to OpenAI-compatible upstreams, which
  issued it. `reasoning_effort` goes only to models known to take it.
- Tool results carrying images: see openai_parts.
- Arguments that are not valid JSON arrive in the IR as `{}`.
"""

from __future__ import annotations

import json
import time

from localgate.errors import InvalidRequest
from localgate.ids import new_id
from localgate.translate import fields, ir, schemas
from localgate.translate.fields import refuse
from localgate.translate.models import clamp_max_tokens, is_openai_reasoning
from localgate.translate.names import new_tool_id
from localgate.translate.openai_parts import user_from_ir, user_part_to_ir

FINISH_TO_IR = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
FINISH_FROM_IR = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


# --- requests --------------------------------------------------------------


def request_to_ir(body: dict) -> ir.Request:
    """A client's Chat Completions request as the internal form."""
    _refuse_unsupported(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: a non-empty list is required", param="messages")
    req = ir.Request(
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        top_k=body.get("top_k"),
        seed=body.get("seed"),
        presence_penalty=body.get("presence_penalty"),
        frequency_penalty=body.get("frequency_penalty"),
        user=body.get("user"),
        include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
    )
    fields.OPENAI.note(req, body)
    search = body.get("web_search_options")
    if isinstance(search, dict):  # the provider's own search, as each provider has one
        req.web_search = ir.WebSearch(
            user_location=(search.get("user_location") or {}).get("approximate"),
            context_size=search.get("search_context_size"),
        )
    stop = body.get("stop")
    # A string or a list of them; anything else is left for the IR check to refuse.
    req.stop = (
        [stop] if isinstance(stop, str) else list(stop) if isinstance(stop, list) else stop or []
    )
    for i, message in enumerate(messages):
        _message_to_ir(req, message, i)
    req.tools = _tools_to_ir(req, body)
    choice = body.get("tool_choice")
    if choice is None and body.get("function_call") is not None:  # the legacy pair
        call = body["function_call"]
        choice = {"type": "function", "function": call} if isinstance(call, dict) else call
    req.tool_choice = _tool_choice_to_ir(choice, body.get("parallel_tool_calls"))
    if body.get("reasoning_effort"):
        req.reasoning = ir.Reasoning(effort=body["reasoning_effort"])
        if body["reasoning_effort"] == "none":
            req.reasoning = ir.Reasoning(enabled=False)
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        req.response_format = ir.ResponseFormat("json_object")
    elif fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        req.response_format = ir.ResponseFormat(
            "json_schema", spec.get("schema"), spec.get("name"), spec.get("strict")
        )
    ir.resolve_tool_names(req)
    return req


_EMPTY_SCHEMA = {"type": "object", "properties": {}}


def _refuse_unsupported(body: dict) -> None:
    if (body.get("n") or 1) > 1:
        raise refuse("n", "n > 1 is not supported for this model's account")
    if body.get("audio"):
        raise refuse("audio", "audio output is not supported for this model")
    if "audio" in (body.get("modalities") or []):
        raise refuse("modalities", "audio output is not supported for this model")
    for name in ("logprobs", "top_logprobs"):
        if body.get(name):
            raise refuse(name, "log probabilities are not supported for this model")


def _tools_to_ir(req: ir.Request, body: dict) -> list[ir.Tool]:
    """Function tools, and legacy `functions`; other kinds are noted as dropped."""
    declared = [t.get("function") or {} for t in body.get("tools") or [] if _is_function(t)]
    declared += list(body.get("functions") or [])
    for tool in body.get("tools") or []:
        if not _is_function(tool):
            req.dropped.append(f"tools.{tool.get('type')}")
    return [
        ir.Tool(f["name"], f.get("description"), f.get("parameters") or _EMPTY_SCHEMA)
        for f in declared
        if f.get("name")
    ]


def _is_function(tool: dict) -> bool:
    return tool.get("type") == "function"


def _tool_choice_to_ir(choice, parallel) -> ir.ToolChoice | None:
    parallel = None if parallel is None else bool(parallel)
    if choice is None:
        return ir.ToolChoice("auto", parallel=parallel) if parallel is not None else None
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        names = [(t.get("function") or {}).get("name") for t in allowed.get("tools") or []]
        mode = "any" if allowed.get("mode") == "required" else "auto"
        return ir.ToolChoice(mode, parallel=parallel, allowed=[n for n in names if n])
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidRequest(
                "tool_choice: an object must name the function to call "
                '({"type": "function", "function": {"name": "..."}})',
                param="tool_choice",
            )
        return ir.ToolChoice("tool", name, parallel)
    mode = {"auto": "auto", "required": "any", "none": "none"}.get(choice)
    if mode is None:
        raise InvalidRequest(f"tool_choice: unknown value {choice!r}", param="tool_choice")
    return ir.ToolChoice(mode, parallel=parallel)


def _message_to_ir(req: ir.Request, message: dict, index: int) -> None:
    role = message.get("role")
    content = message.get("content")
    if role in ("system", "developer"):
        texts = [ir.Text(t) for t in _texts(content) if t]
        if not req.messages:  # leading system messages are the system prompt
            req.system.extend(texts)
        else:
            req.messages.append(ir.Message("system", texts))
    elif role == "user":
        _append(req, "user", [user_part_to_ir(p, index) for p in _content_parts(content)])
    elif role == "assistant":
        parts: list[ir.Part] = []
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            parts.append(ir.Thinking(reasoning, None, "openai"))
        parts += [ir.Text(t) for t in _texts(content) if t]
        if message.get("refusal"):
            parts.append(ir.Text(message["refusal"]))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            args = _parse_arguments(function.get("arguments"))
            parts.append(ir.ToolCall(call.get("id") or "", function.get("name", ""), args))
        if isinstance(message.get("function_call"), dict):  # legacy: one call, no id
            function = message["function_call"]
            args = _parse_arguments(function.get("arguments"))
            parts.append(ir.ToolCall(f"call_legacy_{index}", function.get("name", ""), args))
        req.messages.append(ir.Message("assistant", parts))
    elif role == "function":  # legacy result: paired with the latest call of its name
        name = message.get("name") or ""
        texts = [ir.Text(t) for t in _texts(content) if t]
        _append(req, "user", [ir.ToolResult(_latest_call_id(req, name), name, texts)])
    elif role == "tool":
        result = ir.ToolResult(
            message.get("tool_call_id") or "", "", [ir.Text(t) for t in _texts(content) if t]
        )
        _append(req, "user", [result])
    else:
        raise InvalidRequest(f"messages[{index}].role: unknown role {role!r}", param="messages")


def _latest_call_id(req: ir.Request, name: str) -> str:
    for message in reversed(req.messages):
        for part in reversed(message.parts):
            if isinstance(part, ir.ToolCall) and part.name == name:
                return part.id
    return new_tool_id()


def _append(req: ir.Request, role: str, parts: list[ir.Part]) -> None:
    # Consecutive tool messages (and a user message after them) form one user turn.
    last = req.messages[-1] if req.messages else None
    if last and last.role == role and any(isinstance(p, ir.ToolResult) for p in last.parts):
        last.parts.extend(parts)
    else:
        req.messages.append(ir.Message(role, parts))


def _content_parts(content) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content)


def _texts(content) -> list[str]:
    return [p.get("text", "") for p in _content_parts(content) if p.get("type") == "text"]


def _parse_arguments(arguments) -> dict:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def request_from_ir(req: ir.Request, ctx: ir.Context) -> dict:
    """The Chat Completions request for an OpenAI-compatible upstream."""
    body: dict = {"model": ctx.model, "messages": _messages_from_ir(req, ctx)}
    reasoning_model = is_openai_reasoning(ctx.model)
    max_tokens = clamp_max_tokens(ctx.model, req.max_tokens)
    if max_tokens:
        body["max_completion_tokens" if reasoning_model else "max_tokens"] = max_tokens
    tools = ir.allowed_tools(req)
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": {k: v for k, v in t.schema.items() if k != "$schema"},
                },
            }
            for t in tools
        ]
        choice = req.tool_choice
        if choice and choice.mode == "tool":
            body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        elif choice:
            body["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.mode]
        if choice and choice.parallel is False:
            body["parallel_tool_calls"] = False
    if req.web_search is not None:  # only OpenAI's search models search, and differently
        ctx.drop("tools.web_search")
    if req.stop:
        body["stop"] = req.stop[:4]  # OpenAI's limit
        if len(req.stop) > 4:
            ctx.drop("stop")
    sampling = {
        "temperature": req.temperature,
        "top_p": req.top_p,
        "seed": req.seed,
        "presence_penalty": req.presence_penalty,
        "frequency_penalty": req.frequency_penalty,
    }
    for name, value in sampling.items():
        if value is None:
            continue
        if reasoning_model and name != "seed":  # reasoning models refuse sampling parameters
            ctx.drop(name)
        else:
            body[name] = value
    if req.top_k is not None:
        ctx.drop("top_k")
    _reasoning_from_ir(req, ctx, body, reasoning_model)
    if req.user and len(req.user) <= 64:
        body["user"] = req.user
    elif req.user:
        ctx.drop("user")
    fmt = req.response_format
    if fmt and fmt.type == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif fmt and fmt.type == "json_schema":
        schema, strict = schemas.for_openai(fmt.schema or {"type": "object"})
        spec: dict = {"name": _schema_name(fmt.name), "schema": schema}
        spec["strict"] = strict if fmt.strict is None else fmt.strict and strict
        if fmt.strict and not strict:
            ctx.drop("response_format.strict")  # the schema breaks OpenAI's strict rules
        body["response_format"] = {"type": "json_schema", "json_schema": spec}
    if ctx.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _reasoning_from_ir(req: ir.Request, ctx: ir.Context, body: dict, reasoning_model: bool):
    """`reasoning_effort` for models that take it; noted as dropped for the others."""
    if req.reasoning is None:
        return
    if reasoning_model and req.reasoning.enabled:
        body["reasoning_effort"] = ir.effort_for(req.reasoning)
    elif reasoning_model and ctx.model.rsplit("/", 1)[-1].startswith("gpt-5"):
        body["reasoning_effort"] = "minimal"  # the least gpt-5 takes: it cannot stop reasoning
    elif req.reasoning.enabled or reasoning_model:
        ctx.drop("reasoning")


def _schema_name(name: str | None) -> str:
    """A `json_schema.name` OpenAI takes: ^[a-zA-Z0-9_-]{1,64}$."""
    cleaned = "".join(c if (c.isascii() and c.isalnum()) or c in "_-" else "_" for c in name or "")
    return cleaned[:64] or "response"


def _messages_from_ir(req: ir.Request, ctx: ir.Context) -> list[dict]:
    out: list[dict] = []
    system = "\n\n".join(t.text for t in req.system if t.text)
    if system:
        out.append({"role": "system", "content": system})
    for message in req.messages:
        if message.role == "system":
            # Many OpenAI-compatible chat templates refuse a system message after
            # the first turn: it travels as user text, joined to a text user turn.
            text = ir.text_of(message.parts)
            wrapped = f"<system>\n{text}\n</system>"
            last = out[-1] if out else {}
            if text and last.get("role") == "user" and isinstance(last.get("content"), str):
                last["content"] += "\n\n" + wrapped
            elif text:
                out.append({"role": "user", "content": wrapped})
        elif message.role == "assistant":
            assistant = _assistant_from_ir(message.parts, ctx)
            if assistant:
                out.append(assistant)
        else:
            out.extend(user_from_ir(message.parts))
    return out


def _assistant_from_ir(parts: list[ir.Part], ctx: ir.Context) -> dict | None:
    text = "".join(p.text for p in parts if isinstance(p, ir.Text))
    calls = [
        {
            "id": p.id,
            "type": "function",
            "function": {"name": p.name, "arguments": json.dumps(p.arguments, ensure_ascii=False)},
        }
        for p in parts
        if isinstance(p, ir.ToolCall)
    ]
    if not text and not calls:
        return None
    # Empty text next to tool calls is null, never "" (some servers reject "").
    message: dict = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    reasoning = "".join(
        p.text for p in parts if isinstance(p, ir.Thinking) and p.origin == "openai"
    )
    if reasoning:
        message["reasoning_content"] = reasoning
    return message


# --- responses -------------------------------------------------------------


def usage_to_ir(usage: dict | None) -> ir.Usage:
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    # DeepSeek reports cache hits on its own field.
    cached = details.get("cached_tokens") or usage.get("prompt_cache_hit_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return ir.Usage(
        input_tokens=max((usage.get("prompt_tokens") or 0) - cached, 0),
        output_tokens=usage.get("completion_tokens") or 0,
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


def usage_from_ir(usage: ir.Usage) -> dict:
    out = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }
    if usage.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def response_to_ir(body: dict) -> ir.Response:
    """An OpenAI-compatible upstream's completion as the internal form."""
    choices = body.get("choices") or [{}]
    message = choices[0].get("message") or {}
    parts: list[ir.Part] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(ir.Thinking(reasoning, None, "openai"))
    content = message.get("content")
    if isinstance(content, list):  # a few servers answer with parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content:
        parts.append(ir.Text(content))
    if message.get("refusal"):
        parts.append(ir.Text(message["refusal"]))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        args = _parse_arguments(function.get("arguments"))
        parts.append(ir.ToolCall(call.get("id") or new_tool_id(), function.get("name", ""), args))
    finish = choices[0].get("finish_reason")
    stop = FINISH_TO_IR.get(finish, "end_turn" if finish else None)
    if stop == "end_turn" and any(isinstance(p, ir.ToolCall) for p in parts):
        stop = "tool_use"  # some servers say "stop" after a tool call
    return ir.Response(
        id=body.get("id") or new_completion_id(),
        model=body.get("model", ""),
        parts=parts,
        stop_reason=stop,
        usage=usage_to_ir(body.get("usage")),
    )


def response_from_ir(resp: ir.Response, ctx: ir.Context) -> dict:
    """The chat.completion a client receives."""
    text = "".join(p.text for p in resp.parts if isinstance(p, ir.Text))
    reasoning = "".join(p.text for p in resp.parts if isinstance(p, ir.Thinking))
    calls = [
        {
            "id": p.id,
            "type": "function",
            "function": {"name": p.name, "arguments": json.dumps(p.arguments, ensure_ascii=False)},
        }
        for p in resp.parts
        if isinstance(p, ir.ToolCall)
    ]
    message: dict = {"role": "assistant", "content": text or None, "refusal": None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    return {
        "id": resp.id if resp.id.startswith("chatcmpl") else new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": ctx.client_model or resp.model or ctx.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH_FROM_IR.get(resp.stop_reason or "end_turn", "stop"),
                "logprobs": None,
            }
        ],
        "usage": usage_from_ir(resp.usage),
    }


def new_completion_id() -> str:
    return new_id("chatcmpl-")


def error_message(body) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("message")
    if isinstance(error, str):
        return error
    return body.get("message") if isinstance(body, dict) else None
