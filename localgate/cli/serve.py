"""`localgate serve`: run the gateway in the foreground."""

from __future__ import annotations

import click

from localgate.cli.context import CliContext, pass_cli


@click.command()
@click.option(
    "--host", metavar="ADDRESS", help="Address to bind. Default: server.host (127.0.0.1)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one). Default: server.port.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per log line (request id, account, status, tokens…).",
)
@click.option(
    "--detached",
    is_flag=True,
    hidden=True,  # `localgate start` runs the daemon this way: its log goes to the file only
)
@pass_cli
def serve(
    cli: CliContext, host: str | None, port: int | None, log_format: str, detached: bool
) -> None:
    """Run the gateway in the foreground until Ctrl-C.

    Edits to the config (for instance by `localgate accounts add`) are picked
    up while it runs. The log goes to stderr and to localgate.log in the state
    dir (rotated at 5 MB, 3 kept; `localgate logs` shows it). To run it in the
    background use `localgate start`; at login, `localgate service install`.

    \b
    Examples:
      localgate serve
      localgate serve --port 9090
      localgate serve --log-format json 2>> gateway.jsonl
      ANTHROPIC_BASE_URL=http://127.0.0.1:8080 claude
      OPENAI_BASE_URL=http://127.0.0.1:8080/v1 your-openai-tool
    """
    config = cli.load_config()
    from localgate.server import run

    try:
        run(
            config,
            host=host if host is not None else config.server.host,
            port=port if port is not None else config.server.port,
            log_format=log_format,
            log_to_stderr=not detached,
        )
    except KeyboardInterrupt:  # Ctrl-C is how a foreground daemon stops, not a failure
        pass
