"""Rich output at 80, 100 and 120 columns: nothing cut mid-word, no column dropped."""

from __future__ import annotations

import pytest

from tests.cli.test_daemon_words import fill_ledger, free_port
from tests.support import account, write_config

WIDTHS = ["80", "100", "120"]
NAMES = [f"account-{n}-long" for n in range(7)]


def many_accounts(config_path) -> None:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    write_config(
        config_path,
        [account("work", "anthropic", "http://127.0.0.1:9", rpm=1000, tpm=2_000_000)]
        + [account(name, "anthropic", "http://127.0.0.1:9") for name in NAMES]
        + [account("oai", "openai", "https://openrouter.ai/api/v1", models=["gpt-*", "o*"])],
        server={"port": free_port()},
        aliases={"claude-*-haiku-*": ["claude-haiku-4-5", "openai:gpt-4o-mini"]},
    )


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize(
    "command", [("limits",), ("accounts", "list"), ("usage",), ("usage", "--by", "model")]
)
def test_tables_fit_and_keep_every_name(cli, config_path, columns, command):
    many_accounts(config_path)
    fill_ledger(config_path)
    result = cli(*command, env={"COLUMNS": columns, "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= int(columns)
    assert "…" not in out
    words = out.split()
    if command[0] != "usage":
        assert all(name in words for name in NAMES), out  # every name, whole
    else:  # the ledger's one account and model, whole, even when the columns do not fit
        assert ("claude-opus-4-8" if "model" in command else "personal-long-name") in out, out
        assert "reqs" in out and "tokens" in out
    if command == ("limits",):
        # The long reason wraps on its own line(s), words whole.
        assert "organisation" in words and "quota" in words


def test_a_wide_matrix_turns_on_its_side(cli, config_path):
    many_accounts(config_path)
    fill_ledger(config_path)
    wide = cli("limits", env={"COLUMNS": "200", "NO_COLOR": "1"}).stdout
    narrow = cli("limits", env={"COLUMNS": "80", "NO_COLOR": "1"}).stdout
    model_first = [line for line in wide.splitlines() if line.split()[:1] == ["model"]]
    assert model_first and all(name in model_first[0] for name in NAMES)
    assert any(line.split()[:2] == ["account", "┃"] for line in narrow.splitlines()), narrow
    assert "account-6-long │ ok" in narrow


def test_a_matrix_too_wide_either_way_becomes_one_line_per_account():
    from rich.console import Console

    from localgate.cli.limits import _matrix_lines, _matrix_table

    names = [f"account-{n}-long" for n in range(8)]
    rows = [[f"model-{m}-with-a-long-name", *["wait 12m00s"] * 8] for m in range(8)]
    console = Console(width=80, file=None, color_system=None)
    assert _matrix_table(console, names, rows) is None
    with console.capture() as captured:
        console.print(_matrix_lines(names, rows))
    out = captured.get()
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "account-7-long: model-0-with-a-long-name wait 12m00s;" in out
