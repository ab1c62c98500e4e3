"""The `localgate` command line: click groups by noun, verbs as subcommands.

Commands stay thin and import heavy modules (aiohttp, rich, keyring) inside
themselves, so `localgate --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import click

from localgate import __version__
from localgate.cli import accounts_edit  # noqa: F401  (adds `accounts edit | rename`)
from localgate.cli.accounts import accounts
from localgate.cli.config import config_group
from localgate.cli.connect import connect, env_command
from localgate.cli.context import CliContext, LocalgateGroup
from localgate.cli.dashboard import dashboard
from localgate.cli.doctor import doctor
from localgate.cli.lifecycle import logs, restart, start, status, stop
from localgate.cli.limits import limits
from localgate.cli.models import models
from localgate.cli.serve import serve
from localgate.cli.service import service_group
from localgate.cli.token import token_group
from localgate.cli.usage import usage


@click.group(
    cls=LocalgateGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="LOCALGATE_CONFIG",
    metavar="PATH",
    help="Config file (env LOCALGATE_CONFIG). Default: config.toml in the user config dir.",
)
@click.option(
    "--url",
    "url",
    metavar="URL",
    help="The running daemon's base URL (env LOCALGATE_URL). Default: found from the "
    "runtime file the daemon writes in the state dir.",
)
@click.version_option(__version__, "--version", "-V", prog_name="localgate")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, url: str | None) -> None:
    """localgate: a local gateway in front of your own LLM provider accounts.

    Tools speak their own dialect (Anthropic Messages, OpenAI Chat Completions)
    to 127.0.0.1:8080; localgate picks one of your accounts that serves the
    model, translates when needed, and rotates to another account when one is
    rate limited or failing.

    \b
    Getting started:
      localgate accounts add work --provider anthropic      # asks for the key
      localgate accounts add oa --provider openai --key-env OPENAI_API_KEY
      localgate serve
      ANTHROPIC_BASE_URL=http://127.0.0.1:8080 claude
    """
    from click.core import ParameterSource

    given = ctx.get_parameter_source("config_path") == ParameterSource.COMMANDLINE
    ctx.obj = CliContext(config_path, url, given)
    if ctx.invoked_subcommand is None:  # bare `localgate`: the help, and success
        click.echo(ctx.get_help())


main.add_command(serve)
for command in (start, stop, restart, status, logs, service_group, connect, env_command, doctor):
    main.add_command(command)
main.add_command(accounts)
main.add_command(config_group)
main.add_command(token_group)
main.add_command(limits)
main.add_command(usage)
main.add_command(models)
main.add_command(dashboard)
