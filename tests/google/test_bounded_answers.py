"""A token endpoint that answers without end: the refresh or login fails, bounded, in words.

A token answer is a few KB; a hostile or broken endpoint (or a proxy in its
place) may send hundreds of MB. The transport reads at most MAX_ANSWER bytes,
whether the length is declared (refused before reading) or not (read until
the bound), and the error names the account and what to check, never the body.
"""

from __future__ import annotations

import tracemalloc

import pytest

from localgate.errors import LoginFailed, TokenRefreshFailed
from localgate.google.login import paste_login
from tests.google.support import credential
from tests.google.test_login import client_of

FLOOD = 64 << 20  # bytes the fake endpoint offers
PEAK = 4 << 20  # bytes the refresh may allocate at its peak, far below the flood


@pytest.mark.parametrize("declared", [True, False], ids=["length", "until-close"])
async def test_a_flooding_token_endpoint_fails_the_refresh_within_bounds(
    fake_google_token, declared
):
    fake_google_token.flood, fake_google_token.flood_declared = FLOOD, declared
    cred = credential(fake_google_token.authorized_user(), name="gcp")
    tracemalloc.start()
    try:
        with pytest.raises(TokenRefreshFailed) as caught:
            await cred.refresh()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert "account 'gcp'" in message and "more than 64 KB" in message
    assert "token_uri" in message and "proxy" in message  # what to check
    assert "xxx" not in message and "access_token" not in message  # never the body
    assert peak < PEAK, f"the refresh held {peak / 1048576:.0f} MB"


async def test_a_flooding_token_endpoint_backs_off_like_any_failed_refresh(fake_google_token):
    fake_google_token.flood = FLOOD
    cred = credential(fake_google_token.authorized_user(), name="gcp")
    with pytest.raises(TokenRefreshFailed):
        await cred.token()
    asked = len(fake_google_token.grants)
    with pytest.raises(TokenRefreshFailed, match="next attempt in"):
        await cred.token()
    assert len(fake_google_token.grants) == asked  # not asked again at once
    fake_google_token.flood = 0
    assert await cred.refresh()  # a sane answer later is taken


def test_a_flooding_token_endpoint_fails_the_login(fake_google_token):
    fake_google_token.flood, fake_google_token.flood_declared = FLOOD, False
    with pytest.raises(LoginFailed) as caught:
        paste_login(client_of(fake_google_token), ask=lambda _: "4/code", announce=print)
    message = str(caught.value)
    assert "more than 64 KB" in message and "token_uri" in message
    assert "cannot reach" not in message and "xxx" not in message
