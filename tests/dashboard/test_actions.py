"""Dashboard actions: disable and enable edit the config file and take effect at once."""

from __future__ import annotations

import tomllib

from tests.dashboard.helpers import page_headers
from tests.fakes import Error
from tests.limits.live import post_messages
from tests.support import account


async def act(client, name, action, status=200):
    async with client.get("/ui/api/session") as resp:
        csrf = (await resp.json())["csrf"]
    async with client.post(
        f"/ui/api/accounts/{name}/{action}", headers=page_headers(client, csrf)
    ) as resp:
        assert resp.status == status, await resp.text()
        return await resp.json()


async def test_disable_then_enable(dashboard, make_fake, config_path):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    client = await dashboard(
        [account("work", "anthropic", a.url, priority=1), account("spare", "anthropic", b.url)],
        server={"strategy": "fill-first"},
    )
    answer = await act(client, "work", "disable")
    assert answer == {
        "name": "work",
        "action": "disable",
        "state": "disabled",
        "ok": True,
        "detail": None,
    }
    saved = tomllib.loads(config_path.read_text())
    assert saved["accounts"][0] == {**saved["accounts"][0], "name": "work", "enabled": False}
    await post_messages(client)
    assert (len(a.requests), len(b.requests)) == (0, 1)  # at once, no reload wait

    a.script(Error(401, "invalid x-api-key"))
    answer = await act(client, "work", "enable")
    assert answer["state"] == "ok"
    assert "enabled" not in tomllib.loads(config_path.read_text())["accounts"][0]
    await post_messages(client)  # work is tried again: 401, so invalid; spare serves
    states = {
        a["name"]: a for a in (await (await client.get("/ui/api/accounts")).json())["accounts"]
    }
    assert states["work"]["state"] == "invalid"
    assert (await act(client, "work", "enable"))["state"] == "ok"  # enable also resets marks


async def test_unknown_account_or_action_and_api_key_refresh(dashboard, make_fake):
    a = await make_fake("anthropic", "a")
    client = await dashboard([account("work", "anthropic", a.url)])
    assert "no account named" in (await act(client, "nope", "disable", 404))["error"]["message"]
    assert "no dashboard action" in (await act(client, "work", "delete", 404))["error"]["message"]
    answer = await act(client, "work", "refresh-token", 400)
    assert "API key" in answer["error"]["message"]
