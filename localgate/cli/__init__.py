"""The `localgate` command line: click groups by noun, verbs as subcommands.

Commands stay thin and import heavy modules (aiohttp, rich, keyring) inside
themselves, so `localgate --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import click

from localgate import __version__
from localgate.cli.context import CliContext, LocalgateGroup

# Each command's module, imported when the command runs or help lists it: the
# daemon (`localgate serve`) then carries no other command's imports, and a
# command starts without loading the rest. name: (module in localgate.cli, attribute)
COMMANDS = {
    "serve": ("serve", "serve"),
    "start": ("lifecycle", "start"),
    "stop": ("lifecycle", "stop"),
    "restart": ("lifecycle", "restart"),
    "status": ("lifecycle", "status"),
    "logs": ("lifecycle", "logs"),
    "service": ("service", "service_group"),
    "connect": ("connect", "connect"),
    "env": ("connect", "env_command"),
    "doctor": ("doctor", "doctor"),
    "accounts": ("accounts_edit", "accounts"),  # accounts_edit adds `edit` and `rename`
    "config": ("config", "config_group"),
    "token": ("token", "token_group"),
    "limits": ("limits", "limits"),
    "usage": ("usage", "usage"),
    "models": ("models", "models"),
    "dashboard": ("dashboard", "dashboard"),
}


@click.group(
    cls=LocalgateGroup,
    lazy_commands=COMMANDS,
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

    Tools speak their own dialect (Anthropic Messages, OpenAI Chat Completions
    and Responses, Gemini) to 127.0.0.1:8080; localgate picks one of your
    accounts that serves the model, translates when needed, and rotates to
    another account when one is rate limited or failing.

    \b
    Getting started:
      localgate accounts add work --provider anthropic      # asks for the key
      localgate accounts add oa --provider openai --key-env OPENAI_API_KEY
      localgate start                                       # in the background
      localgate connect claude-code                         # or codex, gemini-cli
      eval "$(localgate env)"                               # SDKs, curl
    """
    from click.core import ParameterSource

    given = ctx.get_parameter_source("config_path") == ParameterSource.COMMANDLINE
    ctx.obj = CliContext(config_path, url, given)
    if ctx.invoked_subcommand is None:  # bare `localgate`: the help, and success
        click.echo(ctx.get_help())
