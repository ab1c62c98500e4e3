"""GoogleCredential: refresh before expiry, once per account, typed failures."""

from __future__ import annotations

import asyncio
import time

import pytest

from localgate.errors import LoginExpired, SecretError, TokenRefreshFailed
from localgate.google.credential import email_of, google_credentials, parse_info
from tests.google.support import credential, service_account_info


class Clock:
    """Wall time that tests move forward."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


async def until(condition, limit: float = 5.0) -> None:
    """Wait (on the event loop) until `condition()` holds; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{condition} never held"
        await asyncio.sleep(0.01)


async def test_token_is_cached_until_the_margin(fake_google_token):
    clock = Clock()
    cred = credential(fake_google_token.authorized_user(), clock=clock)
    first = await cred.token()
    assert fake_google_token.refreshes == 1
    assert await cred.token() == first
    clock.shift = 3600 - 301  # margin for an hour-long token is 300 s
    assert await cred.token() == first
    assert fake_google_token.refreshes == 1
    clock.shift = 3600 - 299
    # Inside the margin the still-valid token is handed out at once, renewed behind it.
    assert await cred.token() == first
    await until(cred.fresh)
    second = await cred.token()
    assert second != first and fake_google_token.refreshes == 2
    assert fake_google_token.live(f"Bearer {second}")


async def test_hundred_concurrent_callers_share_one_refresh(fake_google_token):
    fake_google_token.delay = 0.2  # the refresh is still running when all 100 arrive
    cred = credential(fake_google_token.authorized_user())
    tokens = await asyncio.gather(*(cred.token() for _ in range(100)))
    assert fake_google_token.refreshes == 1
    assert len(set(tokens)) == 1


async def test_short_lived_tokens_refresh_as_time_passes(fake_google_token):
    fake_google_token.expires_in = 1
    cred = credential(fake_google_token.authorized_user())
    first = await cred.token()
    assert await cred.token() == first  # 0.9 s of its 1 s are usable
    await asyncio.sleep(1.0)
    second = await cred.token()
    assert second != first
    assert fake_google_token.refreshes == 2
    assert fake_google_token.live(f"Bearer {second}")


async def test_revoked_login_names_the_command_and_stops_asking(fake_google_token):
    fake_google_token.revoked.add("1//fake-refresh")
    cred = credential(fake_google_token.authorized_user(), name="gcp")
    with pytest.raises(LoginExpired) as caught:
        await cred.token()
    message = str(caught.value)
    assert "invalid_grant" in message
    assert "localgate accounts add gcp --provider vertex" in message
    asked = len(fake_google_token.grants)
    # Later requests hear the same answer without hammering the token endpoint.
    for _ in range(5):
        with pytest.raises(LoginExpired):
            await cred.token()
    assert len(fake_google_token.grants) == asked
    # An explicit refresh asks again and recovers once the login works again.
    fake_google_token.revoked.clear()
    assert await cred.refresh() > time.time()
    assert fake_google_token.live(f"Bearer {await cred.token()}")


async def test_concurrent_callers_of_a_revoked_login_share_one_refusal(fake_google_token):
    fake_google_token.revoked.add("1//fake-refresh")
    fake_google_token.delay = 0.1
    cred = credential(fake_google_token.authorized_user())
    results = await asyncio.gather(*(cred.token() for _ in range(20)), return_exceptions=True)
    assert all(isinstance(r, LoginExpired) for r in results)
    assert len(fake_google_token.grants) == 1


async def test_unreachable_endpoint_is_transient(fake_google_token):
    cred = credential(fake_google_token.authorized_user())
    fake_google_token.close()
    with pytest.raises(TokenRefreshFailed) as caught:
        await cred.token()
    assert "cannot reach the Google token endpoint" in str(caught.value)
    assert not isinstance(caught.value, LoginExpired)


async def test_old_token_serves_inside_the_margin_while_the_endpoint_fails(fake_google_token):
    clock = Clock()
    cred = credential(fake_google_token.authorized_user(), clock=clock)
    first = await cred.token()
    clock.shift = 3600 - 100  # inside the margin, not yet expired
    fake_google_token.close()
    assert await cred.token() == first
    clock.shift = 3600 + 1  # expired: nothing to fall back on
    with pytest.raises(TokenRefreshFailed):
        await cred.token()


async def test_service_account_key_uses_jwt_bearer_against_token_uri(fake_google_token):
    info = service_account_info(fake_google_token)
    cred = credential(info)
    token = await cred.token()
    assert fake_google_token.live(f"Bearer {token}")
    grant = fake_google_token.grants[-1]
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert cred.email == "lg@proj.iam.gserviceaccount.com"


async def test_service_account_with_a_deleted_key_is_an_expired_login(fake_google_token):
    info = service_account_info(fake_google_token)
    service_account_info(fake_google_token)  # the endpoint now knows another key only
    with pytest.raises(LoginExpired, match="Invalid JWT Signature"):
        await credential(info).token()


async def test_fingerprint_follows_the_stored_login_not_the_access_token(fake_google_token):
    cred = credential(fake_google_token.authorized_user())
    before = cred.fingerprint
    await cred.refresh()
    await cred.refresh()
    assert cred.fingerprint == before
    assert credential(fake_google_token.authorized_user("1//other")).fingerprint != before


async def test_email_comes_from_the_refresh_id_token(fake_google_token):
    cred = credential(fake_google_token.authorized_user())
    assert cred.email is None
    await cred.token()
    assert cred.email == fake_google_token.email == email_of(cred._creds)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "is not JSON"),
        ("[1]", "is not a JSON object"),
        ('{"type": "external_account"}', "'external_account'"),
    ],
)
def test_unusable_credential_json(text, message):
    with pytest.raises(SecretError, match=message):
        parse_info(text, "where")


def test_incomplete_authorized_user_is_a_secret_error():
    with pytest.raises(SecretError, match="cannot be used"):
        google_credentials({"type": "authorized_user", "client_id": "x"}, "where")
