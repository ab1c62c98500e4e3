"""`localgate config …`: where the config file is, and what it amounts to."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from localgate.cli.config_file import dumps_toml
from localgate.cli.context import CliContext, pass_cli
from localgate.config import AccountConfig, Config
from localgate.providers import PROVIDERS


@click.group("config")
def config_group() -> None:
    """Create, find, edit and inspect the config file.

    \b
    Examples:
      localgate config init          # a commented starter file
      localgate config edit          # $EDITOR, validated before it is kept
      localgate config example       # every key, documented
      localgate config path
      localgate config show
      LOCALGATE_CONFIG=~/other.toml localgate config show

    The file is TOML; `localgate config example` prints every key with its
    default and meaning (installed with localgate as config.example.toml).
    """


@config_group.command("example")
def example() -> None:
    """Print the documented example config: every key, its default, what it does."""
    from localgate.cli.config_file import example_config

    click.echo(example_config(), nl=False)


@config_group.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@pass_cli
def init(cli: CliContext, force: bool) -> None:
    """Write a commented starter config (every key, commented out) at the config path.

    \b
    Example:
      localgate config init && localgate config edit
    """
    from localgate.cli.config_file import starter_config, write_private

    path = cli.config_path
    if path.exists() and not force:
        raise click.ClickException(f"{path} already exists (--force to overwrite it)")
    write_private(path, starter_config())
    click.echo(f"wrote {path}: every key is there, commented; `localgate config edit` to change it")


@config_group.command("edit")
@pass_cli
def edit(cli: CliContext) -> None:
    """Open the config in $VISUAL / $EDITOR; keep the change only once it is valid.

    An invalid edit is shown with its error and offered back for another try;
    declining leaves the file as it was.
    """
    from localgate.cli.config_file import starter_config, write_private
    from localgate.errors import ConfigError

    path = cli.config_path
    original = path.read_text(encoding="utf-8") if path.exists() else starter_config()
    text = original
    while True:
        edited = click.edit(text, extension=".toml", require_save=True)
        if edited is None or edited == original:
            click.echo("no change")
            return
        try:
            _validate(edited, path)
        except ConfigError as exc:
            click.echo(f"not saved: {exc}", err=True)
            if not click.confirm("Edit again?", default=True, err=True):
                raise click.ClickException(f"{path} left as it was") from exc
            text = edited
            continue
        write_private(path, edited)
        click.echo(f"saved {path}; a running daemon picks it up within a second")
        return


def _validate(text: str, path) -> None:
    """Raise ConfigError when `text` is not a valid config (named as `path`)."""
    import tomllib

    from localgate.config import parse_config
    from localgate.errors import ConfigError

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    parse_config(data, path)


@config_group.command("path")
@pass_cli
def path(cli: CliContext) -> None:
    """Print the path of the config file in use (it may not exist yet).

    \b
    Example:
      $EDITOR "$(localgate config path)"
    """
    click.echo(str(cli.config_path))


@config_group.command("show")
@pass_cli
def show(cli: CliContext) -> None:
    """Print the effective config as TOML, defaults filled in.

    Secrets are never in the config; each account says where its key lives
    ("# key: keyring" or "# key: env VAR").

    \b
    Example:
      localgate config show
    """
    click.echo(render_config(cli.load_config()), nl=False)


def render_config(config: Config) -> str:
    """`config` as TOML with every default spelled out; loading it gives the same config."""
    data: dict[str, Any] = {
        "state_dir": str(config.state_dir),
        "server": asdict(config.server),
        "timeouts": asdict(config.timeouts),
        "accounts": [_account_table(account) for account in config.accounts],
    }
    if config.aliases:
        data["aliases"] = {alias.pattern: list(alias.targets) for alias in config.aliases}
    notes = {
        account.name: f"key: env {account.key_env}" if account.key_env else "key: keyring"
        for account in config.accounts
    }
    exists = "" if config.path.exists() else " (the file does not exist: defaults)"
    return f"# effective configuration of {config.path}{exists}\n\n" + dumps_toml(data, notes)


def _account_table(account: AccountConfig) -> dict[str, Any]:
    table: dict[str, Any] = {"name": account.name, "provider": account.provider}
    base_url = account.base_url or PROVIDERS[account.provider].default_base_url
    if base_url:
        table["base_url"] = base_url
    table["models"] = list(account.model_patterns)
    if account.key_env:
        table["key_env"] = account.key_env
    table["priority"] = account.priority
    table["enabled"] = account.enabled
    table.update(account.extra)
    return table
