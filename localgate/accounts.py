"""The daemon's live view of its accounts: config entry, provider, credential.

Built from the config on start and on every hot reload. Secrets are resolved
here (off the event loop: keyring backends block); an account whose secret is
missing stays listed with the reason, so tables can say what to run.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from localgate import providers
from localgate.config import AccountConfig
from localgate.errors import LocalgateError
from localgate.pool import AccountEntry
from localgate.providers.base import Provider


@dataclass
class Account:
    config: AccountConfig
    provider: Provider | None  # None when the secret could not be resolved
    problem: str | None = None  # why it cannot be used (missing key…), never a secret

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


def build_account(config: AccountConfig) -> Account:
    """Resolve the secret and instantiate the provider (blocking: call off the loop)."""
    cls = providers.load(config.provider)
    try:
        credential = cls.credential_for(config)
    except LocalgateError as exc:
        return Account(config, None, str(exc))
    return Account(config, cls(config, credential))


async def build_accounts(configs: tuple[AccountConfig, ...]) -> dict[str, Account]:
    """All accounts, secrets resolved in a worker thread so the server keeps serving."""
    loop = asyncio.get_running_loop()
    built = await loop.run_in_executor(None, lambda: [build_account(c) for c in configs])
    return {account.name: account for account in built}
