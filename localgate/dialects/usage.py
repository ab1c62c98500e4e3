"""Token usage as every dialect reports it, in one shape (Anthropic's meaning)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Usage:
    """Tokens of one request. `input_tokens` excludes cached tokens, as Anthropic counts."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    @property
    def total(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )


def as_int(value) -> int:
    """Providers sometimes send null or floats; count them as whole tokens."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
