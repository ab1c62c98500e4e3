"""A headless Chromium driven over the DevTools protocol with aiohttp's WebSocket client.

    async with Browser.launch(tmp_path) as browser:
        page = await browser.page()
        await page.goto(url)
        await page.wait_for("document.body.dataset.ready === 'true'")

No dependency beyond aiohttp: the protocol is JSON over one WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
START_TIMEOUT = 30.0


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One tab: `call` a protocol method, `eval` JavaScript, wait for a condition."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self.console: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            data = json.loads(message.data)
            future = self._waiting.pop(data.get("id"), None)
            if future is not None and not future.done():
                future.set_result(data)
            elif data.get("method") == "Runtime.consoleAPICalled":
                args = data["params"]["args"]
                self.console.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in args)
                )
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(data["params"]["exceptionDetails"]))
            elif data.get("method") == "Log.entryAdded":
                self.console.append("log: " + data["params"]["entry"]["text"])

    async def call(self, method: str, **params):
        ident = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self._ws.send_json({"id": ident, "method": method, "params": params})
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    async def eval(self, expression: str):
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0):
        """Poll `expression` until it is truthy; its value. TimeoutError names it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.eval(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"waited {timeout}s for: {expression}\nconsole: {self.console}")
            await asyncio.sleep(0.1)

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def size(self, width: int, height: int, mobile: bool = False) -> None:
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    async def screenshot(self, path: Path, width: int, mobile: bool = False) -> None:
        """A PNG of the whole page at `width` CSS pixels."""
        await self.size(width, 900, mobile)
        await asyncio.sleep(0.3)  # the chart redraws on resize
        height = await self.eval("Math.ceil(document.documentElement.scrollHeight)")
        await self.size(width, int(height), mobile)
        await asyncio.sleep(0.3)
        shot = await self.call("Page.captureScreenshot", format="png")
        Path(path).write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        self._reader.cancel()
        await self._ws.close()


class Browser:
    """A Chromium process with a fresh profile in `workdir`; closed (and killed) on exit."""

    def __init__(self, process: subprocess.Popen, port: int, session: aiohttp.ClientSession):
        self.process, self.port, self.session = process, port, session
        self.pages: list[Page] = []

    @classmethod
    async def launch(cls, binary: str, workdir: Path) -> Browser:
        profile = workdir / "profile"
        profile.mkdir()
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "chromium.log", "wb"),  # noqa: SIM115 (closed with the process)
            env={**os.environ, "HOME": str(workdir)},
        )
        port_file = profile / "DevToolsActivePort"
        for _ in range(int(START_TIMEOUT * 10)):
            if port_file.exists() and port_file.read_text().strip():
                break
            if process.poll() is not None:
                raise RuntimeError(f"chromium exited: {(workdir / 'chromium.log').read_text()}")
            await asyncio.sleep(0.1)
        else:
            process.kill()
            raise RuntimeError("chromium did not open its DevTools port")
        port = int(port_file.read_text().split()[0])
        return cls(process, port, aiohttp.ClientSession(trust_env=False))

    async def page(self) -> Page:
        async with self.session.get(f"http://127.0.0.1:{self.port}/json/list") as resp:
            targets = await resp.json()
        target = next(t for t in targets if t["type"] == "page")
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        self.pages.append(page)
        for domain in ("Page", "Runtime", "Log"):
            await page.call(f"{domain}.enable")
        return page

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc) -> None:
        for page in self.pages:
            await page.close()
        await self.session.close()
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
