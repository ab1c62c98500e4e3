"""Moderations: the route added last, as docs/routes.md says a route is added."""

from __future__ import annotations

import openai
import pytest

from tests.fakes import Error
from tests.sdks import openai_sdk
from tests.server.test_media import one, two


async def test_openai_sdk_moderations(localgate, make_fake):
    client, work = await one(localgate, make_fake)
    result = await openai_sdk(client).moderations.create(
        model="omni-moderation-latest", input=["a kind word", "hate speech"]
    )
    assert [r.flagged for r in result.results] == [False, True]
    assert work.requests[-1].path == "/v1/moderations"


async def test_failover_on_429(localgate, make_fake):
    client, first, second = await two(localgate, make_fake)
    first.script(Error(429))
    result = await openai_sdk(client).moderations.create(
        model="omni-moderation-latest", input="fine"
    )
    assert result.results[0].flagged is False and len(second.requests) == 1


async def test_bad_input(localgate, make_fake):
    client, work = await one(localgate, make_fake)
    with pytest.raises(openai.BadRequestError, match="input"):
        await openai_sdk(client).moderations.create(model="omni-moderation-latest", input=[])
    assert work.requests == []
