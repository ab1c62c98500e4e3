"""Wire dialects a client can speak: what a request, an error and a stream look like.

Each dialect module knows its own wire only: how to read the model, stream
flag and session out of a request, how to render a GatewayError as a response
body or as a stream error event, and how to read token usage out of a passing
response. Translation between dialects lives in `localgate.translate`.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

NAMES = ("anthropic", "openai", "gemini", "responses")


@cache  # called several times per request; import_module's lookup showed in profiles
def get(name: str):
    """The dialect module for `name` (one of NAMES)."""
    if name not in NAMES:
        raise KeyError(name)
    return import_module(f"localgate.dialects.{name}")


@cache  # a miss on a module formats an AttributeError: ~1,600 instructions a request
def optional(name: str, capability: str):
    """The dialect `name`'s `capability` (a function only some dialects define:
    `seal_answer`, `seal_events`), or None."""
    return getattr(get(name), capability, None)
