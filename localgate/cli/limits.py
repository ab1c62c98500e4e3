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
    help="The daemon's /account-limits URL. Default: from the config's [server] host and port.",
)
@pass_cli
def limits(cli: CliContext, as_json: bool, url: str | None) -> None:
    """Show each account's state, what the provider says is left, and local usage.

    \b
    Examples:
      localgate limits
      localgate limits --json | jq '.accounts[] | select(.state != "ok") | .name'
      curl '127.0.0.1:8080/account-limits?format=table'     # the same, without localgate

    When the daemon is not running, shows what the usage ledger remembers.
    """
    import time

    from localgate.cli.daemon import ask_daemon, daemon_url

    config = cli.load_config()
    url = url or daemon_url(config.server, "/account-limits")
    view, problem = ask_daemon(url, timeout=FETCH_TIMEOUT)
    if view is not None and not (isinstance(view, dict) and "accounts" in view):
        view, problem = None, "it answered something that is not a limits view"
    if view is None:
        if problem and not problem.startswith("not running"):
            raise click.ClickException(f"localgate at {url}: {problem}")
        view = _from_ledger(config, url, problem)
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
    click.echo(f"localgate is {problem} at {url}; showing what {where} knows.", err=True)
    try:
        return offline_view(config, store)
    finally:
        if store is not None:
            store.close()


def render(view: dict[str, Any], now_wall: float) -> None:
    """The view as rich tables: summary, accounts, model × account matrix."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from localgate.limits import ACCOUNT_HEADER, account_rows, matrix, summary_line

    console = Console(highlight=False)
    console.print(summary_line(view), style="bold")
    if not view.get("daemon", True):
        saved = view.get("ledger_saved_at") or "never"
        console.print(f"not running: last known state (saved {saved})", style="dim")
    table = Table(show_edge=False, header_style="bold")
    for column in ACCOUNT_HEADER:
        table.add_column(column.lower(), overflow="fold", no_wrap=column != "DETAIL")
    for row in account_rows(view, now_wall):
        style = _STATE_STYLES.get(row[2])
        table.add_row(*row[:2], Text(row[2], style=style or ""), *row[3:])
    console.print(table)
    names, rows = matrix(view, now_wall)
    if not rows:
        console.print("no provider figures or rests yet", style="dim")
        return
    grid = Table(show_edge=False, header_style="bold", title="left / wait, by model")
    grid.add_column("model", no_wrap=True)
    for name in names:
        grid.add_column(name, no_wrap=True)
    for model, *cells in rows:
        grid.add_row(model, *(Text(c, style=_cell_style(c)) for c in cells))
    console.print(grid)


def _cell_style(text: str) -> str:
    if text.startswith("wait"):
        return "yellow"
    if text == "invalid":
        return "red"
    if text in ("-", "disabled"):
        return "dim"
    return "green"
