"""`localgate doctor`: what is wrong with this setup, and the command that fixes it."""

from __future__ import annotations

import json

import click

from localgate.cli.context import CliContext, pass_cli

MARKS = {"ok": ("✓", "green"), "note": ("·", "cyan"), "warn": ("!", "yellow"), "fail": ("✗", "red")}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON list of checks, for scripts.")
@pass_cli
def doctor(cli: CliContext, as_json: bool) -> None:
    """Check the setup and explain each problem with its fix.

    \b
    Checks, in order:
      config       the file is valid; there are accounts
      keyring      a usable backend; says plainly when it is a plaintext file
      account …    each key present and readable (keyring or key_env);
                   base URLs that look wrong (an OpenAI-compatible URL without /v1)
      daemon       reachable, where, how its accounts are; its port vs the config's
      client …     Claude Code, Codex, Gemini CLI: using localgate, or pointing elsewhere;
                   ANTHROPIC_BASE_URL / OPENAI_BASE_URL / GOOGLE_GEMINI_BASE_URL of this shell
      state dir    writable
      clock        synchronised

    Exits 1 when any check warns or fails, 0 otherwise.
    """
    from localgate.doctor import PROBLEMS, run_checks

    checks = run_checks(cli)
    if as_json:
        click.echo(json.dumps([check.as_dict() for check in checks], indent=2))
    else:
        for check in checks:
            mark, colour = MARKS[check.status]
            click.echo(f"{click.style(mark, fg=colour)} {check.name}: {check.detail}")
            if check.fix and check.status != "ok":
                click.echo(f"    fix: {check.fix}")
        problems = sum(check.status in PROBLEMS for check in checks)
        click.echo(f"{problems} problem(s)" if problems else "no problems found")
    if any(check.status in PROBLEMS for check in checks):
        click.get_current_context().exit(1)
