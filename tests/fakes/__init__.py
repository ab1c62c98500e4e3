"""Fake upstream providers speaking the real wire formats, for the test suite.

    fake = FakeAnthropic(name="work"); await fake.start()
    fake.script(Error(429), Reply(text="hi"))   # then `fake.default` answers
    fake.requests[-1].json                      # what the gateway sent

Fixtures (`fake_anthropic`, `fake_openai`, `fake_gemini`, `make_fake`) live in
`tests.fakes.plugin`.
"""

from collections.abc import Mapping
from types import MappingProxyType

from .anthropic import FakeAnthropic
from .base import (
    Behavior,
    Cut,
    Delay,
    Error,
    FakeUpstream,
    Flood,
    Garbage,
    Hang,
    Recorded,
    Reply,
    ToolCall,
    Usage,
)
from .gemini import FakeGemini
from .google_token import FakeGoogleToken
from .openai import FakeOpenAI
from .vertex import FakeVertex

# Read-only: the kinds `make_fake` knows.
FAKES: Mapping[str, type[FakeUpstream]] = MappingProxyType(
    {
        "anthropic": FakeAnthropic,
        "openai": FakeOpenAI,
        "gemini": FakeGemini,
    }
)

__all__ = [
    "FAKES",
    "Behavior",
    "Cut",
    "Delay",
    "Error",
    "FakeAnthropic",
    "FakeGemini",
    "FakeGoogleToken",
    "FakeOpenAI",
    "FakeUpstream",
    "FakeVertex",
    "Flood",
    "Garbage",
    "Hang",
    "Recorded",
    "Reply",
    "ToolCall",
    "Usage",
]
