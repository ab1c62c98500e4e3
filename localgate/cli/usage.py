"""`localgate usage`: requests, tokens and media use from the usage ledger."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from localgate.cli.context import CliContext, pass_cli

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_COUNTS = (
    "requests",
    "errors",
    "broken_streams",
    "failed_attempts",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "tokens",
)
# What image and audio operations used; in the table only when some was.
_MEDIA = ("images", "audio_seconds", "speech_characters")


def parse_since(text: str, now_wall: float) -> float:
    """`30m`, `24h`, `7d`, `2w` back from `now_wall`, or a date/time (`2025-01-31`), as epoch.

    A start before 1970 (`0001-01-01`, `99999999999w`) is 0: everything.
    Raises click.BadParameter for anything else.
    """
    match = _SPAN.match(text)
    if match:
        # A span longer than the epoch is old (99999999999w): start at the beginning.
        return max(0.0, now_wall - float(match.group(1)) * _UNITS[match.group(2)])
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: use a span like 30m, 24h, 7d, 2w or a date like 2025-01-31",
            param_hint="--since",
        ) from None
    try:
        return max(0.0, moment.timestamp())  # a naive date is local time, as a person means it
    except (OverflowError, ValueError, OSError):  # year 1 and the like: before any usage
        return 0.0


@click.command("usage")
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="How far back: 30m, 24h, 7d, 2w, or a date (2025-01-31).",
)
@click.option(
    "--by",
    type=click.Choice(["account", "model", "day"]),
    default="account",
    show_default=True,
    help="Group the rows by account, by model served, or by (local) day.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON, for scripts.")
@pass_cli
def usage(cli: CliContext, since: str, by: str, as_json: bool) -> None:
    """Requests, tokens and media served, from the usage ledger (kept across restarts).

    Per row: requests, errors (status >= 400 or the client went away), broken
    streams (cut after their first bytes), failed attempts (by account: the
    times that account failed and the request moved on), then tokens. When
    any were used: images made, audio transcribed or translated (seconds, as
    the answer said) and characters sent to text-to-speech.

    \b
    Examples:
      localgate usage                      # the last 7 days, by account
      localgate usage --since 1d --by model
      localgate usage --since 2025-01-01 --by day --json

    Rows reach the ledger within a second or so of each request ending.
    """
    import time

    from localgate.ledger import LedgerStore, ledger_path
    from localgate.limits import iso

    config = cli.load_config()
    start = parse_since(since, time.time())
    path = ledger_path(config.state_dir)
    store = LedgerStore.open_existing(path)
    rows = []
    if store is not None:
        try:
            rows = store.usage(start, by)
        finally:
            store.close()
    figures = (*_COUNTS, *_MEDIA)
    entries = [{by: row.key, **{k: getattr(row, k) for k in figures}} for row in rows]
    total = {k: sum(entry[k] for entry in entries) for k in figures}
    total["audio_seconds"] = round(total["audio_seconds"], 3)  # not 0.30000000000000004
    if as_json:
        report = {"since": iso(start), "by": by, "rows": entries, "total": total}
        click.echo(json.dumps(report, indent=2))
        return
    if store is None:
        click.echo(f"no usage recorded yet (no ledger at {path})")
        return
    _render(entries, total, by, iso(start) or "")


_MEDIA_HEADERS = {"images": "images", "audio_seconds": "audio", "speech_characters": "chars"}


def _render(entries: list[dict[str, Any]], total: dict[str, Any], by: str, since: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from localgate.limits import compact, duration

    table = Table(title=f"usage since {since}", title_justify="left", show_edge=False)
    # Short headers: ten columns must fit 80 columns whole for short names (cached =
    # cache reads, written = cache writes; chars = characters spoken).
    headers = (by, "reqs", "errs", "broken", "failed", "in", "out", "cached", "written",
               "tokens")  # fmt: skip
    media = [k for k in _MEDIA if total[k]]  # no empty columns for chat-only usage
    headers += tuple(_MEDIA_HEADERS[k] for k in media)

    def cells(entry: dict[str, Any]) -> list[str]:
        counts = [str(entry[k]) for k in _COUNTS[:4]]
        tokens = [compact(entry[k]) for k in _COUNTS[4:]]
        used = [duration(entry[k]) if k == "audio_seconds" else compact(entry[k]) for k in media]
        return [*counts, *tokens, *used]

    rows = [[str(entry[by]), *cells(entry)] for entry in entries]
    rows.append(["total", *cells(total)])
    console = Console(highlight=False)
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]
    # Rich measures a table as at most the console: add up its natural width instead
    # (columns padded by 1 on both sides but at the edges, a rule between two).
    if sum(widths) + 3 * len(widths) - 3 > console.width:
        console.print(_lines(f"usage since {since}", headers, rows))
        return
    for index, header in enumerate(headers):
        if index == 0:  # names may wrap on a narrow terminal
            table.add_column(header, overflow="fold", max_width=24)
            continue
        # A figure never shrinks: rich would cut it to "3…".
        width = max(len(header), *(len(row[index]) for row in rows))
        table.add_column(header, justify="right", no_wrap=True, min_width=width)
    for index, row in enumerate(rows[:-1]):
        table.add_row(*row, end_section=index == len(rows) - 2)
    table.add_row(*rows[-1], style="bold")
    console.print(table)


def _lines(title: str, headers, rows):
    """The table as one wrapped line per row, for terminals too narrow for its columns:
    names and figures whole, never folded mid-word."""
    from rich.text import Text

    text = Text(title + "\n", style="bold")
    for row in rows:
        text.append(row[0], style="bold")
        # No-break spaces: a figure stays with its name when the line wraps.
        pairs = zip(headers[1:], row[1:], strict=True)
        figures = " · ".join(f"{header}\u00a0{value}" for header, value in pairs)
        text.append(f": {figures}\n")
    return text
