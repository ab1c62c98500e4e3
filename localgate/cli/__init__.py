"""The `localgate` command line: click groups by noun, verbs as subcommands.

Commands stay thin and import heavy modules (aiohttp, rich, keyring) inside
themselves, so `localgate --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import click

from localgate import __version__
from localgate.cli.accounts import accounts
from localgate.cli.config import config_group
from localgate.cli.context import CliContext, LocalgateGroup
from localgate.cli.dashboard import dashboard
from localgate.cli.limits import limits
from localgate.cli.models import models
from localgate.cli.serve import serve
from localgate.cli.token import token_group
from localgate.cli.usage import usage


@click.group(cls=LocalgateGroup)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="LOCALGATE_CONFIG",
    metavar="PATH",
    help="Config file (env LOCALGATE_CONFIG). Default: config.toml in the user config dir.",
)
@click.version_option(__version__, prog_name="localgate")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
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
    ctx.obj = CliContext(config_path)


main.add_command(serve)
main.add_command(accounts)
main.add_command(config_group)
main.add_command(token_group)
main.add_command(limits)
main.add_command(usage)
main.add_command(models)
main.add_command(dashboard)
