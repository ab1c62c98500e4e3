"""Gemini parts ⇄ the internal form: text, media, calls, results, signatures.

Media other providers take too (images, PDFs, text) is mapped; the rest
(audio, video, URIs only Google can open) is refused with a 400 naming the
part. A `thoughtSignature` on a non-thought part travels in the IR as an empty
thinking part just before that part, and is put back on it on the way out.
Claude's thinking reaches a Gemini client as thought parts and, whole (text and
signature), in the `thoughtSignature` of the call it preceded: Gemini CLI keeps
no thought parts in its history, only a call's signature, and a continued tool
turn on Claude must begin with that thinking (`carried`).
Media in answers (an image model's drawing) reaches other dialects' clients,
whose answers hold no media, as a visible note (`media_note`).
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes

from localgate.translate import ir, seal
from localgate.translate.fields import refuse
from localgate.translate.names import new_tool_id

# Media other providers take as well: images, PDFs, text.
PORTABLE_MEDIA = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/")


def part_to_ir(
    part: dict, pending: list[tuple[str, str]], role: str, where: str = "part"
) -> list[ir.Part]:
    """One part of a turn; `pending` pairs function responses with earlier calls."""
    out: list[ir.Part] = []
    signature = part.get("thoughtSignature")
    if part.get("thought"):
        return [ir.Thinking(part.get("text", ""), signature, "gemini")]
    if signature:
        out.append(uncarried(signature) or ir.Thinking("", signature, "gemini"))
    if "text" in part:
        out.append(ir.Text(part["text"]))
    elif "inlineData" in part:
        data = part["inlineData"]  # field names as protojson.json_names gives them
        out.append(_media(data.get("mimeType"), where + ".inlineData", data=data.get("data")))
    elif "fileData" in part:
        data = part["fileData"]
        url = data.get("fileUri")
        out.append(_media(data.get("mimeType"), where + ".fileData", url=url))
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


def _media(
    mime: str | None, where: str, *, data: str | None = None, url: str | None = None
) -> ir.Part:
    """Images, PDFs and text, which other providers take too; a 400 naming the part
    for the rest (audio, video…) and for URIs only Google can open."""
    if url is not None:
        mime = mime or mimetypes.guess_type(url)[0]
        if not url.startswith(("https://", "http://")) or "googleapis.com/" in url:
            raise refuse(
                where, f"{url.split('/')[0]}// URIs are Google's own; send the data inline"
            )
    if not mime or not mime.startswith(PORTABLE_MEDIA):
        raise refuse(
            where, f"{mime or 'untyped'} content has no equivalent at this model's provider"
        )
    if mime.startswith("image/"):
        return ir.Image(mime, data, url)
    if mime.startswith("text/") and data is not None:
        try:
            return ir.Document(mime, text=base64.b64decode(data).decode("utf-8"))
        except ValueError as exc:
            raise refuse(where, "text content that is not base64 UTF-8") from exc
    return ir.Document(mime, data, url)


def parts_from_ir(parts: list[ir.Part]) -> list[dict]:
    """A turn's parts, signatures put back on the parts they belong to."""
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
        # Images and files of the result follow it (text documents are in its text).
        media = [
            m
            for p in part.content
            if isinstance(p, ir.Image) or (isinstance(p, ir.Document) and p.text is None)
            for m in _media_from_ir(p)
        ]
        return [{"functionResponse": {"name": part.name or "tool", "response": response}}, *media]
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


def media_note(part: dict) -> str | None:
    """What a client of another dialect reads for a media part of an answer (an image a
    model drew): their answers hold no media, and leaving it out unsaid would not do."""
    data = part.get("inlineData") or part.get("fileData")
    if not isinstance(data, dict):
        return None
    mime = data.get("mimeType") or data.get("mime_type") or "media"
    return f"[{mime} part of the answer left out: this API's answers carry no media]"


# Google's documented stand-in for a call's lost signature (Gemini 3 needs one).
SKIP_SIGNATURE = "skip_thought_signature_validator"
# Claude thinking carried whole in a Gemini client's thoughtSignature: base64, as
# every signature is (the python SDK decodes it to bytes), of this tag and JSON.
CARRIED = seal.wrap("anthropic-thought", "").encode()
CARRIED_TEXT = base64.b64encode(CARRIED[: len(CARRIED) // 3 * 3]).decode()


def carried(thinking: ir.Thinking) -> str | None:
    """The thoughtSignature carrying Claude's `thinking` (text and signature) to a
    Gemini client and back; None for thinking of any other origin."""
    if thinking.origin != "anthropic" or not thinking.signature:
        return None
    whole = {"text": thinking.text, "signature": thinking.signature}
    return base64.b64encode(CARRIED + json.dumps(whole, ensure_ascii=False).encode()).decode()


def uncarried(signature: object) -> ir.Thinking | None:
    """Claude's thinking back from a `carried` signature; None for any other value.
    (Anthropic itself checks the text against its signature.)"""
    if not isinstance(signature, str):
        return None
    text = signature.replace("-", "+").replace("_", "/")  # either base64 alphabet
    if not text.startswith(CARRIED_TEXT):
        return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4))
        whole = json.loads(raw.removeprefix(CARRIED)) if raw.startswith(CARRIED) else None
    except (ValueError, binascii.Error):
        return None
    if not isinstance(whole, dict) or not isinstance(whole.get("signature"), str):
        return None
    return ir.Thinking(str(whole.get("text", "")), whole["signature"], "anthropic")


def drop_carried(contents: list) -> list:
    """`contents` (of a Gemini request relayed to Google) without carried Claude
    thinking: a call keeps Google's documented placeholder, which Gemini 3 needs on a
    model turn's first call; any other part loses the signature."""
    cleaned = []
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            content = {**content, "parts": [_without_carried(p) for p in parts]}
        cleaned.append(content)
    return cleaned


def _without_carried(part):
    if not isinstance(part, dict) or uncarried(part.get("thoughtSignature")) is None:
        return part
    rest = {k: v for k, v in part.items() if k != "thoughtSignature"}
    return {**rest, "thoughtSignature": SKIP_SIGNATURE} if "functionCall" in part else rest


def client_parts(parts: list[ir.Part]) -> list[dict]:
    """An answer's parts as a Gemini client reads them, Claude's thinking carried on
    the call that follows it."""
    out: list[dict] = []
    carry: str | None = None
    for part in parts:
        if isinstance(part, ir.Thinking):
            carry = carried(part) or carry
        produced = client_part(part)
        if produced is None:
            continue
        if carry and "functionCall" in produced:
            produced["thoughtSignature"], carry = carry, None
        out.append(produced)
    return out


def client_part(part: ir.Part) -> dict | None:
    """A response part as a Gemini client reads it (foreign signatures dropped)."""
    if isinstance(part, ir.Thinking):
        return {"text": part.text, "thought": True} if part.text else None
    if isinstance(part, ir.ToolCall):
        return {"functionCall": {"id": part.id, "name": part.name, "args": part.arguments}}
    produced = _part_from_ir(part)
    return produced[0] if produced else None
