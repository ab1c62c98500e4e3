"""The official SDKs as clients of a test server, each closed when its test ends.

An SDK client left open is closed by its `__del__` whenever the garbage
collector gets to it — often during a later test, on that test's event loop,
where closing the old loop's sockets fails with "Event loop is closed" logged
as an ERROR that the later test then counts. So every client built here is
remembered and closed by the `close_sdks` fixture (tests/conftest.py) while its
own loop still runs.
"""

from __future__ import annotations

import anthropic
import openai
from google import genai
from google.genai import types

OPEN: list = []  # async close callables of the clients built during the current test


def _base(where) -> str:
    """A test client (aiohttp TestClient) or a URL string."""
    return where if isinstance(where, str) else str(where.make_url(""))


def anthropic_sdk(where, api_key: str = "client-key-not-forwarded") -> anthropic.AsyncAnthropic:
    sdk = anthropic.AsyncAnthropic(base_url=_base(where), api_key=api_key, max_retries=0)
    OPEN.append(sdk.close)
    return sdk


def openai_sdk(
    where, api_key: str = "client-key-not-forwarded", *, path: str = "/v1"
) -> openai.AsyncOpenAI:
    sdk = openai.AsyncOpenAI(
        base_url=_base(where).rstrip("/") + path, api_key=api_key, max_retries=0
    )
    OPEN.append(sdk.close)
    return sdk


def genai_sdk(
    where, api_version: str = "v1beta", api_key: str = "client-key-not-forwarded"
) -> genai.Client:
    sdk = genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(
            base_url=_base(where),
            api_version=api_version,
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )
    OPEN.append(sdk.aio.aclose)
    return sdk


async def close_all() -> None:
    while OPEN:
        await OPEN.pop()()
