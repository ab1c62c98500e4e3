"""`localgate service install | uninstall | status`: the daemon at login."""

from __future__ import annotations

import click

from localgate.cli.context import CliContext, pass_cli


@click.group("service")
def service_group() -> None:
    """Run the daemon at login: a systemd user unit (Linux) or a launchd agent (macOS).

    The service runs `localgate serve` with this installation's Python and
    this config file, and restarts it when it fails. Elsewhere, run
    `localgate start` from your login script.

    \b
    Examples:
      localgate service install
      localgate service status
      localgate service uninstall
    """


@service_group.command("install")
@pass_cli
def install(cli: CliContext) -> None:
    """Write the unit (or agent), enable it and start it now."""
    from localgate import service
    from localgate.runtime import read_runtime

    config = cli.load_config()
    running = read_runtime(config.state_dir)
    if running is not None:
        raise click.ClickException(
            f"a daemon already runs on this state dir ({running.describe()}); the service's "
            "would be refused. Stop it first: `localgate stop`"
        )
    path, commands = service.install(config.path, config.state_dir)
    click.echo(f"wrote {path}")
    for command in commands:
        click.echo(f"ran: {command}")
    click.echo(
        "localgate now starts at login and restarts if it fails; `localgate status` finds it"
    )
    if any(account.key_env for account in config.accounts):
        click.echo(
            "note: accounts with key_env read their key from the service's environment, "
            "not your shell's: store those keys in the keyring instead "
            "(`localgate accounts edit NAME --key`)",
            err=True,
        )


@service_group.command("uninstall")
def uninstall() -> None:
    """Stop the service and remove its unit (or agent)."""
    from localgate import service

    path, existed = service.uninstall()
    click.echo(f"removed {path}" if existed else f"no service was installed ({path})")


@service_group.command("status")
def status() -> None:
    """What the init system says: installed, enabled, running."""
    from localgate import service

    state = service.state()
    click.echo(
        f"{state.system}: {state.path} ({'installed' if state.installed else 'not installed'})"
    )
    click.echo(f"  enabled: {state.enabled}")
    click.echo(f"  active:  {state.active}")
