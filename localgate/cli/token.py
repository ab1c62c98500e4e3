"""`localgate token …`: the optional proxy token clients must present."""

from __future__ import annotations

import click

from localgate.cli.context import CliContext, pass_cli


@click.group("token")
def token_group() -> None:
    """Require a token from every client (needed to bind a non-loopback address).

    Without a token, any program on this machine may use localgate. With one,
    clients send it as their API key: ANTHROPIC_API_KEY, OPENAI_API_KEY or
    GEMINI_API_KEY set to the token works with the official SDKs and Claude Code.
    The token lives in the OS keyring and is printed only when it is made.

    \b
    Examples:
      localgate token rotate
      localgate token status
      localgate token clear
    """


@token_group.command("rotate")
def rotate() -> None:
    """Make a new token (replacing the old one) and print it once.

    A running daemon switches to it within a second (five, for one bound beyond
    loopback); clients holding the old token get 401 from then on.

    \b
    Example:
      export ANTHROPIC_API_KEY="$(localgate token rotate)"
    """
    from localgate.proxytoken import rotate_proxy_token

    token = rotate_proxy_token()
    click.echo(token)
    click.echo(
        "stored in the keyring; it is not shown again. Give it to your clients as their "
        "API key (run `localgate token rotate` again if you lose it).",
        err=True,
    )


@token_group.command("status")
def status() -> None:
    """Say whether a token is set (never prints it).

    \b
    Example:
      localgate token status
    """
    from localgate.proxytoken import load_proxy_token

    if load_proxy_token():
        click.echo("a proxy token is set: clients must send it as their API key")
    else:
        click.echo("no proxy token: any program on this machine may use localgate")


@token_group.command("clear")
@pass_cli
def clear(cli: CliContext) -> None:
    """Forget the token: loopback clients need none again, non-loopback binds are refused.

    Refused while a daemon bound beyond loopback runs (it asks the daemon at
    --url, LOCALGATE_URL, its runtime file or the config's host and port): without its
    token such a daemon would refuse every request. Stop it first, or restart
    it on 127.0.0.1.

    \b
    Example:
      localgate token clear
    """

    from localgate.cli.daemon import ask_daemon
    from localgate.proxytoken import clear_proxy_token

    # --url, $LOCALGATE_URL, the runtime file, then the config: as every command.
    url = cli.daemon().endpoint("/health")
    health, _ = ask_daemon(url)
    if isinstance(health, dict) and health.get("beyondLoopback"):
        raise click.ClickException(
            f"refusing: the localgate at {url.removesuffix('/health')} listens beyond "
            "loopback and needs its proxy token (without one it refuses every request). "
            "Stop it, or restart it bound to 127.0.0.1, then clear the token"
        )
    clear_proxy_token()
    click.echo("proxy token cleared")
