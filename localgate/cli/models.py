"""`localgate models`: the models localgate can serve."""

from __future__ import annotations

import json
from typing import Any

import click

from localgate.cli.context import CliContext, pass_cli


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="JSON, for scripts.")
@pass_cli
def models(cli: CliContext, as_json: bool) -> None:
    """List the models the accounts serve.

    From the running daemon (GET /v1/models: what the accounts' own model
    lists say, filtered by their patterns, plus alias names); when it is not
    running, the model patterns of the config and the accounts behind each.
    """
    from localgate.cli.daemon import ask_daemon
    from localgate.cli.limits import FETCH_TIMEOUT

    config = cli.load_config()
    url = cli.daemon(config).endpoint("/v1/models")
    listing, problem = ask_daemon(url, timeout=FETCH_TIMEOUT)
    ids = _ids(listing)
    if ids is not None:
        if as_json:
            click.echo(json.dumps({"source": "daemon", "models": ids}, indent=2))
        elif not ids:
            click.echo("the running daemon serves no models (no enabled accounts)")
        else:
            click.echo("\n".join(ids))
        return
    report = _from_config(config)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    problem = problem or "answered something that is not a model list"
    click.echo(f"localgate at {url} {problem}; from the config:", err=True)
    _render(report)


def _ids(listing: Any) -> list[str] | None:
    """Model ids of an OpenAI-shaped list, or None when it is not one."""
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        return None
    ids = [m.get("id") for m in listing["data"] if isinstance(m, dict)]
    return [i for i in ids if isinstance(i, str)]


def _from_config(config) -> dict[str, Any]:
    patterns: dict[str, list[str]] = {}
    for account in config.accounts:
        if not account.enabled:
            continue
        for pattern in account.model_patterns:
            patterns.setdefault(pattern, []).append(account.name)
    return {
        "source": "config",
        "models": [{"pattern": p, "accounts": names} for p, names in patterns.items()],
        "aliases": [{"name": a.pattern, "targets": list(a.targets)} for a in config.aliases],
    }


def _render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    if not report["models"] and not report["aliases"]:
        click.echo("no models: add an account with `localgate accounts add NAME --provider P`")
        return
    table = Table(show_edge=False, header_style="bold")
    table.add_column("model (pattern)", no_wrap=True)
    table.add_column("served by")
    for entry in report["models"]:
        table.add_row(entry["pattern"], ", ".join(entry["accounts"]))
    for alias in report["aliases"]:
        table.add_row(alias["name"], "alias → " + ", ".join(alias["targets"]))
    Console(highlight=False).print(table)
