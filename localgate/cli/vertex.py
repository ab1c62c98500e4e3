"""The vertex branch of `localgate accounts add`: a Google login, then the account.

Where the login comes from, in order: `--credentials-file` (a service-account
key or an authorized-user JSON), `--adc` (gcloud's application-default
credentials), else the browser login with the OAuth client of
`--client-secrets` (remembered in the config), `--no-browser` to paste the URL
instead. The login JSON goes to the keyring; the config records the project,
region, the kind of login, the email and the client-secrets path, never a secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from localgate.cli.context import CliContext

NO_LOGIN_SOURCE = (
    "a vertex account needs a Google login: give --client-secrets FILE (an OAuth client of "
    "type 'Desktop app' from the Google Cloud console) for a browser login, --adc to import "
    "gcloud's application-default login, or --credentials-file FILE for a service-account key"
)


def add_vertex(
    cli: CliContext,
    name: str,
    *,
    base_url: str | None,
    models: tuple[str, ...],
    priority: int | None,
    project: str | None,
    region: str | None,
    credentials_file: str | None,
    client_secrets: str | None,
    adc: bool,
    no_browser: bool,
) -> None:
    """Log in to Google (as the flags say), store the login, write the account."""
    if sum(map(bool, (credentials_file, adc, client_secrets))) > 1:
        raise click.UsageError("give one of --credentials-file, --adc and --client-secrets")
    if no_browser and (credentials_file or adc):
        raise click.UsageError("--no-browser applies to the browser login only")

    config_file = cli.config_file()
    existing = config_file.account(name)
    if existing is not None and existing.get("provider") == "vertex":
        table: dict[str, Any] = dict(existing)
    else:
        table = {"name": name, "provider": "vertex"}
    table["project"] = project or table.get("project")
    if not table["project"]:
        raise click.UsageError("--project is required: the Google Cloud project to bill")
    table["region"] = region or table.get("region") or "global"
    for key, value in (("base_url", base_url), ("priority", priority)):
        if value is not None:
            table[key] = value
    if models:
        table["models"] = list(models)
    table.pop("key_env", None)
    if not (credentials_file or adc):
        client_secrets = client_secrets or table.get("client_secrets")
        if not client_secrets:
            raise click.UsageError(NO_LOGIN_SOURCE)
        table["client_secrets"] = str(Path(client_secrets).expanduser().resolve())
    else:
        table.pop("client_secrets", None)
    config_file.put_account(table)
    config_file.validate()  # a bad flag fails here, before anyone logs in

    info, email, kind = _login(table, credentials_file, adc, no_browser)
    table["credentials_type"] = kind
    if email:
        table["email"] = email
    else:
        table.pop("email", None)
    config_file.put_account(table)

    from localgate.secrets import store_secret

    store_secret(name, json.dumps(info))
    config_file.save()
    verb = "replaced" if existing is not None else "added"
    who = f" as {email}" if email else ""
    click.echo(
        f"{verb} account {name!r} (vertex, project {table['project']}, region "
        f"{table['region']}){who}; login stored in the keyring"
    )


def _login(
    table: dict[str, Any], credentials_file: str | None, adc: bool, no_browser: bool
) -> tuple[dict[str, Any], str | None, str]:
    """(credential JSON, email, credentials_type) from the chosen source."""
    from localgate.bounded import read_file
    from localgate.errors import InputTooLarge
    from localgate.google import login
    from localgate.google.credential import MAX_CREDENTIALS_FILE, parse_info

    if credentials_file or adc:
        path = Path(credentials_file) if credentials_file else login.adc_path()
        if not path.is_file():
            raise click.ClickException(
                f"no application-default login at {path}: run "
                "`gcloud auth application-default login` first"
            )
        try:
            text = read_file(path, MAX_CREDENTIALS_FILE).decode("utf-8", "replace")
        except InputTooLarge as exc:
            raise click.ClickException(
                f"{exc}, where Google credentials take a few KB: is it the right file?"
            ) from exc
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from exc
        info = parse_info(text, str(path))
        email = _verify(info, str(path), table["name"])
        return info, email, "adc" if adc else info["type"]

    client = login.OAuthClient.from_file(Path(table["client_secrets"]))

    def announce(url: str) -> None:
        if no_browser:
            click.echo("Open this URL in a browser on any machine and grant access:")
        else:
            click.echo("Opening your browser to log in to Google. If it does not open, visit:")
        click.echo(f"\n  {url}\n")

    if no_browser:
        info, email = login.paste_login(
            client,
            ask=lambda text: click.prompt(text, default="", show_default=False),
            announce=announce,
        )
    else:
        import webbrowser

        info, email = login.browser_login(client, open_url=webbrowser.open, announce=announce)
    return info, email, "browser"


def _verify(info: dict[str, Any], where: str, name: str) -> str | None:
    """Refresh once, so a dead credential is refused before it is stored; its email."""
    from localgate.errors import LocalgateError
    from localgate.google.credential import GoogleCredential, google_credentials

    creds = google_credentials(info, where)
    credential = GoogleCredential(
        json.dumps(info), creds, account=name, relogin="use a fresh credentials file"
    )
    try:
        credential.blocking_token()
    except LocalgateError as exc:
        raise click.ClickException(f"{where} does not work, nothing stored: {exc}") from exc
    return credential.email
