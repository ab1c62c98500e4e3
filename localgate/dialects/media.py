"""What OpenAI's image and audio operations use beyond tokens, read off their wire.

- Images: the final images an images answer holds: the `data` of a whole
  answer, one per `image_generation.completed` / `image_edit.completed` event
  of a stream (its partial images are previews of the same picture).
- Audio seconds: what a transcription or translation heard, where its answer
  says: `duration` (`verbose_json`), else a `usage` of type `duration`
  (whisper-1's `json`). Plain-text answers (`text`, `srt`, `vtt`) and token
  usage (gpt-4o-transcribe) name no seconds: none are counted.
- Speech characters: the length of the `input` a speech request sent. Its
  answer is audio bytes that say nothing of their length, and characters are
  what OpenAI prices tts-1 by.

Only operations with a meter (`Operation.meter`) come here: chat never does.
"""

from __future__ import annotations

import re

from localgate.dialects import openai
from localgate.dialects.common import UsageTap
from localgate.dialects.usage import Usage, as_seconds

IMAGES = "images"  # image generations, edits, variations
AUDIO = "audio"  # transcriptions, translations
SPEECH = "speech"  # text to speech

# The `type` of a stream event that carries a final image. Base64 holds no
# quote, so a partial image's data cannot match.
_FINAL_IMAGE = re.compile(r'"type"\s*:\s*"image_(?:generation|edit)\.completed"')


def measure(meter: str, usage: Usage, body, answer: dict | None) -> None:
    """Add to `usage` what a served `meter` request used: read from its request
    `body` (speech) or its whole JSON `answer` (None when streamed: `usage_tap`
    counted on the way)."""
    if meter == SPEECH:
        text = body.get("input")
        usage.speech_characters = len(text) if isinstance(text, str) else 0
    elif not isinstance(answer, dict):
        return
    elif meter == IMAGES:
        data = answer.get("data")
        usage.images = len(data) if isinstance(data, list) else 0
    elif meter == AUDIO:
        usage.audio_seconds = heard(answer)


def heard(answer: dict) -> float:
    """The seconds of audio a transcription answer says it heard (0 when it does not)."""
    if answer.get("duration") is not None:  # exact; usage's seconds are rounded up
        return as_seconds(answer["duration"])
    usage = answer.get("usage")
    if isinstance(usage, dict) and usage.get("type") == "duration":
        return as_seconds(usage.get("seconds"))
    return 0.0


def usage_tap() -> UsageTap:
    """A tap for a media event stream: tokens and errors as in any OpenAI stream,
    plus the final images that pass."""
    return UsageTap(_read_event, openai.is_terminal)


def _read_event(event, tap: UsageTap) -> None:
    before = tap.usage
    openai.read_event(event, tap)  # replaces tap.usage when the event has usage
    usage = tap.usage
    if usage is not before:  # the token figures are the event's; the counts go on
        usage.images = before.images
    if ".completed" in event.data and _FINAL_IMAGE.search(event.data):
        usage.images += 1
