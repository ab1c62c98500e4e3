"""`localgate accounts edit | rename`: change part of an account, or its name."""

from __future__ import annotations

import click

from localgate.cli.accounts import _read_key, accounts, where_keys_live
from localgate.cli.context import CliContext, complete_account, pass_cli, require_account
from localgate.config import ACCOUNT_NAME_RE


@accounts.command("edit")
@click.argument("name", shell_complete=complete_account)
@click.option(
    "--models",
    "models",
    multiple=True,
    metavar="PATTERN",
    help="Replace the account's model patterns; repeat for more.",
)
@click.option("--priority", type=int, help="Higher is preferred (fill-first order).")
@click.option("--base-url", metavar="URL", help="Another endpoint for the account.")
@click.option(
    "--proxy",
    metavar="URL|none",
    help='Upstream HTTP proxy for this account ("none": never; default: HTTPS_PROXY).',
)
@click.option("--key", is_flag=True, help="Ask for a new key (hidden) and store it in the keyring.")
@click.option("--key-stdin", is_flag=True, help="Read the new key from standard input.")
@pass_cli
def edit(
    cli: CliContext,
    name: str,
    models: tuple[str, ...],
    priority: int | None,
    base_url: str | None,
    proxy: str | None,
    key: bool,
    key_stdin: bool,
) -> None:
    """Change what the flags say about account NAME; nothing else.

    A key is asked for only with --key (or read with --key-stdin); it then
    goes to the keyring, and an account that took its key from key_env
    stops doing so.

    \b
    Examples:
      localgate accounts edit work --priority 5
      localgate accounts edit router --models 'openrouter/*' --models 'meta-llama/*'
      localgate accounts edit work --key
      localgate accounts edit corp --proxy http://proxy.internal:3128
    """
    config_file = cli.config_file()
    account = require_account(config_file.validate(), name)
    changes: dict = {}
    if models:
        changes["models"] = list(models)
    if priority is not None:
        changes["priority"] = priority
    if base_url is not None:
        changes["base_url"] = base_url
    if proxy is not None:
        changes["proxy"] = proxy
    new_key = key or key_stdin
    if new_key and account.provider == "vertex":
        from localgate.providers.vertex import relogin_command

        raise click.UsageError(f"vertex accounts log in with Google: {relogin_command(account)}")
    if new_key:
        changes["key_env"] = None
    if not changes:
        raise click.UsageError("nothing to change: give --models, --priority, --base-url, "
                               "--proxy or --key")  # fmt: skip
    config_file.update_account(name, **changes)
    config_file.validate()  # a bad value fails here, before a key is asked for
    if new_key:
        from localgate.secrets import store_secret

        store_secret(name, _read_key(name, account.provider, key_stdin))
    config_file.save()
    said = ", ".join(k for k in changes if k != "key_env")
    if new_key:
        said = ", ".join(filter(None, [said, f"key stored in {where_keys_live()}"]))
    click.echo(f"edited account {name!r}: {said}")


@accounts.command("rename")
@click.argument("old", shell_complete=complete_account)
@click.argument("new")
@pass_cli
def rename(cli: CliContext, old: str, new: str) -> None:
    """Rename account OLD to NEW, moving its key in the keyring too.

    \b
    Example:
      localgate accounts rename work work-2025
    """
    from localgate.secrets import delete_secret, get_secret, store_secret

    if not ACCOUNT_NAME_RE.match(new):
        raise click.BadParameter(
            f"{new!r}: use letters, digits, '-', '_' and '.'", param_hint="NEW"
        )
    config_file = cli.config_file()
    config = config_file.validate()
    account = require_account(config, old)
    if config.account(new) is not None:
        raise click.ClickException(f"an account named {new!r} already exists")
    secret = None if account.key_env else get_secret(old)
    # Key first, config second, old key last: a running daemon never sees NEW
    # without its key, and a failure part-way loses nothing.
    if secret is not None:
        store_secret(new, secret)
    config_file.account(old)["name"] = new
    config_file.save()
    if secret is not None:
        delete_secret(old)
    moved = "; its key moved in the keyring" if secret is not None else ""
    click.echo(f"renamed account {old!r} to {new!r}{moved}")
