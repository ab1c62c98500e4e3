"""Token counting across dialects: each client's count request on another kind's counter.

Anthropic's count_tokens on Gemini's `:countTokens`, and Gemini's `:countTokens`
on Anthropic's count_tokens (Claude on Anthropic or Vertex).

An Anthropic `POST /v1/messages/count_tokens` body is a Messages body without
`max_tokens`; the prompt in it (system, messages, tools) goes through the same
Anthropic → Gemini translation as a generation request, so what is counted is
what `:generateContent` would be sent. Of that body only the prompt fields are
kept — `generationConfig` and `toolConfig` count no tokens, and Vertex's
CountTokensRequest has no `toolConfig` field at all.

The result is the Gemini API's form, `{"generateContentRequest": {"model": …,
…}}` (ai.google.dev/api/tokens, models.countTokens), since its top-level form
takes `contents` only; Vertex takes the same fields at the top level and its
provider unwraps them. Both answer `{"totalTokens": N, …}`; the client hears
`{"input_tokens": N}`.

The other way, a Gemini count body (`contents`, or a whole
`generateContentRequest`) goes through the Gemini → Anthropic translation and
keeps the fields count_tokens takes; `{"input_tokens": N}` comes back as
`{"totalTokens": N}`.

Dialects without an upstream counter (OpenAI) have no counter here: the gateway
answers 404 for them, and Claude Code falls back to its own estimate.
"""

from __future__ import annotations

from localgate.errors import UpstreamError
from localgate.translate import Translator

# (client, upstream) pairs that can be counted by the upstream's own counter.
COUNTABLE = frozenset({("anthropic", "gemini"), ("gemini", "anthropic")})
# The fields of a generateContent body that are prompt, i.e. that cost input tokens.
PROMPT_FIELDS = ("contents", "systemInstruction", "tools")
# The fields of a Messages body that Anthropic's count_tokens takes.
COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")


def counter(client: str, upstream: str) -> TokenCounter:
    """A translator for one count request from `client`'s dialect to `upstream`'s counter."""
    if (client, upstream) not in COUNTABLE:
        raise ValueError(f"no token counter translation from {client} to {upstream}")
    if upstream == "anthropic":
        return MessagesCounter(client, upstream)
    return TokenCounter(client, upstream)


class TokenCounter:
    """Translates one count request and its answer; the gateway uses it like a Translator."""

    def __init__(self, client: str, upstream: str) -> None:
        self.messages = Translator(client, upstream)

    def request(
        self, body: dict, *, model: str, stream: bool = False, client_model: str = ""
    ) -> dict:
        """The client's count body → the prompt fields of the upstream's generation body.

        Raises InvalidRequest for what cannot be translated (as a generation would).
        """
        wire = self.messages.request(body, model=model, stream=False, client_model=client_model)
        prompt = {key: wire[key] for key in PROMPT_FIELDS if key in wire}
        return {"generateContentRequest": {"model": "models/" + model, **prompt}}

    @property
    def dropped(self) -> tuple[str, ...]:
        return self.messages.dropped

    def response(self, body: dict) -> dict:
        """Gemini's `{"totalTokens": N, …}` → Anthropic's `{"input_tokens": N}`.

        Raises UpstreamError (502) when the count is not a count.
        """
        # Google's JSON leaves out fields at their zero value: no totalTokens means 0.
        return {"input_tokens": _count(body.get("totalTokens", 0))}


def _count(value) -> int:
    """A token count from an upstream's answer, or a 502 when it is none."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UpstreamError(f"the upstream's token count is unreadable: {value!r:.200}")
    return value


class MessagesCounter:
    """A Gemini count request on Anthropic's count_tokens; used like a Translator."""

    def __init__(self, client: str, upstream: str) -> None:
        self.messages = Translator(client, upstream)

    def request(
        self, body: dict, *, model: str, stream: bool = False, client_model: str = ""
    ) -> dict:
        """`{contents}` or `{generateContentRequest}` → the prompt as a count_tokens body."""
        generate = body.get("generateContentRequest")
        if not isinstance(generate, dict):
            generate = {"contents": body.get("contents")}
        generate = {k: v for k, v in generate.items() if k != "model"}
        wire = self.messages.request(generate, model=model, stream=False, client_model=model)
        return {key: wire[key] for key in COUNTED_FIELDS if key in wire}

    @property
    def dropped(self) -> tuple[str, ...]:
        return self.messages.dropped

    def response(self, body: dict) -> dict:
        """Anthropic's `{"input_tokens": N}` → Gemini's `{"totalTokens": N}`."""
        return {"totalTokens": _count(body.get("input_tokens"))}
