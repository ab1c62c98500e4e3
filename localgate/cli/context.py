"""What every command shares: the root group, the config location, error handling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from localgate.cli.config_file import ConfigFile
from localgate.config import AccountConfig, Config, default_config_path, load_config
from localgate.errors import ConfigError, LocalgateError


class LocalgateGroup(click.Group):
    """The root group: a LocalgateError from any command becomes a one-line error.

    ConfigError and SecretError messages are written for users (they name the
    file, the key or the command that fixes things), so a traceback adds nothing.
    Its commands are named up front and imported when asked for (`lazy_commands`:
    name -> (module in localgate.cli, attribute)).
    """

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str]] | None = None, **kw):
        super().__init__(*args, **kw)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy_commands:
            import importlib

            module, attribute = self.lazy_commands[name]
            command = getattr(importlib.import_module(f"localgate.cli.{module}"), attribute)
            self.add_command(command, name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LocalgateError as exc:
            raise click.ClickException(str(exc)) from exc


@dataclass(frozen=True)
class CliContext:
    """The root options, handed to every command as `ctx.obj`."""

    config_option: Path | None = None
    url_option: str | None = None
    config_flag: bool = False  # --config was on the command line (not LOCALGATE_CONFIG)

    @property
    def config_path(self) -> Path:
        """--config / LOCALGATE_CONFIG, or config.toml in the user config dir."""
        if self.config_option is not None:
            return self.config_option.expanduser()
        return default_config_path()

    def load_config(self) -> Config:
        """The config; `--config` naming a missing file is an error (a typo would
        otherwise serve an empty config). Otherwise a missing file reads as the
        defaults: a fresh install has none yet.
        """
        path = self.config_path
        if self.config_flag and not path.exists():
            raise ConfigError(
                f"{path}: no such config file (named by --config). "
                f"Create it with `localgate --config {path} config init`, or leave both "
                "out to use the default config"
            )
        return load_config(path)

    def daemon(self, config: Config | None = None):
        """Where the running daemon is (see localgate.cli.daemon.locate_daemon)."""
        from localgate.cli.daemon import locate_daemon

        return locate_daemon(config or self.load_config(), self.url_option)

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


def complete_account(ctx: click.Context, param, incomplete: str):
    """Shell completion: the config's account names that start with `incomplete`."""
    from click.shell_completion import CompletionItem

    root = ctx.find_root()
    option = root.params.get("config_path")
    try:
        config = load_config(option.expanduser() if option else default_config_path())
    except LocalgateError:  # a broken config completes nothing rather than a traceback
        return []
    return [
        CompletionItem(a.name, help=a.provider)
        for a in config.accounts
        if a.name.startswith(incomplete)
    ]
