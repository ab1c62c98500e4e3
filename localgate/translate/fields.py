"""Every request field of every client dialect, and what its reader does with it.

A field is read into the IR (then mapped or dropped by the writer, in
`Context.drop`), noted as dropped by the reader (no other provider has it), or
refused by the reader with a 400 naming it. A field a reader does not know is
noted as dropped, never left out silently: the answer says so in
`x-localgate-dropped`, in the client's own words (`ir_names`).
docs/translation.md holds the table of every field per direction;
tests/translate/test_field_table.py keeps it, these tables and the SDKs in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from localgate.errors import InvalidRequest
from localgate.translate import ir

CONFIG = "generationConfig."  # Gemini's generation settings, named as one path


@dataclass(frozen=True)
class Fields:
    """The request fields of one dialect (or of one nested object, under `prefix`)."""

    read: frozenset[str]  # carried by the IR: the writer maps them, or drops them
    dropped: frozenset[str]  # no equivalent at any other provider: noted when present
    ir_names: Mapping[str, str] = field(default_factory=dict)  # IR field → this dialect's name
    prefix: str = ""

    @property
    def known(self) -> frozenset[str]:
        return self.read | self.dropped

    def note(self, req: ir.Request, body: Mapping) -> None:
        """Note what `body` holds that cannot travel: dropped fields, unknown ones."""
        note(req, body, sorted(self.dropped), self.prefix)
        note_unknown(req, body, self.known, self.prefix)


def note_unknown(req: ir.Request, body: Mapping, known: Iterable[str], prefix: str = "") -> None:
    """Note every field of `body` not in `known` as dropped (`prefix` names its parent)."""
    known = set(known)
    for name in body:
        if name not in known:
            req.dropped.append(prefix + name)


def note(req: ir.Request, body: Mapping, names: Iterable[str], prefix: str = "") -> None:
    """Note the fields `names` that `body` holds as dropped (`false` asks for nothing)."""
    for name in names:
        if body.get(name) not in (None, False):
            req.dropped.append(prefix + name)


def refuse(name: str, why: str) -> InvalidRequest:
    """The 400 for a field that cannot be left out without changing the answer."""
    return InvalidRequest(f"{name}: {why}", param=name)


def ir_names(dialect: str) -> Mapping[str, str]:
    """IR field → `dialect`'s name for it ({} for a dialect that names none)."""
    table = {"anthropic": ANTHROPIC, "openai": OPENAI, "gemini": GEMINI}.get(dialect)
    return table.ir_names if table else {}


ANTHROPIC = Fields(
    read=frozenset(
        {
            "model",
            "messages",
            "max_tokens",
            "system",
            "stream",
            "stop_sequences",
            "temperature",
            "top_p",
            "top_k",
            "metadata",
            "tools",
            "tool_choice",
            "thinking",
            "output_config",
        }
    ),
    # Anthropic-only: caching, server-side containers and context editing, tiers…
    dropped=frozenset(
        {
            "service_tier",
            "cache_control",
            "container",
            "context_management",
            "mcp_servers",
            "diagnostics",
            "inference_geo",
            "speed",
            "user_profile_id",
            "workspace_id",
        }
    ),
    ir_names={
        "reasoning": "thinking",
        "stop": "stop_sequences",
        "parallel": "tool_choice.disable_parallel_tool_use",
        "user": "metadata.user_id",
        "response_format": "output_config.format",
        "tools.web_search": "tools.web_search_20250305",
    },
)

OPENAI = Fields(
    # `top_k`: vLLM's and OpenRouter's extension. `n`, audio and log probabilities
    # are read to be refused.
    read=frozenset(
        {
            "model",
            "messages",
            "stream",
            "stream_options",
            "max_tokens",
            "max_completion_tokens",
            "temperature",
            "top_p",
            "top_k",
            "stop",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "functions",
            "function_call",
            "reasoning_effort",
            "response_format",
            "user",
            "n",
            "modalities",
            "audio",
            "logprobs",
            "top_logprobs",
            "web_search_options",
        }
    ),
    dropped=frozenset(
        {
            "logit_bias",
            "metadata",
            "store",
            "service_tier",
            "prediction",
            "verbosity",
            "prompt_cache_key",
            "prompt_cache_retention",
            "prompt_cache_options",
            "safety_identifier",
            "moderation",
        }
    ),
    ir_names={
        "reasoning": "reasoning_effort",
        "parallel": "parallel_tool_calls",
        "tools.web_search": "web_search_options",
    },
)

GEMINI = Fields(
    read=frozenset(
        {
            "model",
            "contents",
            "systemInstruction",
            "system_instruction",
            "tools",
            "toolConfig",
            "generationConfig",
            "cachedContent",  # read to be refused
        }
    ),
    dropped=frozenset({"safetySettings", "labels", "serviceTier", "store"}),
    ir_names={
        "temperature": CONFIG + "temperature",
        "top_p": CONFIG + "topP",
        "top_k": CONFIG + "topK",
        "seed": CONFIG + "seed",
        "presence_penalty": CONFIG + "presencePenalty",
        "frequency_penalty": CONFIG + "frequencyPenalty",
        "max_tokens": CONFIG + "maxOutputTokens",
        "stop": CONFIG + "stopSequences",
        "reasoning": CONFIG + "thinkingConfig",
        "response_format": CONFIG + "responseJsonSchema",
        "tools.web_search": "tools.googleSearch",
    },
)

GEMINI_CONFIG = Fields(
    # Log probabilities, non-text answers and other output settings are read to be refused.
    read=frozenset(
        {
            "temperature",
            "topP",
            "topK",
            "candidateCount",
            "maxOutputTokens",
            "stopSequences",
            "presencePenalty",
            "frequencyPenalty",
            "seed",
            "responseMimeType",
            "responseSchema",
            "responseJsonSchema",
            "thinkingConfig",
            "responseLogprobs",
            "logprobs",
            "responseModalities",
            "speechConfig",
            "responseFormat",
            "translationConfig",
        }
    ),
    dropped=frozenset(
        {
            "audioTimestamp",
            "mediaResolution",
            "enableAffectiveDialog",
            "routingConfig",
            "modelSelectionConfig",
            "enableEnhancedCivicAnswers",
            "audioTranscriptionConfig",
        }
    ),
    prefix=CONFIG,
)
