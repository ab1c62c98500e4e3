"""Legacy completions (`POST /v1/completions`) served through chat on other kinds.

The prompt becomes one user message of an OpenAI chat request, which the
generation translator takes on to the upstream's dialect; the answer comes back
as a chat answer and is rewritten as a `text_completion` — whole, or chunk by
chunk (every legacy chunk has the full object's shape, with partial `text`).
What chat has no room for (`suffix`, `echo`, `logprobs`, `best_of`, several
prompts at once) is refused or reported as dropped, never silently faked.
"""

from __future__ import annotations

import json

from localgate import sse
from localgate.errors import GatewayError, InvalidRequest
from localgate.translate import translator

# Legacy fields chat takes under the same name.
CARRIED = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "stream_options",
    "user",
)
UNSERVED = ("suffix", "echo", "logprobs", "best_of", "logit_bias")
LEGACY_MAX_TOKENS = 16  # the API's default when max_tokens is left out


class CompletionTranslator:
    """One legacy completion request and its answer, through chat, to `upstream`."""

    def __init__(self, upstream: str) -> None:
        self.chat = translator("openai", upstream)
        self.own_dropped: tuple[str, ...] = ()

    def request(self, body: dict, *, model: str, stream: bool, **context) -> dict:
        prompt = body["prompt"]
        if isinstance(prompt, list):
            if len(prompt) != 1 or not isinstance(prompt[0], str):
                raise InvalidRequest(
                    "prompt: only one text prompt can be completed by a non-OpenAI account",
                    param="prompt",
                )
            prompt = prompt[0]
        if body.get("n") not in (None, 1):
            raise InvalidRequest("n: only one completion per request here", param="n")
        self.own_dropped = tuple(k for k in UNSERVED if body.get(k) not in (None, False, 0))
        chat = {k: body[k] for k in CARRIED if k in body}
        chat.setdefault("max_tokens", LEGACY_MAX_TOKENS)
        chat.update(
            model=body["model"], stream=stream, messages=[{"role": "user", "content": prompt}]
        )
        return self.chat.request(chat, model=model, stream=stream, **context)

    @property
    def dropped(self) -> tuple[str, ...]:
        return self.own_dropped + self.chat.dropped

    def response(self, body: dict) -> dict:
        return legacy(self.chat.response(body))

    def stream(self) -> CompletionStream:
        return CompletionStream(self.chat.stream())


def legacy(chunk: dict) -> dict:
    """A chat completion (or chunk) as a text_completion: `text` for message/delta."""
    choices = []
    for choice in chunk.get("choices") or []:
        said = choice.get("message") or choice.get("delta") or {}
        choices.append(
            {
                "index": choice.get("index", 0),
                "text": said.get("content") or "",
                "logprobs": None,
                "finish_reason": choice.get("finish_reason"),
            }
        )
    out = {
        "id": str(chunk.get("id", "")).replace("chatcmpl", "cmpl", 1),
        "object": "text_completion",
        "created": chunk.get("created", 0),
        "model": chunk.get("model", ""),
        "choices": choices,
    }
    if chunk.get("usage") is not None:
        out["usage"] = chunk["usage"]
    return out


class CompletionStream:
    """Chat chunks from the generation stream translator, rewritten as legacy chunks."""

    def __init__(self, chat) -> None:
        self.chat = chat
        self.encoder = chat.encoder  # the relay asks it for a kept answer (Responses only)
        self.parser = sse.SSEParser()

    @property
    def usage(self):
        return self.chat.usage

    @property
    def failed(self) -> bool:
        """True once the stream ended in an error (the relay masks its text)."""
        return self.chat.failed

    @property
    def failure(self) -> str | None:
        """The upstream's own in-stream error, if any (the record keeps it)."""
        return self.chat.failure

    def _rewrite(self, data: bytes) -> bytes:
        out = []
        for event in self.parser.feed(data):
            text = event.data
            parsed = None
            if text.startswith("{"):
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
            if isinstance(parsed, dict) and "error" not in parsed:
                # A chunk that only opened the assistant role has no text yet.
                if parsed.get("choices") and all(
                    not (c.get("delta") or {}).get("content") and not c.get("finish_reason")
                    for c in parsed["choices"]
                ):
                    continue
                out.append(sse.encode(legacy(parsed)))
            else:
                out.append(sse.encode(text, event.event))
        return b"".join(out)

    def feed(self, event) -> bytes:
        return self._rewrite(self.chat.feed(event))

    def finish(self) -> bytes:
        return self._rewrite(self.chat.finish())

    def fail(self, error: GatewayError) -> bytes:
        return self._rewrite(self.chat.fail(error))
