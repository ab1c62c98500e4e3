"""The dashboard in a real browser: headless Chromium against a daemon with fake upstreams.

Checks that every account appears with its state, that a request made while
the page is open shows up in the live feed and in the usage chart, that the
disable action works, and saves screenshots (LOCALGATE_SCREENSHOTS=DIR keeps
them there: that is how docs/dashboard.png is made).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.dashboard.browser import Browser, chromium_binary
from tests.dashboard.helpers import generated_rows
from tests.fakes import Error, Reply, Usage
from tests.limits.live import written
from tests.support import account

WIDE, PHONE = 1360, 390


@pytest.fixture
def chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return binary


async def ask(client, path: str, body: dict, headers=None) -> str:
    async with client.post(path, json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()
        return resp.headers["x-request-id"]


def figures(reset_at: float) -> dict[str, str]:
    """Anthropic rate-limit headers of an account well into its window (the fake's own
    figures reset within a second, too soon for a picture)."""
    reset = datetime.fromtimestamp(reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {}
    for kind, limit, left in (
        ("requests", 4000, 3130),
        ("tokens", 2_400_000, 610_000),
        ("input-tokens", 2_000_000, 1_480_000),
        ("output-tokens", 400_000, 215_000),
    ):
        headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
        headers[f"anthropic-ratelimit-{kind}-remaining"] = str(left)
        headers[f"anthropic-ratelimit-{kind}-reset"] = reset
    return headers


def claude(text: str) -> dict:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": text}],
    }


async def test_dashboard_in_chromium(chromium, dashboard, make_fake, config_path, tmp_path):
    fakes = {
        name: await make_fake(kind, name)
        for name, kind in (
            ("work", "anthropic"),
            ("personal", "anthropic"),
            ("team-openai", "openai"),
            ("backup", "anthropic"),
            ("spare", "anthropic"),
        )
    }
    now = time.time()
    history = generated_rows(
        6000,
        now - 600,
        days=7,
        accounts=("work", "personal", "team-openai", "spare"),
        models=("claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o"),
    )
    client = await dashboard(
        [
            account("personal", "anthropic", fakes["personal"].url, priority=4),
            account("backup", "anthropic", fakes["backup"].url, priority=3),
            account("work", "anthropic", fakes["work"].url, priority=2, rpm=60, tpd=10_000_000),
            account("team-openai", "openai", fakes["team-openai"].url),
            account("spare", "anthropic", fakes["spare"].url),
        ],
        rows=list(history),
        server={"strategy": "fill-first"},
    )
    port = client.server.port
    fakes["personal"].script(Error(429, "rate limited", headers={"retry-after": "840"}))
    fakes["backup"].script(Error(401, "invalid x-api-key"))
    usage = Usage(input=1200, output=320, cache_read=5400)
    fakes["work"].default = Reply(usage=usage, headers=figures(time.time() + 2400))
    await ask(client, "/v1/messages", claude("warm up"))  # personal cools, backup invalid
    await ask(
        client,
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    await written(client)  # so the chart's first total holds them

    async with await Browser.launch(chromium, tmp_path) as browser:
        page = await browser.page()
        await page.size(WIDE, 900)
        await page.goto(f"http://127.0.0.1:{port}/ui")
        await page.wait_for("document.body?.dataset.ready === 'true'")
        await page.wait_for("document.getElementById('live').dataset.state === 'live'")

        states = await page.eval(
            "Object.fromEntries([...document.querySelectorAll('.card')]"
            ".map(c => [c.dataset.account, c.dataset.state]))"
        )
        assert states == {
            "personal": "cooling",
            "backup": "invalid",
            "work": "ok",
            "team-openai": "ok",
            "spare": "ok",
        }
        cooling = await page.eval(
            "document.querySelector('.card[data-account=personal] [data-until]').textContent"
        )
        assert cooling.startswith(("13m", "14m")), cooling
        fix = await page.eval(
            "document.querySelector('.card[data-account=backup] .fix code').textContent"
        )
        assert fix.startswith("localgate accounts add backup")
        chart_total = int(await page.eval("document.querySelector('#chart svg').dataset.total"))

        # A request made while the page is open: the feed shows it, then the chart counts it.
        request_id = await ask(client, "/v1/messages", claude("while watching"))
        row = await page.wait_for(
            f"document.querySelector('tr[data-request=\"{request_id}\"]')?.textContent"
        )
        assert "claude-sonnet-4-5" in row and "work" in row and "200" in row
        await page.wait_for(
            f"+document.querySelector('#chart svg').dataset.total === {chart_total + 1}", 15
        )

        # Media columns only once some was used: an image made while watching adds them.
        heads = "[...document.querySelectorAll('#usage-table th')].map(th => th.textContent)"
        assert "images" not in await page.eval(heads)
        image = {"model": "gpt-image-1", "prompt": "a fox", "n": 2}
        await ask(client, "/v1/images/generations", image)
        await page.wait_for(f"{heads}.includes('images')", 15)
        assert "audio" not in await page.eval(heads)
        totals = await page.eval("document.getElementById('usage-totals').textContent")
        assert "2images" in totals, totals
        assert await page.eval("document.querySelector('#metric [value=images]').hidden") is False

        # Hovering the chart shows the numbers of the bucket under the pointer (moved
        # until it shows: the chart is redrawn whenever new usage arrives).
        tip = None
        await page.eval("document.getElementById('chart').scrollIntoView({block: 'center'})")
        for attempt in range(30):
            x, y = await page.eval(
                "(() => { const r = document.querySelector('#chart svg').getBoundingClientRect();"
                " return [r.right - 40, r.top + r.height / 2]; })()"
            )
            await page.call("Input.dispatchMouseEvent", type="mouseMoved", x=x - attempt % 2, y=y)
            tip = await page.eval(
                "!document.getElementById('tooltip').hidden && "
                "document.getElementById('tooltip').textContent"
            )
            if tip:
                break
            await asyncio.sleep(0.2)
        assert tip and "work" in tip, tip
        await page.call("Input.dispatchMouseEvent", type="mouseMoved", x=5, y=5)
        await page.eval("window.scrollTo(0, 0)")

        # Disable an account through its button and the confirmation dialog.
        await page.eval(
            "document.querySelector('button[data-action=disable][data-account=spare]').click()"
        )
        await page.wait_for("document.getElementById('confirm').open")
        await page.eval("document.getElementById('confirm-ok').click()")
        await page.wait_for(
            "document.querySelector('.card[data-account=spare]')?.dataset.state === 'disabled'"
        )
        saved = tomllib.loads(config_path.read_text())["accounts"]
        assert next(a for a in saved if a["name"] == "spare")["enabled"] is False

        for stream in (True, False, True):  # a little more live traffic for the picture
            await ask(client, "/v1/messages", {**claude("more"), "stream": stream})
        # A media operation says what it made beside its (zero) tokens.
        await ask(
            client, "/v1/images/generations", {"model": "gpt-image-1", "prompt": "fox", "n": 2}
        )
        await page.wait_for("document.querySelectorAll('#traffic tbody tr').length >= 8")
        cells = await page.eval(
            "[...document.querySelectorAll('#traffic tbody td')].map(td => td.textContent)"
        )
        assert "openai · image · 2 images" in cells, cells
        await page.eval("document.getElementById('toast').hidden = true")
        shots = Path(os.environ.get("LOCALGATE_SCREENSHOTS") or tmp_path)
        await page.screenshot(shots / "dashboard.png", WIDE)
        await page.eval("document.documentElement.dataset.theme = 'dark'")
        await page.screenshot(shots / "dashboard-dark.png", WIDE)
        await page.eval("document.documentElement.dataset.theme = 'light'")
        await page.screenshot(shots / "dashboard-phone.png", PHONE, mobile=True)
        assert (shots / "dashboard.png").stat().st_size > 20_000
        errors = [line for line in page.console if "exception" in line or "Refused" in line]
        assert not errors, json.dumps(errors)


async def test_login_link_in_chromium(chromium, dashboard, make_fake, tmp_path):
    """With a proxy token: the page asks for `localgate dashboard`; its one-time link logs the
    browser in with a cookie scripts cannot read, and actions work with that session."""
    fake = await make_fake("anthropic", "work")
    token = "lg-browser-test-token"
    client = await dashboard([account("work", "anthropic", fake.url)], token=token)
    base = f"http://127.0.0.1:{client.server.port}"
    async with client.post("/ui/api/login-link", headers={"x-api-key": token}) as resp:
        link = (await resp.json())["url"]

    async with await Browser.launch(chromium, tmp_path) as browser:
        page = await browser.page()
        await page.size(WIDE, 900)
        await page.goto(f"{base}/ui")
        await page.wait_for("document.body?.dataset.ready === 'login'")
        assert await page.eval("!document.getElementById('login').hidden")

        await page.goto(base + link)
        await page.wait_for("document.body?.dataset.ready === 'true'")
        assert await page.eval("location.pathname") == "/ui"
        assert await page.eval("document.cookie") == ""  # HttpOnly
        state = await page.wait_for(
            "document.querySelector('.card[data-account=work]')?.dataset.state"
        )
        assert state == "ok"
        await page.eval("document.querySelector('button[data-action=disable]').click()")
        await page.eval("document.getElementById('confirm-ok').click()")
        await page.wait_for(
            "document.querySelector('.card[data-account=work]')?.dataset.state === 'disabled'"
        )

        await page.goto(base + link)  # used once: the link is dead now
        text = await page.wait_for("document.body?.innerText")
        assert "already used or has expired" in text
