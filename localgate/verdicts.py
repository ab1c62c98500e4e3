"""Why a request could not be served: the error the client gets, true to the cause.

No account matches the model, none can do the operation, every candidate is
resting (rate limited: 429; failing: 503 naming the failures), or each one
tried failed (the last failure decides the status).
"""

from __future__ import annotations

from localgate.errors import (
    AccountsResting,
    AllAccountsCooling,
    GatewayError,
    ModelNotFound,
    NoAccounts,
    NotFound,
    UpstreamError,
    UpstreamTimeout,
)
from localgate.pool import Pool
from localgate.pool.failures import RATE_LIMITS, Failure, FailureKind
from localgate.providers.base import COUNT_TOKENS

# Rest kinds that mean "rate limited" (a 429 to the client), as the pool reports them.
RATE_LIMIT_KINDS = frozenset(kind.value for kind in RATE_LIMITS)
FIX_NO_ACCOUNTS = (
    "run `localgate accounts add NAME --provider anthropic` (or openai, gemini, vertex); "
    "the running daemon picks it up without a restart"
)


def no_candidates(req, plan: list, patterns: list[str]) -> GatewayError:
    """Why nothing can serve the model: unknown model, or an operation no account has.

    `plan` is the model's targets, `patterns` every account's model patterns."""
    if req.native_only is not None and any(t.accounts for t in plan):
        return req.native_only
    if any(t.accounts for t in plan):
        if req.op == COUNT_TOKENS:
            # Claude Code falls back to its own estimate on a 404 here.
            return NotFound(f"no account serving {req.model} can count tokens")
        return NotFound(
            f"no account serving {req.model} can serve this route ({req.op}); "
            "`localgate models` lists what the accounts serve"
        )
    return ModelNotFound(
        f"no account serves model '{req.model}' (the accounts serve {', '.join(patterns)}); "
        "`localgate models` lists them; add an account whose `models` match it, "
        "or map it in [aliases]",
        param="model",
    )


def give_up(
    req, plan: list, pool: Pool, last: tuple[str, Failure] | None, wait: float | None
) -> GatewayError:
    """The error for a request no account could serve, true to why."""
    names = {n for t in plan for n in t.accounts}
    if wait is not None and (last is None or last[1].rate_limited):
        return _resting(req, pool, names, wait)  # every candidate rests: say why
    if last is None:
        status = {s.name: s for s in pool.status() if s.name in names}
        reasons = "; ".join(
            f"{n}: {status[n].state}" + (f" ({status[n].reason})" if status[n].reason else "")
            for n in sorted(status)
        )
        fix = (
            "re-enable with `localgate accounts enable NAME`, or set a new key with "
            "`localgate accounts edit NAME --key`"
        )
        return NoAccounts(f"no usable account serves {req.model}: {reasons}; {fix}")
    name, failure = last
    message = f"every account serving {req.model} failed; last: {name}: {failure.reason}"
    if failure.kind is FailureKind.TIMEOUT:
        return UpstreamTimeout(message)
    if failure.kind is FailureKind.AUTH:
        return NoAccounts(message + f"; fix the key with `localgate accounts edit {name} --key`")
    if failure.rate_limited:
        return AllAccountsCooling(message, retry_after=wait or 60)
    return UpstreamError(message)


def _resting(req, pool: Pool, names: set[str], wait: float) -> GatewayError:
    """Every candidate rests: 429 when they were rate limited, else 503 saying why."""
    # A rest restored from before kinds were kept ("") says nothing either way.
    rests = [
        (s.name, rest)
        for s in pool.status()
        if s.name in names
        for rest in s.cooldowns
        if rest.kind
    ]
    if all(rest.kind in RATE_LIMIT_KINDS for _, rest in rests):
        return AllAccountsCooling(
            f"every account serving {req.model} is cooling down "
            f"(rate limited); the first is back in {wait:.0f}s",
            retry_after=wait,
        )
    failing = "; ".join(
        f"{name}: {rest.reason}" for name, rest in rests if rest.kind not in RATE_LIMIT_KINDS
    )
    return AccountsResting(
        f"every account serving {req.model} is resting after failures ({failing}); "
        f"the first is back in {wait:.0f}s",
        retry_after=wait,
    )
