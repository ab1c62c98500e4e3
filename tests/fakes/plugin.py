"""pytest fixtures serving the fake upstreams; load with `pytest_plugins`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio

from ..sdks import close_all as close_sdks
from . import FAKES, FakeAnthropic, FakeGemini, FakeOpenAI, FakeUpstream
from .google_token import FakeGoogleToken
from .vertex import FakeVertex


@pytest_asyncio.fixture
async def fake_anthropic() -> AsyncIterator[FakeAnthropic]:
    """A started fake api.anthropic.com named "anthropic"."""
    fake = FakeAnthropic(name="anthropic")
    await fake.start()
    yield fake
    await close_sdks()
    await fake.close()


@pytest_asyncio.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A started fake api.openai.com named "openai" (`url` ends in /v1)."""
    fake = FakeOpenAI(name="openai")
    await fake.start()
    yield fake
    await close_sdks()
    await fake.close()


@pytest_asyncio.fixture
async def fake_gemini() -> AsyncIterator[FakeGemini]:
    """A started fake generativelanguage.googleapis.com named "gemini"."""
    fake = FakeGemini(name="gemini")
    await fake.start()
    yield fake
    await close_sdks()
    await fake.close()


@pytest_asyncio.fixture
async def make_fake() -> AsyncIterator[Callable[[str, str], Awaitable[FakeUpstream]]]:
    """A factory: `await make_fake("anthropic", "work")` → a started fake, closed after."""
    started: list[FakeUpstream] = []

    async def make(kind: str, name: str = "fake") -> FakeUpstream:
        fake = FAKES[kind](name=name)
        await fake.start()
        started.append(fake)
        return fake

    yield make
    await close_sdks()
    for fake in started:
        await fake.close()


@pytest.fixture
def fake_google_token() -> Iterator[FakeGoogleToken]:
    """A started fake Google OAuth server (token + authorization endpoints), in a thread."""
    fake = FakeGoogleToken().start()
    yield fake
    fake.close()


@pytest_asyncio.fixture
async def fake_vertex(fake_google_token) -> AsyncIterator[FakeVertex]:
    """A started fake Vertex AI host that accepts only `fake_google_token`'s live tokens."""
    fake = FakeVertex(name="vertex", tokens=fake_google_token)
    await fake.start()
    yield fake
    await close_sdks()
    await fake.close()
