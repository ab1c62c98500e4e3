"""OpenAI content parts ⇄ the internal form: text, images, files, tool results.

A `tool` message takes text only, so images and files inside a tool result
become a placeholder in the tool message plus a user message with them, sent
right after the run of tool messages. A document known only by URL has no
equivalent (file parts take data): 400.
"""

from __future__ import annotations

from localgate.errors import InvalidRequest
from localgate.translate import ir

IMAGE_PLACEHOLDER = "[image content follows in the next user message]"
FILE_PLACEHOLDER = "[file content follows in the next user message]"


def user_part_to_ir(part: dict, index: int) -> ir.Part:
    """One part of a user message; audio and file ids are refused (400)."""
    kind = part.get("type")
    if kind == "text":
        return ir.Text(part.get("text", ""))
    if kind == "image_url":
        url = (part.get("image_url") or {}).get("url", "")
        media_type, data = split_data_url(url)
        return ir.Image(media_type, data) if data is not None else ir.Image(url=url)
    if kind == "file":
        file = part.get("file") or {}
        if not file.get("file_data"):
            raise InvalidRequest(
                "file parts need file_data (file ids cannot be resolved)", param="messages"
            )
        media_type, data = split_data_url(file["file_data"])
        return ir.Document(media_type or "application/pdf", data, title=file.get("filename"))
    raise InvalidRequest(
        f"messages[{index}]: content parts of type {kind!r} are not supported for this model",
        param="messages",
    )


def split_data_url(url: str) -> tuple[str | None, str | None]:
    """(media type, base64 data) of a data: URL; (None, None) for other URLs."""
    if not url.startswith("data:") or ";base64," not in url:
        return None, None
    head, data = url[5:].split(";base64,", 1)
    return head or None, data


def user_from_ir(parts: list[ir.Part]) -> list[dict]:
    """A user turn as OpenAI messages: tool messages first, then the user message."""
    out: list[dict] = []
    carried: list[dict] = []  # media of tool results, for the user message after them
    for part in parts:
        if isinstance(part, ir.ToolResult):
            media = [p for p in part.content if _is_media(p)]
            texts = [ir.text_of([p]) for p in part.content if not _is_media(p)]
            content = "\n".join(t for t in texts if t)
            carried += [m for m in (_media_part(p) for p in media) if m]
            placeholders = {
                IMAGE_PLACEHOLDER if isinstance(p, ir.Image) else FILE_PLACEHOLDER for p in media
            }
            content = "\n".join(filter(None, [content, *sorted(placeholders)]))
            if part.is_error and content:
                content = f"Error: {content}"
            out.append({"role": "tool", "tool_call_id": part.id, "content": content or "(empty)"})
    rest = [p for p in (_media_part(p) for p in parts if not isinstance(p, ir.ToolResult)) if p]
    rest = carried + rest
    if rest and all(p["type"] == "text" for p in rest):
        out.append({"role": "user", "content": "\n".join(p["text"] for p in rest)})
    elif rest:
        out.append({"role": "user", "content": rest})
    return out


def _is_media(part: ir.Part) -> bool:
    """An image or a file (a text document reads as text)."""
    return isinstance(part, ir.Image) or (isinstance(part, ir.Document) and part.text is None)


def _media_part(part: ir.Part) -> dict | None:
    if isinstance(part, ir.Text):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ir.Image):
        return {"type": "image_url", "image_url": {"url": part.link}}
    if isinstance(part, ir.Document):
        if part.text is not None:
            return {"type": "text", "text": part.text}
        if part.data is not None:
            return {
                "type": "file",
                "file": {"filename": part.title or "document.pdf", "file_data": part.data_url},
            }
        if part.url:
            raise InvalidRequest(
                f"a document by URL ({part.url[:80]}) cannot be sent to an OpenAI-compatible "
                "account (file parts take the data); send it inline",
                param="messages",
            )
    return None
