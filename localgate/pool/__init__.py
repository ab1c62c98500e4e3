"""Which account now: accounts, strategies, cooldowns — pure logic on an injected clock."""

from localgate.pool.cooldown import ALL_MODELS
from localgate.pool.failures import Failure, FailureKind
from localgate.pool.pool import AccountEntry, AccountStatus, CooldownInfo, Pool, Selection
from localgate.pool.quota import LocalLimit, QuotaLimits
from localgate.pool.strategies import STRATEGIES, make_strategy

__all__ = [
    "ALL_MODELS",
    "STRATEGIES",
    "AccountEntry",
    "AccountStatus",
    "CooldownInfo",
    "Failure",
    "FailureKind",
    "LocalLimit",
    "Pool",
    "QuotaLimits",
    "Selection",
    "make_strategy",
]
