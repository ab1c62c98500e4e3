"""`localgate accounts test`: one cheap live call that proves an account works."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from localgate import providers
from localgate.bounded import read_bounded
from localgate.config import AccountConfig, Config
from localgate.dialects.common import error_message
from localgate.errors import LocalgateError, ResponseTooLarge


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str
    latency_ms: float


async def check_account(config: Config, account: AccountConfig) -> CheckResult:
    """List the account's models with its credential; report ok or why not."""
    started = time.monotonic()

    def result(ok: bool, detail: str) -> CheckResult:
        return CheckResult(ok, detail, (time.monotonic() - started) * 1000)

    cls = providers.load(account.provider)
    try:
        provider = cls(account, cls.credential_for(account))
        call = await provider.check_call()  # OAuth accounts refresh their token here
    except LocalgateError as exc:
        return result(False, str(exc))
    timeout = aiohttp.ClientTimeout(
        total=config.timeouts.connect + 20, sock_connect=config.timeouts.connect
    )
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.request(
                call.method, call.url, headers=call.headers, data=call.body, proxy=provider.proxy
            ) as resp:
                if resp.status == 200:  # its body (a model list) is not needed
                    return result(True, f"{provider.base_url} accepted the credentials")
                # Only read to quote the refusal: a hostile upstream may never end it.
                body = await read_bounded(resp, int(config.server.max_response_mb * 1048576))
    except ResponseTooLarge as exc:
        return result(False, f"{resp.status} from {provider.base_url}, which {exc.message}")
    except aiohttp.ClientConnectorError as exc:
        return result(False, f"cannot connect to {provider.base_url}: {exc.os_error or exc}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return result(False, f"{provider.base_url} did not answer: {type(exc).__name__}")
    hint = " (the key is wrong or revoked)" if resp.status in (401, 403) else ""
    return result(False, f"{resp.status} from {provider.base_url}{hint}: {error_message(body)}")
