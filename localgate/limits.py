"""The /account-limits view: each account's state, cooldowns and recent usage.

`limits_json` is the machine view (also read by `localgate accounts list`);
`limits_table` renders the same as plain text for `curl` in a terminal.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def limits_json(gateway) -> dict:
    statuses = {s.name: s for s in gateway.pool.status()}
    accounts = []
    for name, account in gateway.accounts.items():
        status = statuses.get(name)
        accounts.append(
            {
                "name": name,
                "provider": account.config.provider,
                "enabled": account.config.enabled,
                "state": status.state if status else "ok",
                "reason": status.reason if status else None,
                "cooldowns": [
                    {"model": model, "until": _iso(until), "reason": reason}
                    for model, until, reason in (status.cooldowns if status else [])
                ],
                "usage": {
                    "requests_last_minute": status.requests_last_minute if status else 0,
                    "tokens_last_minute": status.tokens_last_minute if status else 0,
                    "last_used": _iso(status.last_used_wall) if status else None,
                },
            }
        )
    summary = {state: 0 for state in ("ok", "cooling", "invalid", "disabled")}
    for entry in accounts:
        summary[entry["state"]] = summary.get(entry["state"], 0) + 1
    return {"summary": {"accounts": len(accounts), **summary}, "accounts": accounts}


def limits_table(gateway) -> str:
    """Plain text, no ANSI codes: a summary line and one row per account."""
    view = limits_json(gateway)
    now = time.time()
    summary = view["summary"]
    lines = [
        f"{summary['accounts']} accounts: {summary['ok']} ok, {summary['cooling']} cooling, "
        f"{summary['invalid']} invalid, {summary['disabled']} disabled",
        "",
    ]
    header = ("ACCOUNT", "PROVIDER", "STATE", "REQ/MIN", "TOK/MIN", "DETAIL")
    rows = [header]
    for a in view["accounts"]:
        detail = a["reason"] or ""
        for c in a["cooldowns"]:
            until = datetime.fromisoformat(c["until"].replace("Z", "+00:00")).timestamp()
            detail = f"{c['model']} back in {max(0, until - now):.0f}s: {c['reason']}"
        rows.append(
            (
                a["name"],
                a["provider"],
                a["state"],
                str(a["usage"]["requests_last_minute"]),
                str(a["usage"]["tokens_last_minute"]),
                detail,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"
