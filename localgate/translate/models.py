"""What translation needs to know about target models, by name prefix.

Only limits we are sure of are listed; an unknown model gets no clamping and
the conservative choice for each capability. The longest matching prefix wins,
so `claude-opus-4-5` overrides `claude-opus-4`.
"""

from __future__ import annotations

import functools
import re
from typing import TypeVar

T = TypeVar("T")

# Largest max_tokens / maxOutputTokens each model family accepts.
OUTPUT_CAPS: dict[str, int] = {
    "claude-3-haiku": 4096,
    "claude-3-opus": 4096,
    "claude-3-5": 8192,
    "claude-3-7-sonnet": 64000,
    "claude-sonnet-4": 64000,
    "claude-haiku-4": 64000,
    "claude-opus-4": 32000,
    "claude-opus-4-5": 64000,
    "gpt-3.5-turbo": 4096,
    "gpt-4-turbo": 4096,
    "gpt-4o": 16384,
    "chatgpt-4o": 16384,
    "gpt-4.1": 32768,
    "gpt-5": 128000,
    "o1": 100000,
    "o1-mini": 65536,
    "o3": 100000,
    "o4-mini": 100000,
    "deepseek-chat": 8192,
    "deepseek-reasoner": 65536,
    "gemini-1.5": 8192,
    "gemini-2.0": 8192,
    "gemini-2.5": 65536,
    "gemini-3": 65536,
}

# OpenAI models that reason: they take `reasoning_effort` and
# `max_completion_tokens` and reject `max_tokens` and `temperature` ≠ 1.
OPENAI_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")

# Used when an Anthropic upstream needs max_tokens and nobody said, for a model
# whose cap is not known (an Anthropic-compatible server's own models).
DEFAULT_MAX_TOKENS = 8192
# Asked of a Claude model whose cap is higher, when nobody said: what Claude Code
# asks of current models. Anthropic reserves output-token rate limit from
# max_tokens up front, so asking the cap (128K) would spend it for nothing.
UNASKED_MAX_TOKENS = 64000


def _longest_prefix(model: str, table: dict[str, T]) -> T | None:
    name = model.rsplit("/", 1)[-1].lower()  # "openai/gpt-4o" on OpenRouter
    best = max((p for p in table if name.startswith(p)), key=len, default=None)
    return table[best] if best else None


# Remembered per name: a day brings a handful of model names, and each lookup
# scans every prefix of its table (translated requests ask once or twice each).
@functools.lru_cache(maxsize=512)
def output_cap(model: str) -> int | None:
    """The most output tokens `model` accepts, when known."""
    version = claude_version(model)
    if version is not None and version >= CLAUDE_128K_SINCE:
        return CLAUDE_128K
    return _longest_prefix(model, OUTPUT_CAPS)


def unasked_max_tokens(model: str) -> int:
    """max_tokens for an upstream that needs one (Anthropic) when the client said none."""
    cap = output_cap(model)
    return min(cap, UNASKED_MAX_TOKENS) if cap else DEFAULT_MAX_TOKENS


def clamp_max_tokens(model: str, requested: int | None) -> int | None:
    """`requested` lowered to the model's cap (None stays None)."""
    cap = output_cap(model)
    if requested is None or cap is None:
        return requested
    return min(requested, cap)


def is_openai_reasoning(model: str) -> bool:
    """True for OpenAI reasoning models (o-series, gpt-5)."""
    name = model.rsplit("/", 1)[-1].lower()
    return name.startswith(OPENAI_REASONING_PREFIXES)


def is_gemini_3(model: str) -> bool:
    """Gemini 3 takes thinkingLevel and validates thought signatures on calls."""
    return model.rsplit("/", 1)[-1].lower().startswith("gemini-3")


# Thinking token budgets each Gemini family accepts (min, max). Anthropic's are
# 1024 and the request's max_tokens - 1, applied by its writer.
THINKING_BUDGETS: dict[str, tuple[int, int]] = {
    "gemini-2.5-pro": (128, 32768),
    "gemini-2.5-flash": (1, 24576),
    "gemini-2.5-flash-lite": (512, 24576),
}

# A Claude model name's version: "claude-opus-4-8" (4, 8), "claude-3-7-sonnet-latest"
# (3, 7), "claude-sonnet-4-20250514" and "claude-sonnet-4@20250514" (4, 0: a date is
# not a minor version), "claude-sonnet-4.5" (OpenRouter's dots).
_CLAUDE_VERSION = re.compile(r"claude-(?:[a-z]+-)*?(\d+)(?:[-.](\d)(?!\d))?")
# A Claude name without a version ("claude-mythos-preview") is taken as the newest.
NEWEST = (99, 0)
# Opus 4.1, Sonnet and Haiku 4.5 and later take `output_config.format`.
STRUCTURED_OUTPUT_SINCE = (4, 1)
# 4.6 takes `thinking: adaptive` (budgets deprecated); 4.7 and later refuse
# `thinking: enabled` with a budget, with a 400.
ADAPTIVE_THINKING_SINCE = (4, 6)
# Opus and Sonnet 4.6 and every later Claude (Fable, Opus, Sonnet and Haiku 5.x) write
# up to 128K tokens; the table above holds the older ones (Haiku 4.5: 64K).
CLAUDE_128K_SINCE = (4, 6)
CLAUDE_128K = 128000


@functools.lru_cache(maxsize=512)
def claude_version(model: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude model name; None for other names, whose servers
    (Anthropic-compatible ones) get the conservative form of each feature."""
    name = model.rsplit("/", 1)[-1].lower()
    if not name.startswith("claude"):
        return None
    match = _CLAUDE_VERSION.match(name)
    if match is None:
        return NEWEST
    return int(match.group(1)), int(match.group(2) or 0)


@functools.lru_cache(maxsize=512)
def thinking_budget_range(model: str) -> tuple[int, int] | None:
    """The (min, max) thinking budget `model` accepts, when known."""
    return _longest_prefix(model, THINKING_BUDGETS)


def clamp_thinking_budget(model: str, budget: int) -> int:
    """`budget` raised to the model's minimum and lowered to its maximum."""
    bounds = thinking_budget_range(model)
    if bounds is None:
        return budget
    return min(max(budget, bounds[0]), bounds[1])


def has_structured_output(model: str) -> bool:
    """True for Claude models that take `output_config.format`."""
    version = claude_version(model)
    return version is not None and version >= STRUCTURED_OUTPUT_SINCE


def has_adaptive_thinking(model: str) -> bool:
    """True for Claude models that take `thinking: adaptive` with `output_config.effort`."""
    version = claude_version(model)
    return version is not None and version >= ADAPTIVE_THINKING_SINCE
