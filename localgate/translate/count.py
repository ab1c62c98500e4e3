"""Token counting across dialects: an Anthropic count_tokens request on Gemini's counter.

An Anthropic `POST /v1/messages/count_tokens` body is a Messages body without
`max_tokens`; the prompt in it (system, messages, tools) goes through the same
Anthropic → Gemini translation as a generation request, so what is counted is
what `:generateContent` would be sent. Of that body only the prompt fields are
kept — `generationConfig` and `toolConfig` count no tokens, and Vertex's
CountTokensRequest has no `toolConfig` field at all.

The result is the neutral shape Vertex takes at the top level
(`contents`, `systemInstruction`, `tools`: google-genai's
`_CountTokensParameters_to_vertex`/`_CountTokensConfig_to_vertex`); the Gemini
API provider wraps it as `{"generateContentRequest": {"model": …, …}}`
(ai.google.dev/api/tokens, models.countTokens), since its top-level form takes
`contents` only. Both answer `{"totalTokens": N, …}`; the client hears
`{"input_tokens": N}`.

Dialects without an upstream counter (OpenAI) have no counter here: the gateway
answers 404 for them, and Claude Code falls back to its own estimate.
"""

from __future__ import annotations

from localgate.errors import UpstreamError
from localgate.translate import Translator

# (client, upstream) pairs that can be counted by the upstream's own counter.
COUNTABLE = frozenset({("anthropic", "gemini")})
# The fields of a generateContent body that are prompt, i.e. that cost input tokens.
PROMPT_FIELDS = ("contents", "systemInstruction", "tools")


def counter(client: str, upstream: str) -> TokenCounter:
    """A translator for one count request from `client`'s dialect to `upstream`'s counter."""
    if (client, upstream) not in COUNTABLE:
        raise ValueError(f"no token counter translation from {client} to {upstream}")
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
        return {key: wire[key] for key in PROMPT_FIELDS if key in wire}

    @property
    def dropped(self) -> tuple[str, ...]:
        return self.messages.dropped

    def response(self, body: dict) -> dict:
        """Gemini's `{"totalTokens": N, …}` → Anthropic's `{"input_tokens": N}`.

        Raises UpstreamError (502) when the count is not a count.
        """
        # Google's JSON leaves out fields at their zero value: no totalTokens means 0.
        total = body.get("totalTokens", 0)
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise UpstreamError(f"the upstream's token count is unreadable: {body!r:.200}")
        return {"input_tokens": total}
