"""`localgate connect CLIENT` and `localgate env`: point tools at the running daemon."""

from __future__ import annotations

import os
from pathlib import Path

import click

from localgate.cli.context import CliContext, pass_cli
from localgate.connect import CLIENTS

AFTER_CONNECT = {
    "claude-code": "run `claude` as usual",
    "codex": "run `codex` as usual",
    "gemini-cli": "run `gemini` as usual (in a trusted folder: Gemini CLI reads ~/.gemini/.env "
    "only there, and a project's own .env comes first)",
}


@click.command()
@click.argument("client", type=click.Choice(CLIENTS))
@click.option("--yes", "-y", is_flag=True, help="Write without asking (the diff is still shown).")
@click.option("--print", "print_only", is_flag=True, help="Show the changes; write nothing.")
@click.option("--undo", is_flag=True, help="Restore the client's files as they were before.")
@click.option(
    "--model",
    metavar="MODEL",
    help="codex: the model Codex asks for (its own default is a GPT model), "
    "e.g. claude-sonnet-4-5 with a Claude account only.",
)
@pass_cli
def connect(
    cli: CliContext, client: str, yes: bool, print_only: bool, undo: bool, model: str | None
) -> None:
    """Make CLIENT use localgate, by editing the client's own config.

    \b
    claude-code  ~/.claude/settings.json: env ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN
    codex        ~/.codex/config.toml ($CODEX_HOME): a [model_providers.localgate]
                 table (wire_api = "responses") and model_provider = "localgate"
    gemini-cli   ~/.gemini/settings.json: API-key auth; ~/.gemini/.env:
                 GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY

    Shows a diff first and asks (--yes skips the question), names values it
    replaces that pointed elsewhere, keeps the original as
    FILE.localgate-backup, and --undo puts it back. The URL is the running
    daemon's; the key is the proxy token when one is set (`localgate token`).

    \b
    Examples:
      localgate connect claude-code
      localgate connect codex --model claude-sonnet-4-5
      localgate connect codex --print
      localgate connect gemini-cli --undo
    """
    from localgate import connect as clients
    from localgate.proxytoken import load_proxy_token

    if model is not None and client != "codex":
        raise click.UsageError(
            f"--model is for codex; {client} picks its model itself (its /model command)"
        )
    config = cli.load_config()
    if undo:
        if print_only:
            raise click.UsageError("--undo and --print do not go together")
        for line in clients.undo(client, config.state_dir, force=yes):
            click.echo(line)
        return
    daemon = cli.daemon(config)
    _warn_about_port(daemon, config)
    token = load_proxy_token()
    edits = clients.plan(client, clients.Target(daemon.url, token, model))
    changed = [edit for edit in edits if edit.changed]
    if not changed:
        click.echo(f"{client} already uses localgate at {daemon.url}: nothing to change")
        return
    for edit in changed:
        for conflict in edit.conflicts:
            click.secho(f"points elsewhere now: {conflict}", fg="yellow", err=True)
        click.echo(edit.diff(token), nl=False)
    if print_only:
        return
    if not yes:
        click.confirm(f"Write {len(changed)} file(s)?", abort=True, err=True)
    written = clients.apply(client, edits, config.state_dir)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(
        f"connected {client} to {daemon.url}: {AFTER_CONNECT[client]}. "
        f"Undo with `localgate connect {client} --undo`."
    )
    if model is None:
        _model_hint(client, config, edits)


# What each client asks for when not told otherwise: (its name, a model it asks for,
# the glob naming its family). Gemini CLI asks for several Gemini models per
# prompt (a flash-lite router, then flash or pro), so only a glob alias covers it.
CLIENT_MODELS = {
    "claude-code": ("Claude Code", "claude-sonnet-4-5", "claude-*"),
    "codex": ("Codex", "gpt-5-codex", "gpt-*"),
    "gemini-cli": ("Gemini CLI", "gemini-2.5-pro", "gemini-*"),
}
# A model each account kind serves, to name in hints.
EXAMPLE_MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4.1",
    "gemini": "gemini-2.5-pro",
    "vertex": "gemini-2.5-pro",
}


def _model_hint(client: str, config, edits) -> None:
    """The client asks for its own models: say how to serve them when no account does."""
    from localgate import routing
    from localgate.connect import codex

    name, asks, family = CLIENT_MODELS[client]
    if client == "codex":  # a model its config already names is the one it asks for
        asks = codex.named_model(edits) or asks
    if not config.accounts or any(
        target.accounts for target in routing.plan(asks, config.aliases, config.accounts)
    ):
        return
    example = _example_model(config.accounts)
    if client == "codex":
        fix = (
            f"connect with `localgate connect codex --model {example}` (or any model "
            f"`localgate models` lists), or pass `codex -m {example}`"
        )
    else:
        fix = (
            f"map them to one of yours under [aliases] in the config (`localgate config "
            f'edit`), e.g. "{family}" = ["{example}"]'
        )
    click.secho(
        f"note: {name} asks for its own models ({family}), which none of your accounts "
        f"serves: {fix}",
        fg="yellow",
        err=True,
    )


def _example_model(accounts) -> str:
    """A chat model the accounts serve: one an account names itself, else its kind's."""
    for account in accounts:
        for pattern in account.models or ():
            if not any(c in pattern for c in "*?["):
                return pattern
    return EXAMPLE_MODELS.get(accounts[0].provider, "claude-sonnet-4-5")


def _warn_about_port(daemon, config) -> None:
    if daemon.source == "config":
        click.echo(
            f"note: no daemon running; connecting to the configured {daemon.url} "
            "(start it with `localgate start`)",
            err=True,
        )
    elif daemon.runtime is not None and daemon.runtime.port != config.server.port:
        click.echo(
            f"note: the daemon listens on port {daemon.runtime.port}, not the configured "
            f"{config.server.port}: after a restart on {config.server.port} connect again",
            err=True,
        )


SHELLS = ("bash", "zsh", "fish", "powershell")


@click.command("env")
@click.option(
    "--shell",
    type=click.Choice(SHELLS),
    help="The syntax to print. Default: from $SHELL, else bash.",
)
@pass_cli
def env_command(cli: CliContext, shell: str | None) -> None:
    """Print the variables that point SDKs, curl and clients at localgate.

    \b
    Examples:
      eval "$(localgate env)"
      localgate env --shell fish | source
      localgate env --shell powershell | Invoke-Expression
    """
    from localgate.proxytoken import load_proxy_token

    config = cli.load_config()
    url = cli.daemon(config).url
    key = load_proxy_token() or "localgate"  # any key works on loopback without a token
    shell = shell or _login_shell()
    variables = {
        "LOCALGATE_URL": url,
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": key,
        "OPENAI_BASE_URL": f"{url}/v1",
        "OPENAI_API_KEY": key,
        "GOOGLE_GEMINI_BASE_URL": url,
        "GEMINI_API_KEY": key,
    }
    comment = "#"
    click.echo(f"{comment} localgate at {url}; curl: curl {url}/health")
    for name, value in variables.items():
        click.echo(export_line(shell, name, value))


def export_line(shell: str, name: str, value: str) -> str:
    """`name=value` in `shell`'s syntax, quoted."""
    if shell == "fish":
        return f"set -gx {name} {_single_quoted(value)}"
    if shell == "powershell":
        return f"$env:{name} = '{value.replace(chr(39), chr(39) * 2)}'"
    return f"export {name}={_single_quoted(value)}"


def _single_quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _login_shell() -> str:
    name = Path(os.environ.get("SHELL", "")).name
    return name if name in SHELLS else "bash"
