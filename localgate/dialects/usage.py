"""Usage as every dialect reports it, in one shape: tokens (Anthropic's meaning), and
what image and audio operations use beyond them (`localgate.dialects.media`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Usage:
    """What one request used. `input_tokens` excludes cached tokens, as Anthropic counts.

    The media figures stay 0 but for image and audio operations, which may also
    report tokens (gpt-image, gpt-4o-transcribe): they are counted beside them.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    images: int = 0  # final images an images answer holds (partial previews not counted)
    audio_seconds: float = 0.0  # audio heard by a transcription/translation, as it says
    speech_characters: int = 0  # characters of `input` a speech request sent to be spoken

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


MAX_SECONDS = 1e12  # far beyond any recording (31,000 years): a bigger figure is junk


def as_seconds(value) -> float:
    """A duration from JSON in seconds, within 0 … MAX_SECONDS (a bigger one, infinity
    included, is clamped); 0 for a negative, NaN, or anything not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    try:
        number = float(value)
    except OverflowError:  # an integer too big for a float
        return MAX_SECONDS
    if number != number or number < 0:  # NaN (number != number) or negative
        return 0.0
    return min(number, MAX_SECONDS)
