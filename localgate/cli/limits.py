"""`localgate limits`: which account can take work now, and when the others come back."""

from __future__ import annotations

import json
from typing import Any

import click

from localgate.cli.context import CliContext, pass_cli

FETCH_TIMEOUT = 2.0
_STATE_STYLES = {"ok": "green", "cooling": "yellow", "invalid": "red", "disabled": "dim"}


@click.command("limits")
@click.option("--json", "as_json", is_flag=True, help="The /account-limits JSON, for scripts.")
@click.option(
    "--url",
    metavar="URL",
    help="The daemon's base URL (or its /account-limits URL). Default: the root --url, "
    "$LOCALGATE_URL, the running daemon's runtime file, then the config's host and port.",
)
@pass_cli
def limits(cli: CliContext, as_json: bool, url: str | None) -> None:
    """Show each account's state, what the provider says is left, and local usage.

    \b
    Examples:
      localgate limits
      localgate limits --json | jq '.accounts[] | select(.state != "ok") | .name'
      curl '127.0.0.1:8080/account-limits?format=table'     # the same, without localgate

    When the daemon is not running (or answers an error, or not in time),
    says so and shows what the usage ledger remembers.
    """
    import time

    from localgate.cli.daemon import ask_daemon, locate_daemon

    config = cli.load_config()
    if not (url and url.rstrip("/").endswith("/account-limits")):  # a full URL is kept
        url = locate_daemon(config, url or cli.url_option).endpoint("/account-limits")
    view, problem = ask_daemon(url, timeout=FETCH_TIMEOUT)
    if view is not None and not (isinstance(view, dict) and "accounts" in view):
        view, problem = None, "it answered something that is not a limits view"
    if view is None:
        # Whatever went wrong (not running, an error, a timeout), say it, then
        # show what the ledger knows rather than nothing.
        view = _from_ledger(config, url, problem or "not answering")
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    render(view, time.time())


def _from_ledger(config, url: str, problem: str | None) -> dict[str, Any]:
    from localgate.ledger import LedgerStore, ledger_path
    from localgate.limits import offline_view

    path = ledger_path(config.state_dir)
    store = LedgerStore.open_existing(path)
    where = f"the ledger at {path}" if store else f"no ledger yet at {path}"
    click.echo(f"{_what_happened(url, problem)}; showing what {where} knows.", err=True)
    try:
        return {**offline_view(config, store), "daemon_problem": problem}
    finally:
        if store is not None:
            store.close()


def _what_happened(url: str, problem: str) -> str:
    if problem.startswith("not running"):
        return f"localgate is {problem} at {url}"
    return f"localgate at {url} {problem}"


def render(view: dict[str, Any], now_wall: float) -> None:
    """The view as rich tables: summary, accounts (reasons below), model × account matrix.

    Nothing is cut to fit the terminal: figures and names stay whole, reasons
    wrap on their own lines, and a matrix too wide turns on its side, or into
    one line per account.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from localgate.limits import ACCOUNT_HEADER, account_rows, matrix, summary_line

    console = Console(highlight=False)
    console.print(summary_line(view), style="bold")
    if not view.get("daemon", True):
        saved = view.get("ledger_saved_at") or "never"
        problem = view.get("daemon_problem") or "not running"
        said = "not running" if problem.startswith("not running") else f"the daemon {problem}"
        console.print(f"{said}: last known state from the ledger (saved {saved})", style="dim")
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    rows = account_rows(view, now_wall)
    columns = ACCOUNT_HEADER[:-1]  # DETAIL: on its own lines below, where it can wrap
    for index, column in enumerate(columns):
        cells = [column, *(r[index] for r in rows)]
        table.add_column(column.lower(), **_fit(column, cells))
    for row in rows:
        style = _STATE_STYLES.get(row[2])
        table.add_row(*row[:2], Text(row[2], style=style or ""), *row[3 : len(columns)])
    console.print(table)
    for row in rows:
        if row[-1]:
            console.print(Text.assemble((row[0], "bold"), ": ", row[-1]))
    names, rows = matrix(view, now_wall)
    if not rows:
        console.print("no provider figures or rests yet", style="dim")
        return
    console.print(_matrix_table(console, names, rows) or _matrix_lines(names, rows))


def _matrix_table(console, names: list[str], rows: list[list[str]]):
    """Models × accounts, or accounts × models, whichever fits whole; None if neither."""
    from rich.table import Table
    from rich.text import Text

    by_account = [[name, *(row[i] for row in rows)] for i, name in enumerate(names, start=1)]
    for corner, heads, body in (
        ("model", names, rows),
        ("account", [row[0] for row in rows], by_account),
    ):
        widths = [
            _longest([head, *(r[i] for r in body)]) for i, head in enumerate([corner, *heads])
        ]
        # Rich measures a table as at most the console: add up its natural width instead
        # (each column padded by 1 on both sides but at the edges, a rule between two).
        if sum(widths) + 3 * len(widths) - 3 > console.width:
            continue
        grid = Table(
            show_edge=False, pad_edge=False, header_style="bold", title="left / wait, by model"
        )
        for head, width in zip([corner, *heads], widths, strict=True):
            grid.add_column(head, no_wrap=True, min_width=width)
        for first, *cells in body:
            grid.add_row(first, *(Text(c, style=_cell_style(c)) for c in cells))
        return grid
    return None


def _matrix_lines(names: list[str], rows: list[list[str]]):
    """The matrix as one wrapped line per account: `name: model cell, model cell`."""
    from rich.text import Text

    text = Text("left / wait, by model\n", style="bold")
    for index, name in enumerate(names, start=1):
        text.append(name, style="bold")
        text.append(": ")
        for number, row in enumerate(rows):
            text.append(("; " if number else "") + f"{row[0]} ")
            text.append(row[index], style=_cell_style(row[index]))
        text.append("\n")
    return text


# Columns of the accounts table that never shrink (names, states and numbers), and
# those that may wrap between figures but never inside one.
_WHOLE = {"ACCOUNT", "PROVIDER", "STATE", "REQ/MIN", "TOK/MIN"}


def _fit(column: str, cells: list[str]) -> dict[str, Any]:
    """Rich column options so a narrow terminal wraps between figures, never inside one."""
    if column in _WHOLE:
        return {"no_wrap": True, "min_width": _longest(cells)}
    return {"overflow": "fold"}  # TODAY, LIMITS: words stay whole


def _longest(texts: list[str]) -> int:
    return max((len(t) for t in texts), default=1)


def _cell_style(text: str) -> str:
    if text.startswith("wait"):
        return "yellow"
    if text == "invalid":
        return "red"
    if text in ("-", "disabled"):
        return "dim"
    return "green"
