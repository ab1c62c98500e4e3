"""What every command shares: the root group, the config location, error handling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from localgate.cli.config_file import ConfigFile
from localgate.config import AccountConfig, Config, default_config_path, load_config
from localgate.errors import LocalgateError


class LocalgateGroup(click.Group):
    """The root group: a LocalgateError from any command becomes a one-line error.

    ConfigError and SecretError messages are written for users (they name the
    file, the key or the command that fixes things), so a traceback adds nothing.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LocalgateError as exc:
            raise click.ClickException(str(exc)) from exc


@dataclass(frozen=True)
class CliContext:
    """The root options, handed to every command as `ctx.obj`."""

    config_option: Path | None = None

    @property
    def config_path(self) -> Path:
        """--config / LOCALGATE_CONFIG, or config.toml in the user config dir."""
        if self.config_option is not None:
            return self.config_option.expanduser()
        return default_config_path()

    def load_config(self) -> Config:
        return load_config(self.config_path)

    def config_file(self) -> ConfigFile:
        return ConfigFile.load(self.config_path)


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def require_account(config: Config, name: str) -> AccountConfig:
    """The account called `name`, or a ClickException listing the ones that exist."""
    account = config.account(name)
    if account is None:
        raise click.ClickException(no_such_account(config.path, name, config.accounts))
    return account


def no_such_account(path: Path, name: str, accounts) -> str:
    names = ", ".join(a.name for a in accounts) or "none yet"
    return f"no account named {name!r} in {path} (accounts: {names})"
