"""`localgate dashboard`: prints (and opens) the page, or a one-time login link."""

from __future__ import annotations

import webbrowser

from localgate.proxytoken import rotate_proxy_token
from tests.limits.live import run_cli
from tests.support import account


async def test_opens_the_page_without_a_token(dashboard, make_fake, config_path, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    fake = await make_fake("anthropic", "a")
    client = await dashboard([account("work", "anthropic", fake.url)])
    result = await run_cli(config_path, "dashboard")
    assert result.exit_code == 0, result.output
    url = f"http://127.0.0.1:{client.server.port}/ui"
    assert result.output.strip() == url and opened == [url]


async def test_with_a_token_it_opens_a_login_link_that_works_once(
    dashboard, make_fake, config_path, monkeypatch
):
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    token = rotate_proxy_token()  # in the test keyring, where the CLI reads it
    fake = await make_fake("anthropic", "a")
    client = await dashboard([account("work", "anthropic", fake.url)], token=token)
    result = await run_cli(config_path, "dashboard")
    assert result.exit_code == 0, result.output
    (link,) = opened
    assert link.startswith(f"http://127.0.0.1:{client.server.port}/ui/login?code=")
    assert link in result.output and "one-time login link" in result.output
    assert token not in result.output and token not in link
    path = link.split(str(client.server.port), 1)[1]
    async with client.get(path, allow_redirects=False) as resp:
        assert resp.status == 303
    async with client.get(path, allow_redirects=False) as resp:
        assert resp.status == 403
    result = await run_cli(config_path, "dashboard", "--no-browser")
    assert result.exit_code == 0 and len(opened) == 1
    assert "/ui/login?code=" in result.output and result.output.split()[0] != link


async def test_says_when_no_daemon_runs(config_path):
    from tests.limits.live import free_port
    from tests.support import write_config

    write_config(config_path, [], server={"port": free_port()})
    result = await run_cli(config_path, "dashboard", "--no-browser")
    assert result.exit_code == 1
    assert "not running" in result.output and "localgate serve" in result.output
