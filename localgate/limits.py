"""The /account-limits view: which account can take work now, and when the others come back.

`limits_view` builds the machine view (JSON) from the configured accounts
and the pool; `limits_table` renders a view as plain text for `curl` in a
terminal (no ANSI codes): a summary line, an accounts table and a model ×
account matrix of what is left or how long to wait. `offline_view` builds
the same view from the ledger when no daemon runs. `localgate limits` renders
the same view with rich; `matrix` is shared by both renderings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

STATES = ("ok", "cooling", "invalid", "disabled")
# What usage.requests_today / tokens_today count: the ledger's rows, so the
# figure is the same before and after a restart (upstream attempts that failed
# over to another account are not in it; the configured rpm/rpd limits count those).
TODAY_MEANS = (
    "client requests each account answered since local midnight, as the ledger counts them"
)
_DIMENSION_WORDS = {
    "requests": "req",
    "tokens": "tok",
    "input-tokens": "in",
    "output-tokens": "out",
}


def iso(wall: float | None) -> str | None:
    """Epoch seconds as `2025-01-02T03:04:05Z`; None for None and for what no date can show.

    Total on purpose: one garbled figure (kept in the ledger across restarts)
    must not turn every /account-limits into a 500.
    """
    if wall is None:
        return None
    try:
        moment = datetime.fromtimestamp(wall, UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def from_iso(text: str | None) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        return None


def limits_view(accounts: Sequence, pool, *, now_wall: float | None = None) -> dict[str, Any]:
    """The JSON view of `accounts` (AccountConfigs, config order) as `pool` knows them."""
    now_wall = time.time() if now_wall is None else now_wall
    statuses = {s.name: s for s in pool.status()}
    entries = [_account(config, statuses.get(config.name)) for config in accounts]
    summary = {"accounts": len(entries), **{state: 0 for state in STATES}}
    for entry in entries:
        summary[entry["state"]] = summary.get(entry["state"], 0) + 1
    return {
        "generated_at": iso(now_wall),
        "today": TODAY_MEANS,
        "summary": summary,
        "accounts": entries,
    }


def limits_json(gateway) -> dict[str, Any]:
    """The live view of a running gateway."""
    configs = [account.config for account in gateway.accounts.values()]
    return {"daemon": True, **limits_view(configs, gateway.pool)}


def _account(config, status) -> dict[str, Any]:
    state = status.state if status else ("ok" if config.enabled else "disabled")
    return {
        "name": config.name,
        "provider": config.provider,
        "enabled": config.enabled,
        "models": list(config.model_patterns),
        "state": state,
        "reason": status.reason if status else None,
        "cooldowns": [
            {
                "model": rest.model,
                "until": iso(rest.until_wall),
                "reason": rest.reason,
                "kind": rest.kind,
            }
            for rest in (status.cooldowns if status else [])
        ],
        "limits": [
            {
                "model": model,
                "dimension": s.dimension,
                "limit": s.limit,
                "remaining": s.remaining,
                "reset": iso(s.reset_at),
                "observed": iso(s.observed_at),
            }
            for model, s in (status.provider_limits if status else ())
        ],
        "usage": {
            "requests_last_minute": status.requests_last_minute if status else 0,
            "tokens_last_minute": status.tokens_last_minute if status else 0,
            "requests_today": status.requests_today if status else 0,
            "tokens_today": status.tokens_today if status else 0,
            "last_used": iso(status.last_used_wall) if status else None,
        },
        "configured": {
            local.name: {"limit": local.limit, "used": local.used}
            for local in (status.local_limits if status else ())
        },
    }


def offline_view(config, store, *, now_wall: float | None = None) -> dict[str, Any]:
    """The view the ledger (`LedgerStore`, or None: no ledger yet) supports without a daemon."""
    from localgate.ledger import apply_known, read_back
    from localgate.pool import AccountEntry, Pool, QuotaLimits

    now_wall = time.time() if now_wall is None else now_wall
    known = read_back(store, now_wall) if store is not None else {}
    saved = (known.get("state") or {}).get("accounts") or {}
    pool = Pool(wall=lambda: now_wall)
    pool.sync(
        [
            # The saved revision: without the daemon nobody can tell the key changed.
            AccountEntry(a.name, a.priority, a.enabled, str(saved.get(a.name, {}).get("revision")))
            for a in config.accounts
        ]
    )
    pool.configure_limits({a.name: QuotaLimits.of(a) for a in config.accounts})
    apply_known(pool, known)
    view = limits_view(config.accounts, pool, now_wall=now_wall)
    return {"daemon": False, "ledger_saved_at": iso(known.get("saved_at")), **view}


# -- rendering --------------------------------------------------------------


def duration(seconds: float) -> str:
    """`42s`, `3m05s`, `2h05m`, `1d02h`."""
    seconds = max(0, int(seconds + 0.5))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def compact(number: int | None) -> str:
    """`950`, `1.2k`, `2.4M`."""
    if number is None:
        return "?"
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(number) >= size:
            text = f"{number / size:.1f}".removesuffix(".0")
            return text + unit
    return str(number)


def summary_line(view: dict[str, Any]) -> str:
    s = view["summary"]
    return (
        f"{s['accounts']} accounts: {s['ok']} ok, {s['cooling']} cooling, "
        f"{s['invalid']} invalid, {s['disabled']} disabled"
    )


def account_rows(view: dict[str, Any], now_wall: float) -> list[tuple[str, ...]]:
    """One row per account: name, provider, state, req/min, tok/min, today, limits, detail."""
    rows = []
    for a in view["accounts"]:
        usage = a["usage"]
        configured = ", ".join(
            f"{name} {compact(c['used'])}/{compact(c['limit'])}"
            for name, c in a["configured"].items()
        )
        rows.append(
            (
                a["name"],
                a["provider"],
                a["state"],
                str(usage["requests_last_minute"]),
                compact(usage["tokens_last_minute"]),
                f"{usage['requests_today']} req, {compact(usage['tokens_today'])} tok",
                configured or "-",
                detail(a, now_wall),
            )
        )
    return rows


ACCOUNT_HEADER = ("ACCOUNT", "PROVIDER", "STATE", "REQ/MIN", "TOK/MIN", "TODAY", "LIMITS", "DETAIL")


def detail(account: dict[str, Any], now_wall: float) -> str:
    """Why an account is not ok, and when it is back."""
    if account["state"] == "cooling" and account["cooldowns"]:
        parts = []
        for c in account["cooldowns"]:
            until = from_iso(c["until"])
            wait = duration(until - now_wall) if until is not None else "?"
            scope = "all models" if c["model"] == "*" else c["model"]
            parts.append(f"{scope} back in {wait}: {c['reason']}")
        return "; ".join(parts)
    return account["reason"] or ""


def matrix_models(view: dict[str, Any], extra: Sequence[str] = ()) -> list[str]:
    """The models with figures or rests in `view`, plus `extra` (models seen in traffic)."""
    accounts = view["accounts"]
    return sorted(
        {c["model"] for a in accounts for c in a["cooldowns"] if c["model"] != "*"}
        | {entry["model"] for a in accounts for entry in a["limits"]}
        | {model for model in extra if model}
    )


def matrix(view: dict[str, Any], now_wall: float) -> tuple[list[str], list[list[str]]]:
    """(account names, rows of [model, cell per account]) for the models with figures or rests."""
    accounts = view["accounts"]
    rows = [[model, *(cell(a, model, now_wall) for a in accounts)] for model in matrix_models(view)]
    return [a["name"] for a in accounts], rows


def cell(account: dict[str, Any], model: str, now_wall: float) -> str:
    """What `account` has left for `model`: a wait, the tightest figure, or ok."""
    return cell_info(account, model, now_wall)["text"]


def cell_info(account: dict[str, Any], model: str, now_wall: float) -> dict[str, Any]:
    """`cell` as data: state (ok, cooling, invalid, disabled, none), text, until, share left."""
    if not account["enabled"]:
        return {"state": "disabled", "text": "disabled"}
    if account["state"] == "invalid":
        return {"state": "invalid", "text": "invalid"}
    if not any(fnmatchcase(model, p) for p in account.get("models", ["*"])):
        return {"state": "none", "text": "-"}
    waits = [
        from_iso(c["until"])
        for c in account["cooldowns"]
        if c["model"] in (model, "*") and from_iso(c["until"]) is not None
    ]
    if waits and max(waits) > now_wall:
        until = max(waits)
        return {
            "state": "cooling",
            "text": f"wait {duration(until - now_wall)}",
            "until": iso(until),
        }
    tightest: tuple[float, str] | None = None
    for entry in account["limits"]:
        reset = from_iso(entry["reset"])
        if entry["model"] != model or entry["remaining"] is None:
            continue
        if reset is not None and reset <= now_wall:
            continue  # reset since it was reported
        share = entry["remaining"] / entry["limit"] if entry["limit"] else 0.0
        word = _DIMENSION_WORDS.get(entry["dimension"], entry["dimension"][:24])
        text = f"{compact(entry['remaining'])}"
        if entry["limit"] is not None:
            text += f"/{compact(entry['limit'])}"
        tightest = min(tightest or (share, text + " " + word), (share, text + " " + word))
    for name, c in account["configured"].items():
        share = max(0, c["limit"] - c["used"]) / c["limit"]
        text = f"{compact(max(0, c['limit'] - c['used']))}/{compact(c['limit'])} {name}"
        tightest = min(tightest or (share, text), (share, text))
    if tightest is None:
        return {"state": "ok", "text": "ok"}
    return {"state": "ok", "text": tightest[1], "share": round(tightest[0], 4)}


def limits_table(view: dict[str, Any], *, now_wall: float | None = None) -> str:
    """Plain text, no ANSI codes: summary line, accounts table, model × account matrix."""
    now_wall = time.time() if now_wall is None else now_wall
    lines = [summary_line(view)]
    if not view.get("daemon", True):
        lines.append(
            f"localgate is not running; from the ledger (saved {view.get('ledger_saved_at')})"
        )
    lines.append("")
    lines += _columns([ACCOUNT_HEADER, *account_rows(view, now_wall)])
    names, rows = matrix(view, now_wall)
    if rows:
        lines.append("")
        lines += _columns([("MODEL", *names), *rows])
    return "\n".join(lines) + "\n"


def _columns(rows: list[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [text.ljust(width) for text, width in zip(row, widths, strict=False)]
        out.append("  ".join([*cells, row[-1]]).rstrip())
    return out
