"""A fake {region}-aiplatform.googleapis.com: Gemini and Claude publishers on one host.

Requests are answered by a FakeGemini (`.gemini`) and a FakeAnthropic
(`.claude`) that are never started themselves: script and inspect those. Like
Vertex, it refuses a request whose Bearer token the fake token endpoint did not
issue or that has expired (401 UNAUTHENTICATED), and counts those in `rejected`.
"""

from __future__ import annotations

from aiohttp import web

from . import anthropic, gemini
from .base import Error, FakeUpstream
from .google_token import FakeGoogleToken

UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential."
)


class FakeVertex(FakeUpstream):
    kind = "vertex"

    def __init__(self, name: str = "vertex", tokens: FakeGoogleToken | None = None) -> None:
        super().__init__(name)
        self.tokens = tokens
        self.gemini = gemini.FakeGemini(name)
        self.claude = anthropic.FakeAnthropic(name)
        self.rejected = 0

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(gemini.VERTEX_ROUTE, self._guarded(self.gemini._model_method))
        router.add_post(anthropic.VERTEX_ROUTE, self._guarded(self.claude._vertex))

    def _guarded(self, handler):
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self.tokens is not None and not self.tokens.live(
                request.headers.get("authorization")
            ):
                self.rejected += 1
                await request.read()
                return self.gemini.error_response(
                    Error(401, UNAUTHENTICATED, headers={"www-authenticate": 'Bearer realm="x"'})
                )
            return await handler(request)

        return guarded
