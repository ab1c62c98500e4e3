"""`localgate dashboard`: open the daemon's page in the browser."""

from __future__ import annotations

import click

from localgate.cli.context import CliContext, pass_cli

ASK_TIMEOUT = 2.0


@click.command("dashboard")
@click.option("--no-browser", is_flag=True, help="Print the URL only; don't open a browser.")
@click.option(
    "--url",
    metavar="URL",
    envvar="LOCALGATE_URL",
    help="The daemon, e.g. http://127.0.0.1:8080 (env LOCALGATE_URL). "
    "Default: the config's [server] host and port.",
)
@pass_cli
def dashboard(cli: CliContext, no_browser: bool, url: str | None) -> None:
    """Open the local dashboard in the browser and print its URL.

    The page shows every account's state and limits, which account can take
    which model, requests as they happen, and usage over time. It is served
    by the running daemon at /ui and works offline.

    With a proxy token set, the URL is a one-time login link (it works once,
    within five minutes) that logs this browser in with a cookie; the page
    never asks for the token. Run the command again for another browser.

    \b
    Examples:
      localgate dashboard
      localgate dashboard --no-browser     # print the link, open it yourself
    """
    from localgate.cli.daemon import ask_daemon, locate_daemon

    # --url, the root --url, $LOCALGATE_URL, the runtime file, then the config.
    base = locate_daemon(cli.load_config(), url or cli.url_option).url
    link, problem = ask_daemon(f"{base}/ui/api/login-link", method="POST", timeout=ASK_TIMEOUT)
    if not isinstance(link, dict) or not isinstance(link.get("url"), str):
        problem = problem or "answered something that is not a login link"
        raise click.ClickException(
            f"localgate at {base} is {problem}; start it with `localgate serve`"
        )
    page = base + link["url"]
    click.echo(page)
    if link.get("expires_in"):
        click.echo(
            f"a one-time login link: it works once, within {link['expires_in'] // 60} minutes",
            err=True,
        )
    if not no_browser:
        import webbrowser

        if not webbrowser.open(page):
            click.echo("no browser could be opened: open the URL above yourself", err=True)
