"""A client's OpenAI Responses request read into the internal form.

How each input item is mapped (docs/translation.md has the whole table):
- `message`: `developer`/`system` → system text (mid-conversation: a system
  message in place); `user` → user parts; `assistant` → assistant text.
- `reasoning` → thinking: summary text, with `encrypted_content` as the
  signature when localgate tagged it (translate/seal.py); OpenAI's own blobs
  stay with OpenAI accounts.
- `function_call`/`custom_tool_call` → tool calls (a custom tool's string is
  the one `input` argument); `*_output` → tool results.
- `compaction`: one localgate sealed becomes the summary it holds, as user
  text; OpenAI's own cannot be read elsewhere and is left out (noted).
- `compaction_trigger`: the answer becomes a compaction (translate/compaction.py).
Tools: `function`, `custom`, `namespace` (flattened as `ns__name` and split
again in answers), `web_search` (the provider's own search where it has one);
other hosted tools are left out and noted in `x-localgate-dropped`.
"""

from __future__ import annotations

import json

from localgate.errors import InvalidRequest
from localgate.translate import ir, seal
from localgate.translate.openai_parts import split_data_url

WEB_SEARCH_TOOLS = ("web_search", "web_search_preview", "web_search_2025_08_26")
WEB_SEARCH_PREVIEW_2025 = "web_search_preview_2025_03_11"
# Fields with no meaning once localgate serves the request itself, handled here:
# `store`/`previous_response_id` by the response store, `include` (reasoning is
# always returned sealed), `prompt_cache_key` (sticky routing), Codex's
# `client_metadata`, `stream`, `model`, `metadata` (echoed, not sent).
HANDLED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "text",
        "max_output_tokens",
        "temperature",
        "top_p",
        "user",
        "safety_identifier",
        "stream",
        "store",
        "include",
        "prompt_cache_key",
        "client_metadata",
        "metadata",
        "previous_response_id",
        "stream_options",
    }
)
# Fields that change what the user gets and cannot be served elsewhere: refused.
REFUSED = {
    "background": "background responses are served only by OpenAI accounts",
    "conversation": "conversations are kept only by OpenAI; send previous_response_id",
    "top_logprobs": "logprobs are not supported for this model",
    "prompt": "stored prompt templates live in an OpenAI account",
}


def request_to_ir(body: dict) -> ir.Request:
    """A client's Responses request as the internal form."""
    for name, why in REFUSED.items():
        if body.get(name):
            raise InvalidRequest(f"{name}: {why}", param=name)
    if body.get("previous_response_id"):
        raise InvalidRequest(
            f"previous_response_id {body['previous_response_id']!r} is not known here, and "
            "only an OpenAI account could answer it",
            param="previous_response_id",
        )
    req = ir.Request(
        max_tokens=_int(body, "max_output_tokens"),
        temperature=_number(body, "temperature"),
        top_p=_number(body, "top_p"),
        user=_string(body, "safety_identifier") or _string(body, "user"),
    )
    req.dropped = sorted(k for k in body if k not in HANDLED and k not in REFUSED)
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        req.system.append(ir.Text(instructions))
    _input_to_ir(req, _items(body.get("input")))
    _tools_to_ir(req, body.get("tools"))
    req.tool_choice = _tool_choice_to_ir(
        req, body.get("tool_choice"), body.get("parallel_tool_calls")
    )
    _reasoning_to_ir(req, body.get("reasoning"))
    _text_to_ir(req, body.get("text"))
    ir.resolve_tool_names(req)
    return req


def _items(value) -> list:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise InvalidRequest("input: a string or a non-empty list of items", param="input")
    return value


def _input_to_ir(req: ir.Request, items: list) -> None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest(f"input[{index}]: each item must be an object", param="input")
        kind = item.get("type") or ("message" if "role" in item else None)
        reader = ITEM_READERS.get(kind)
        if reader is None:
            req.dropped.append(f"input.{kind}")
            continue
        reader(req, item, index)


def _message(req: ir.Request, item: dict, index: int) -> None:
    role = item.get("role")
    content = item.get("content")
    if role in ("system", "developer"):
        texts = [ir.Text(t) for t in _texts(content, index) if t]
        if not req.messages:  # leading instructions are the system prompt
            req.system.extend(texts)
        else:
            req.messages.append(ir.Message("system", texts))
    elif role == "user":
        _add(req, "user", [_input_part(p, index) for p in _parts(content, index)])
    elif role == "assistant":
        parts = [ir.Text(t) for t in _texts(content, index) if t]
        _add(req, "assistant", parts)
    else:
        raise InvalidRequest(f"input[{index}].role: unknown role {role!r}", param="input")


def _reasoning(req: ir.Request, item: dict, index: int) -> None:
    summary = item.get("summary") or []
    content = item.get("content") or []
    texts = [p.get("text", "") for p in summary if isinstance(p, dict)]
    if not any(texts):  # open-weight models reason in `content`
        texts = [p.get("text", "") for p in content if isinstance(p, dict)]
    text = "\n\n".join(t for t in texts if isinstance(t, str) and t)
    tagged = seal.unwrap(item.get("encrypted_content"))
    if tagged is None:  # OpenAI's own blob (or none): only that organisation reads it
        blob = item.get("encrypted_content")
        value = f"{item.get('id', '')}:{blob}" if isinstance(blob, str) and blob else None
        part: ir.Part = ir.Thinking(text, value, seal.RESPONSES)
    elif tagged[0] == seal.REDACTED:
        part = ir.RedactedThinking(tagged[1])
    else:
        part = ir.Thinking(text, tagged[1] or None, tagged[0])
    _add(req, "assistant", [part])


def _function_call(req: ir.Request, item: dict, index: int) -> None:
    name = qualified(item.get("namespace"), _required(item, "name", index))
    args = item.get("arguments")
    try:
        parsed = json.loads(args) if isinstance(args, str) and args else {}
    except ValueError:
        parsed = {}
    call = ir.ToolCall(
        _required(item, "call_id", index), name, parsed if isinstance(parsed, dict) else {}
    )
    _add(req, "assistant", [call])


def _custom_call(req: ir.Request, item: dict, index: int) -> None:
    name = qualified(item.get("namespace"), _required(item, "name", index))
    value = item.get("input")
    call = ir.ToolCall(
        _required(item, "call_id", index),
        name,
        {ir.CUSTOM_INPUT: value if isinstance(value, str) else ""},
    )
    _add(req, "assistant", [call])


def _call_output(req: ir.Request, item: dict, index: int) -> None:
    output = item.get("output")
    if isinstance(output, str):
        parts: list[ir.Part] = [ir.Text(output)] if output else []
    elif isinstance(output, list):
        parts = [_input_part(p, index) for p in output]
    else:
        raise InvalidRequest(f"input[{index}].output: a string or a list of parts", param="input")
    _add(req, "user", [ir.ToolResult(_required(item, "call_id", index), "", parts)])


def _compaction(req: ir.Request, item: dict, index: int) -> None:
    # localgate's own were opened at the door (dialects/responses.open_compactions);
    # OpenAI's can be read only by OpenAI.
    req.dropped.append("input.compaction")


def _compaction_trigger(req: ir.Request, item: dict, index: int) -> None:
    req.compact = True


def _item_reference(req: ir.Request, item: dict, index: int) -> None:
    raise InvalidRequest(
        f"input[{index}]: item_reference needs items stored by OpenAI; send the item itself",
        param="input",
    )


ITEM_READERS = {
    "message": _message,
    "reasoning": _reasoning,
    "function_call": _function_call,
    "custom_tool_call": _custom_call,
    "function_call_output": _call_output,
    "custom_tool_call_output": _call_output,
    "compaction": _compaction,
    "compaction_summary": _compaction,
    "compaction_trigger": _compaction_trigger,
    "item_reference": _item_reference,
}


def _add(req: ir.Request, role: str, parts: list[ir.Part]) -> None:
    """Append to the conversation; consecutive items of one side form one turn."""
    last = req.messages[-1] if req.messages else None
    if last is not None and last.role == role:
        last.parts.extend(parts)
    else:
        req.messages.append(ir.Message(role, parts))


def _input_part(part, index: int) -> ir.Part:
    if not isinstance(part, dict):
        raise InvalidRequest(f"input[{index}]: content parts must be objects", param="input")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return ir.Text(_string(part, "text") or "")
    if kind == "refusal":
        return ir.Text(_string(part, "refusal") or "")
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise InvalidRequest(
                f"input[{index}]: input_image needs image_url (file ids live in an OpenAI "
                "account and cannot be read here)",
                param="input",
            )
        media_type, data = split_data_url(url)
        return ir.Image(media_type, data) if data is not None else ir.Image(url=url)
    if kind == "input_file":
        data_url = part.get("file_data")
        if isinstance(data_url, str) and data_url:
            media_type, data = split_data_url(data_url)
            if data is None:  # plain base64, as the SDK also sends it
                media_type, data = None, data_url
            return ir.Document(media_type or "application/pdf", data, title=part.get("filename"))
        if isinstance(part.get("file_url"), str):
            return ir.Document(url=part["file_url"], title=part.get("filename"))
        raise InvalidRequest(
            f"input[{index}]: input_file needs file_data or file_url (file ids live in an "
            "OpenAI account)",
            param="input",
        )
    raise InvalidRequest(
        f"input[{index}]: content parts of type {kind!r} are not supported for this model",
        param="input",
    )


def _parts(content, index: int) -> list:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    if not isinstance(content, list):
        raise InvalidRequest(f"input[{index}].content: a string or a list of parts", param="input")
    return content


def _texts(content, index: int) -> list[str]:
    return [
        p.text
        for p in (_input_part(p, index) for p in _parts(content, index))
        if isinstance(p, ir.Text)
    ]


def _tools_to_ir(req: ir.Request, tools) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise InvalidRequest("tools: a list is required", param="tools")
    for tool in tools:
        if not isinstance(tool, dict):
            raise InvalidRequest("tools: each tool must be an object", param="tools")
        kind = tool.get("type")
        if kind == "namespace":
            for child in tool.get("tools") or []:
                if isinstance(child, dict):
                    _tool(req, child, _required_str(tool, "name", "tools"))
        elif kind in WEB_SEARCH_TOOLS or kind == WEB_SEARCH_PREVIEW_2025:
            _web_search(req, tool)
        elif kind in ("function", "custom"):
            _tool(req, tool, None)
        else:
            req.dropped.append(f"tools.{kind}")


def _tool(req: ir.Request, tool: dict, namespace: str | None) -> None:
    name = qualified(namespace, _required_str(tool, "name", "tools"))
    description = tool.get("description") if isinstance(tool.get("description"), str) else None
    if tool.get("type") == "custom":
        fmt = tool.get("format") if isinstance(tool.get("format"), dict) else None
        schema = ir.custom_tool_schema(fmt)
        req.tools.append(ir.Tool(name, description, schema, "custom", fmt, namespace))
        return
    schema = tool.get("parameters")
    if not isinstance(schema, dict):
        schema = {"type": "object", "properties": {}}
    req.tools.append(ir.Tool(name, description, schema, "function", None, namespace))


def _web_search(req: ir.Request, tool: dict) -> None:
    if tool.get("external_web_access") is False:  # cache-only search: nobody else has it
        req.dropped.append("tools.web_search")
        return
    filters = tool.get("filters") if isinstance(tool.get("filters"), dict) else {}
    domains = filters.get("allowed_domains") if isinstance(filters, dict) else None
    location = tool.get("user_location")
    req.web_search = ir.WebSearch(
        allowed_domains=[d for d in domains or [] if isinstance(d, str)],
        user_location=location if isinstance(location, dict) else None,
        context_size=tool.get("search_context_size"),
    )


def _tool_choice_to_ir(req: ir.Request, choice, parallel) -> ir.ToolChoice | None:
    parallel = None if parallel is None else bool(parallel)
    if choice is None:
        return ir.ToolChoice("auto", parallel=parallel) if parallel is not None else None
    if isinstance(choice, str):
        mode = {"auto": "auto", "required": "any", "none": "none"}.get(choice)
        if mode is None:
            raise InvalidRequest(f"tool_choice: unknown value {choice!r}", param="tool_choice")
        return ir.ToolChoice(mode, parallel=parallel)
    if not isinstance(choice, dict):
        raise InvalidRequest("tool_choice: a string or an object", param="tool_choice")
    kind = choice.get("type")
    if kind in ("function", "custom"):
        name = qualified(choice.get("namespace"), _required_str(choice, "name", "tool_choice"))
        return ir.ToolChoice("tool", name, parallel)
    if kind == "allowed_tools":
        allowed = {
            qualified(t.get("namespace"), t.get("name"))
            for t in choice.get("tools") or []
            if isinstance(t, dict) and isinstance(t.get("name"), str)
        }
        req.tools = [t for t in req.tools if t.name in allowed]
        return ir.ToolChoice(
            "any" if choice.get("mode") == "required" else "auto", parallel=parallel
        )
    # A hosted tool forced by type (web_search_preview…): the model may still use it.
    req.dropped.append("tool_choice")
    return ir.ToolChoice("auto", parallel=parallel)


def _reasoning_to_ir(req: ir.Request, reasoning) -> None:
    if reasoning is None:
        return
    if not isinstance(reasoning, dict):
        raise InvalidRequest("reasoning: an object is required", param="reasoning")
    effort = reasoning.get("effort")
    summary = reasoning.get("summary") or reasoning.get("generate_summary")
    if effort == "none":
        req.reasoning = ir.Reasoning(enabled=False)
    else:
        req.reasoning = ir.Reasoning(
            effort=effort if isinstance(effort, str) else None,
            summary=summary if isinstance(summary, str) else None,
        )


def _text_to_ir(req: ir.Request, text) -> None:
    if not isinstance(text, dict):
        return
    fmt = text.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        req.response_format = ir.ResponseFormat(
            "json_schema", fmt.get("schema"), fmt.get("name"), fmt.get("strict")
        )
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        req.response_format = ir.ResponseFormat("json_object")
    if text.get("verbosity") not in (None, "medium"):
        req.dropped.append("text.verbosity")


def qualified(namespace, name: str) -> str:
    if isinstance(namespace, str) and namespace:
        return f"{namespace}{ir.NAMESPACE_SEPARATOR}{name}"
    return name


def split_name(name: str, ctx: ir.Context) -> tuple[str | None, str]:
    """(namespace, name) of a tool name as the client defined it."""
    tool = ctx.tools.get(name)
    if tool is not None and tool.namespace:
        return tool.namespace, name[len(tool.namespace) + len(ir.NAMESPACE_SEPARATOR) :]
    return None, name


def _required(item: dict, name: str, index: int) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(
            f"input[{index}].{name}: a non-empty string is required", param="input"
        )
    return value


def _required_str(obj: dict, name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{where}: every entry needs a string {name}", param=where)
    return value


def _string(body: dict, name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"{name}: a positive integer is required", param=name)
    return value


def _number(body: dict, name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"{name}: a number is required", param=name)
    return value
