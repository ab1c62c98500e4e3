"""Token counting across dialects: a count request answered by the upstream's own counter.

A count request is a generation request without the generation: Anthropic's
`POST /v1/messages/count_tokens`, Responses' `POST /v1/responses/input_tokens`,
Gemini's `:countTokens` (whose `contents`, or whole `generateContentRequest`,
is read as the generateContent body it stands for).
The prompt in it (system, messages, tools) goes through the same translation
as a generation request, so what is counted is what a generation would send;
of that body only the fields the upstream's counter takes are kept:

- Gemini `:countTokens` takes the prompt fields of a generateContent body,
  written here in the Gemini API's own form, `{"generateContentRequest":
  {"model", …}}` (ai.google.dev/api/tokens: its top-level form counts `contents`
  only) — the form a Gemini client may send too; the Vertex provider lifts the
  fields to the top level, where its CountTokensRequest takes them (it has no
  `toolConfig`). It answers `{"totalTokens": N}` (left out when 0).
- Anthropic `count_tokens` takes a Messages body without `max_tokens` and
  sampling; it answers `{"input_tokens": N}`.
- OpenAI `/responses/input_tokens` takes a Responses body without `store`,
  `include`, `stream`; it answers `{"object": "response.input_tokens", "input_tokens": N}`.

Chat Completions has no counter: the gateway answers 404 for such accounts, and
Claude Code falls back to its own estimate.
"""

from __future__ import annotations

from localgate.errors import UpstreamError
from localgate.translate import Translator

# upstream dialect → (the fields of its generation body its counter takes, the count key)
COUNTERS: dict[str, tuple[tuple[str, ...], str]] = {
    "gemini": (("contents", "systemInstruction", "tools"), "totalTokens"),
    "anthropic": (("model", "system", "messages", "tools", "tool_choice"), "input_tokens"),
    "responses": (
        ("model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text"),
        "input_tokens",
    ),
}
# client dialect → its answer for a count of N tokens
ANSWERS = {
    "anthropic": lambda n: {"input_tokens": n},
    "gemini": lambda n: {"totalTokens": n},
    "responses": lambda n: {"object": "response.input_tokens", "input_tokens": n},
}


def counter(client: str, upstream: str) -> TokenCounter:
    """A translator for one count request from `client`'s dialect to `upstream`'s counter."""
    if client not in ANSWERS or upstream not in COUNTERS or client == upstream:
        raise ValueError(f"no token counter translation from {client} to {upstream}")
    return TokenCounter(client, upstream)


class TokenCounter:
    """Translates one count request and its answer; the gateway uses it like a Translator."""

    def __init__(self, client: str, upstream: str) -> None:
        self.messages = Translator(client, upstream)
        self.client, self.upstream = client, upstream
        self.fields, self.key = COUNTERS[upstream]
        self.answer = ANSWERS[client]

    @property
    def dropped(self) -> tuple[str, ...]:
        return self.messages.dropped

    def request(self, body: dict, *, model: str, stream: bool = False, **context) -> dict:
        """The client's count body → the fields of the upstream's generation body its
        counter takes. Raises InvalidRequest for what cannot be translated (as a
        generation would)."""
        if self.client == "gemini":
            body = generate_body(body)
        wire = self.messages.request(body, model=model, stream=False, **context)
        counted = {key: wire[key] for key in self.fields if key in wire}
        if self.upstream == "gemini":
            return {"generateContentRequest": {"model": "models/" + model, **counted}}
        return counted

    def response(self, body: dict) -> dict:
        """The upstream's count → the client's. Raises UpstreamError (502) when the
        count is not a count."""
        # Google's JSON leaves out fields at their zero value: no totalTokens means 0.
        total = body.get(self.key, 0)
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise UpstreamError(f"the upstream's token count is unreadable: {body!r:.200}")
        return self.answer(total)


def generate_body(count: dict) -> dict:
    """The generateContent body a Gemini countTokens body stands for."""
    wrapped = count.get("generateContentRequest")
    if isinstance(wrapped, dict):
        return {k: v for k, v in wrapped.items() if k != "model"}
    return {"contents": count.get("contents")}
