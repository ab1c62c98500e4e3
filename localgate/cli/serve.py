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
@pass_cli
def serve(cli: CliContext, host: str | None, port: int | None) -> None:
    """Run the gateway in the foreground until Ctrl-C.

    Edits to the config (for instance by `localgate accounts add`) are picked
    up while it runs.

    \b
    Examples:
      localgate serve
      localgate serve --port 9090
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
        )
    except KeyboardInterrupt:  # Ctrl-C is how a foreground daemon stops, not a failure
        pass
