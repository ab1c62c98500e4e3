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
    """Find and inspect the config file.

    \b
    Examples:
      localgate config path
      localgate config show
      LOCALGATE_CONFIG=~/other.toml localgate config show

    The file is TOML; config.example.toml in the source tree documents every key.
    """


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
