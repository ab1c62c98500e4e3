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


MAX_TOKENS = 2**63 - 1  # the most SQLite (the usage ledger) can store in a column


def as_int(value) -> int:
    """A token count from JSON: whole, finite and within 0 … 2^63-1.

    Providers sometimes send null or floats; a junk figure (1e19, -5, a
    string that is no number, inf) must not become a count the ledger cannot
    store, so it is clamped (too big) or counted as 0 (negative, not a number).
    """
    try:
        number = int(value or 0)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        return 0
    return min(max(number, 0), MAX_TOKENS)
