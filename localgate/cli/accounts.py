"""`localgate accounts …`: add, list, remove, enable, disable and test accounts."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import click

from localgate.cli.context import (
    CliContext,
    complete_account,
    no_such_account,
    pass_cli,
    require_account,
)
from localgate.config import ACCOUNT_NAME_RE, ENV_VAR_RE, AccountConfig, Config
from localgate.providers import PROVIDERS

NO_STATE = "—"
# Characters of a key read from standard input, at most: keys are a few hundred; more is a
# file or a device piped in by mistake, which is neither read whole nor stored.
MAX_KEY = 16 * 1024


@click.group()
def accounts() -> None:
    """Add, list and manage the provider accounts localgate serves requests with.

    \b
    Examples:
      localgate accounts add work --provider anthropic
      localgate accounts list
      localgate accounts test work
      localgate accounts disable work

    Keys live in the OS keyring (service "localgate", one entry per account),
    never in the config file. Changes are picked up by a running daemon.
    """


@accounts.command("add")
@click.argument("name")
@click.option(
    "--provider",
    required=True,
    type=click.Choice(list(PROVIDERS)),
    help="The kind of account.",
)
@click.option("--base-url", metavar="URL", help="Another endpoint (OpenRouter, Groq, Ollama…).")
@click.option(
    "--models",
    "models",
    multiple=True,
    metavar="PATTERN",
    help="Glob of model names this account serves; repeat for more. Default: the provider's.",
)
@click.option("--priority", type=int, help="Higher is preferred (fill-first order). Default 0.")
@click.option("--key-stdin", is_flag=True, help="Read the key from standard input.")
@click.option(
    "--key-env",
    metavar="VAR",
    help="Take the key from environment variable VAR when serving; nothing goes to the keyring.",
)
@click.option("--project", metavar="P", help="vertex: Google Cloud project id.")
@click.option("--region", metavar="R", help="vertex: region, e.g. us-east5.")
@click.option(
    "--credentials-file",
    type=click.Path(exists=True, dir_okay=False),
    help="vertex: service-account or authorized-user JSON instead of a browser login.",
)
@click.option("--no-browser", is_flag=True, help="vertex: print the login URL, don't open it.")
@click.option(
    "--client-secrets",
    type=click.Path(exists=True, dir_okay=False),
    help="vertex: OAuth client JSON (Desktop app) for the browser login; remembered.",
)
@click.option("--adc", is_flag=True, help="vertex: import gcloud's application-default login.")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace an existing account of that name (provider, flags and key) afresh.",
)
@pass_cli
def add(
    cli: CliContext,
    name: str,
    provider: str,
    base_url: str | None,
    models: tuple[str, ...],
    priority: int | None,
    key_stdin: bool,
    key_env: str | None,
    project: str | None,
    region: str | None,
    credentials_file: str | None,
    no_browser: bool,
    client_secrets: str | None,
    adc: bool,
    replace: bool,
) -> None:
    """Add account NAME (with --replace: replace the account of that name).

    An existing NAME is refused without --replace, which replaces it whole:
    its provider, the flags given (others back to their defaults) and its key.
    To change only some of it, use `localgate accounts edit`.

    Without --key-stdin or --key-env you are asked for the key (input hidden).
    The key is stored in the keyring before the config is written, so a
    running daemon never sees an account without its key.

    \b
    Examples:
      localgate accounts add work --provider anthropic
      localgate accounts add router --provider openai \\
          --base-url https://openrouter.ai/api/v1 --models 'openrouter/*'
      localgate accounts add local --provider openai \\
          --base-url http://127.0.0.1:11434/v1 --models 'llama*' --key-stdin <<< ollama
      localgate accounts add ci --provider anthropic --key-env ANTHROPIC_API_KEY
      pass show anthropic | localgate accounts add work --provider anthropic --key-stdin
    """
    vertex_only = {
        "--project": project,
        "--region": region,
        "--credentials-file": credentials_file,
        "--no-browser": no_browser or None,
        "--client-secrets": client_secrets,
        "--adc": adc or None,
    }
    if provider != "vertex":
        for flag, value in vertex_only.items():
            if value is not None:
                raise click.UsageError(f"{flag} applies only to --provider vertex")
    if not ACCOUNT_NAME_RE.fullmatch(name):
        raise click.BadParameter(
            f"{name!r}: use letters, digits, '-', '_' and '.'", param_hint="NAME"
        )
    _refuse_existing(cli, name, replace)
    if provider == "vertex":
        if key_stdin or key_env:
            raise click.UsageError("vertex accounts log in with Google, not with a key")
        from localgate.cli.vertex import add_vertex

        return add_vertex(
            cli,
            name,
            base_url=base_url,
            models=models,
            priority=priority,
            project=project,
            region=region,
            credentials_file=credentials_file,
            client_secrets=client_secrets,
            adc=adc,
            no_browser=no_browser,
        )
    if key_stdin and key_env:
        raise click.UsageError("give either --key-stdin or --key-env, not both")
    if key_env is not None and not ENV_VAR_RE.fullmatch(key_env):
        raise click.BadParameter(f"{key_env!r} is not an environment variable name")

    config_file = cli.config_file()
    existing = config_file.account(name)
    table: dict[str, Any] = {"name": name, "provider": provider}
    if base_url is not None:
        table["base_url"] = base_url
    if models:
        table["models"] = list(models)
    if priority is not None:
        table["priority"] = priority
    if key_env is not None:
        table["key_env"] = key_env
    config_file.put_account(table)
    config_file.validate()  # a bad flag fails here, before any key is asked for or stored

    verb = "replaced" if existing is not None else "added"
    if key_env is not None:
        config_file.save()
        click.echo(f"{verb} account {name!r} ({provider}); its key comes from ${key_env}")
        warn_unset_key_env(name, key_env)
        return

    key = _read_key(name, provider, key_stdin)
    from localgate.secrets import store_secret

    store_secret(name, key)
    config_file.save()
    click.echo(f"{verb} account {name!r} ({provider}); key stored in {where_keys_live()}")


def _refuse_existing(cli: CliContext, name: str, replace: bool) -> None:
    """An account NAME exists and --replace was not given: say what it is and what to do."""
    existing = cli.config_file().account(name)
    if existing is None or replace:
        return
    what = existing.get("provider", "?")
    if existing.get("base_url"):
        what += f", {existing['base_url']}"
    raise click.ClickException(
        f"account {name!r} already exists ({what}). To replace it (provider, settings and "
        f"key): add --replace. To change part of it: localgate accounts edit {name} "
        "[--models P]… [--priority N] [--base-url URL] [--key]"
    )


def warn_unset_key_env(name: str, variable: str) -> None:
    """--key-env names a variable this shell does not set: say what that means."""
    if not os.environ.get(variable):
        click.echo(
            f"warning: ${variable} is not set in this shell: account {name!r} has no key until "
            f"it is set in the daemon's environment (export {variable}=… before "
            "`localgate start`)",
            err=True,
        )


def where_keys_live() -> str:
    """'the keyring', or the plaintext file named plainly."""
    from localgate.secrets import plaintext_keyring_file

    path = plaintext_keyring_file()
    if path is None:
        return "the keyring"
    return f"{path}, a plaintext file (0600 in a 0700 dir; not encrypted: see `localgate doctor`)"


def _read_key(name: str, provider: str, from_stdin: bool) -> str:
    """The key from stdin or a hidden prompt, stripped; refuses an empty one."""
    if from_stdin:
        key = click.get_text_stream("stdin").read(MAX_KEY + 1)
        if len(key) > MAX_KEY:
            raise click.ClickException(
                f"more than {MAX_KEY // 1024} KB on standard input: a key is a single short "
                "line; nothing stored"
            )
        key = key.strip()
        if "\n" in key:
            raise click.ClickException("expected one key on standard input, got several lines")
    else:
        key = click.prompt(
            f"{provider} API key for {name!r}", hide_input=True, default="", show_default=False
        ).strip()
    if not key:
        raise click.ClickException("empty key: nothing stored")
    return key


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects, for scripts.")
@pass_cli
def list_accounts(cli: CliContext, as_json: bool) -> None:
    """List configured accounts and, if the daemon runs, their state.

    \b
    Examples:
      localgate accounts list
      localgate accounts list --json | jq -r '.[] | select(.state == "cooling") | .name'

    The state (ok, cooling, invalid, disabled) comes from a running daemon
    (GET /account-limits); "—" means no daemon answered.
    """
    from localgate.cli.daemon import account_states

    config = cli.load_config()
    states, problem = account_states(cli.daemon(config))
    rows = [_account_row(account, states) for account in config.accounts]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(
            "no accounts yet: add one with  localgate accounts add NAME --provider anthropic"
        )
        return
    _print_table(rows, problem)


def _account_row(
    account: AccountConfig, states: dict[str, dict[str, Any]] | None
) -> dict[str, Any]:
    live = (states or {}).get(account.name, {})
    return {
        "name": account.name,
        "provider": account.provider,
        "base_url": account.base_url or PROVIDERS[account.provider].default_base_url or None,
        "models": list(account.model_patterns),
        "priority": account.priority,
        "enabled": account.enabled,
        "key_env": account.key_env,
        "state": live.get("state"),
        "reason": live.get("reason"),
    }


def _print_table(rows: list[dict[str, Any]], problem: str | None) -> None:
    """The accounts table; `problem` is why the daemon gave no states (None: it did)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="accounts", title_justify="left")
    for column in ("name", "provider", "base URL", "models", "priority", "enabled", "state"):
        # Names stay whole; URLs and model lists may wrap on a narrow terminal.
        whole = column in ("name", "provider", "priority", "enabled")
        table.add_column(column, no_wrap=whole, overflow="ellipsis" if whole else "fold")
    for row in rows:
        state = row["state"] or NO_STATE
        if row["reason"]:
            state = f"{state}: {row['reason']}"
        table.add_row(
            row["name"],
            row["provider"],
            row["base_url"] or "",
            ", ".join(row["models"]),
            str(row["priority"]),
            "yes" if row["enabled"] else "no",
            state,
        )
    console = Console(highlight=False)
    console.print(table)
    if problem is None:
        return
    if problem.startswith("not running"):
        console.print(f"{NO_STATE} daemon not running (start it with: localgate serve)")
    else:
        console.print(f"{NO_STATE} no state: the daemon {problem}")


@accounts.command("remove")
@click.argument("name", shell_complete=complete_account)
@pass_cli
def remove(cli: CliContext, name: str) -> None:
    """Remove account NAME from the config and its key from the keyring.

    \b
    Example:
      localgate accounts remove old-work
    """
    from localgate.errors import SecretError
    from localgate.secrets import delete_secret

    config_file = cli.config_file()
    config = config_file.validate()
    account = config.account(name)
    if account is None:
        raise click.ClickException(no_such_account(config.path, name, config.accounts))
    config_file.remove_account(name)
    config_file.save()  # first, so a running daemon stops using the account
    try:
        delete_secret(name)
    except SecretError as exc:
        if account.key_env is None:  # its key really was in the keyring: say it stayed there
            raise click.ClickException(
                f"removed account {name!r} from the config, but its key is still in the "
                f"keyring: {exc}"
            ) from exc
    click.echo(f"removed account {name!r}")


@accounts.command("enable")
@click.argument("name", shell_complete=complete_account)
@pass_cli
def enable(cli: CliContext, name: str) -> None:
    """Let the daemon use account NAME again.

    Also tells a running daemon to forget that the account was invalid (a 401
    or 403) or cooling down, so it is tried on the next request.

    \b
    Example:
      localgate accounts enable work
    """
    config = _set_enabled(cli, name, True)
    from localgate.cli.daemon import ask_daemon, await_account

    daemon = cli.daemon(config)
    # Wait for the daemon to read the change first: resetting an account it still
    # thinks disabled would report "disabled" right after enabling it.
    entry, problem = await_account(
        daemon, name, lambda e: e is not None and e.get("state") != "disabled"
    )
    if entry is None:
        if problem and not problem.startswith("not running"):
            click.echo(f"note: the daemon at {daemon.url} {problem}", err=True)
        return
    url = daemon.endpoint(f"/reset-account?account={quote(name)}")
    answer, problem = ask_daemon(url, method="POST", timeout=2.0)
    if isinstance(answer, dict) and "state" in answer:
        click.echo(f"the running daemon forgot its marks on {name!r}: now {answer['state']}")
    else:
        click.echo(f"note: the daemon at {daemon.url} {problem}", err=True)


@accounts.command("disable")
@click.argument("name", shell_complete=complete_account)
@pass_cli
def disable(cli: CliContext, name: str) -> None:
    """Keep account NAME (and its key) but stop routing requests to it.

    \b
    Example:
      localgate accounts disable work
    """
    _set_enabled(cli, name, False)


def _set_enabled(cli: CliContext, name: str, enabled: bool) -> Config:
    """Set the account's `enabled`; the config as it was (its [server] still holds)."""
    config_file = cli.config_file()
    config = config_file.validate()
    account = require_account(config, name)
    word = "enabled" if enabled else "disabled"
    if account.enabled == enabled:
        click.echo(f"account {name!r} is already {word}")
        return config
    # `enabled = true` is the default, so enabling just drops the key.
    config_file.update_account(name, enabled=None if enabled else False)
    config_file.save()
    click.echo(f"{word} account {name!r}")
    return config


@accounts.command("test")
@click.argument("name", shell_complete=complete_account)
@pass_cli
def test(cli: CliContext, name: str) -> None:
    """Make one cheap live call with account NAME and say whether it works.

    Exits with status 1 when the check fails, so scripts can use it.

    \b
    Example:
      localgate accounts test work
      ok (412 ms): claude-haiku-4-5 answered
    """
    import asyncio

    from localgate.providers.check import check_account

    config: Config = cli.load_config()
    account = require_account(config, name)
    result = asyncio.run(check_account(config, account))
    if result.ok:
        click.echo(f"ok ({result.latency_ms:.0f} ms): {result.detail}")
    else:
        click.echo(f"failed: {result.detail}", err=True)
        click.get_current_context().exit(1)
