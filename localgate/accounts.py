"""The daemon's live view of its accounts: config entry, provider, credential.

Built from the config on start and on every hot reload. Secrets are resolved
here, off the event loop, the keyring read by a child process
(localgate.keyreader); an account whose secret is missing stays listed with
the reason, so tables can say what to run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from localgate import providers
from localgate.config import AccountConfig
from localgate.errors import KeyringFailed, KeyringUnavailable, LocalgateError
from localgate.keyreader import Keys, read_keys
from localgate.pool import AccountEntry
from localgate.providers.base import Provider

log = logging.getLogger("localgate")


@dataclass
class Account:
    config: AccountConfig
    provider: Provider | None  # None when the secret could not be resolved
    problem: str | None = None  # why it cannot be used (missing key…), never a secret
    # Why the keyring failed when this was built (None: it did not). The provider,
    # if any, holds the secret loaded before; the daemon asks the keyring again soon.
    keyring_failed: str | None = None

    @property
    def name(self) -> str:
        return self.config.name

    def entry(self) -> AccountEntry:
        """What the pool needs to know; `revision` changes when the key or the entry does."""
        fingerprint = self.provider.credential.fingerprint if self.provider else "none"
        revision = hashlib.sha256(f"{self.config!r}|{fingerprint}".encode()).hexdigest()[:16]
        return AccountEntry(
            name=self.name,
            priority=self.config.priority,
            enabled=self.config.enabled,
            revision=revision,
        )


def build_account(
    config: AccountConfig, previous: Account | None = None, read: Callable | None = None
) -> Account:
    """Resolve the secret and instantiate the provider (blocking: call off the loop);
    `read(name)` reads a keyring entry (the keyring itself when None).

    When the keyring fails (rather than having no key), the secret `previous`
    held is kept: a locked or briefly unreadable keyring must not take every
    account down with it.
    """
    cls = providers.load(config.provider)
    try:
        credential = cls.credential_for(config, read)
    except (KeyringFailed, KeyringUnavailable) as exc:
        if previous is not None and previous.provider is not None:
            if previous.config.provider == config.provider:
                return Account(config, cls(config, previous.provider.credential), None, str(exc))
        return Account(config, None, str(exc), str(exc))
    except LocalgateError as exc:
        return Account(config, None, str(exc))
    return Account(config, cls(config, credential))


def in_keyring(configs: tuple[AccountConfig, ...]) -> list[str]:
    """The names of the accounts whose keys the keyring holds (not `key_env`)."""
    return [c.name for c in configs if not c.key_env]


async def build_accounts(
    configs: tuple[AccountConfig, ...],
    previous: Mapping[str, Account] | None = None,
    keys: Keys | None = None,
) -> dict[str, Account]:
    """All accounts, secrets resolved in a worker thread so the server keeps serving,
    the keyring read by a child process (`localgate.keyreader`), once for all, unless
    `keys` holds what one read already (the daemon's start reads the token with them).

    `previous` (the accounts serving now) lends its secrets to accounts whose
    keyring read fails; the change of state is logged once each way.
    """
    previous = previous or {}
    loop = asyncio.get_running_loop()

    def build() -> list[Account]:
        names = in_keyring(configs)
        read = (keys or read_keys(names)).get if names else None
        return [build_account(c, previous.get(c.name), read) for c in configs]

    built = await loop.run_in_executor(None, build)
    failed = [a for a in built if a.keyring_failed]
    was_failing = any(a.keyring_failed for a in previous.values())
    if failed and not was_failing:
        log.error(
            "%s; accounts %s keep the keys loaded before (if any) and the keyring is asked "
            "again every few seconds",
            failed[0].keyring_failed,
            ", ".join(a.name for a in failed),
        )
    elif was_failing and not failed:
        log.info("the keyring answers again: account keys re-read")
    return {account.name: account for account in built}
