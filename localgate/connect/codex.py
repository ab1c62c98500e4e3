"""Codex CLI: a `[model_providers.localgate]` table in $CODEX_HOME/config.toml (~/.codex).

    model_provider = "localgate"
    model = "claude-sonnet-4-5"       # only with --model: Codex's own default is a GPT model

    [model_providers.localgate]
    name = "localgate"
    base_url = "http://127.0.0.1:8080/v1"
    wire_api = "responses"
    supports_websockets = false       # Codex would try a Responses websocket first
    experimental_bearer_token = "lg-…"   # only when a proxy token is set

The file is edited as text so the user's comments and layout survive: the
top-level `model_provider` (and `model`) lines are replaced or inserted before
the first table, the provider table replaced or appended. The result is parsed back and
checked, so a file this cannot edit safely is refused, never garbled.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from localgate.connect import FileEdit, Target, read_text
from localgate.errors import ClientConfigError

PROVIDER = "localgate"
_HEADER = re.compile(r"^\s*\[")
_PROVIDER_HEADER = re.compile(r"^\s*\[\s*model_providers\s*\.\s*\"?localgate\"?\s*\]\s*(#.*)?$")


def config_path(env: dict[str, str]) -> Path:
    root = env.get("CODEX_HOME") or str(Path(env.get("HOME", "~")) / ".codex")
    return Path(root).expanduser() / "config.toml"


def provider_table(target: Target) -> dict:
    table = {
        "name": "localgate",
        "base_url": f"{target.url}/v1",
        "wire_api": "responses",
        "supports_websockets": False,
    }
    if target.token:
        table["experimental_bearer_token"] = target.token
    return table


def plan(target: Target, env: dict[str, str]) -> list[FileEdit]:
    path = config_path(env)
    before = read_text(path)
    try:
        old = tomllib.loads(before or "")
    except tomllib.TOMLDecodeError as exc:
        raise ClientConfigError(f"{path} is not valid TOML ({exc}): fix it, then connect") from exc
    conflicts = []
    if old.get("model_provider", PROVIDER) != PROVIDER:
        conflicts.append(f"model_provider = {old['model_provider']!r} (replaced)")
    top = {"model_provider": PROVIDER}
    if target.model:
        top["model"] = target.model
        if old.get("model", target.model) != target.model:
            conflicts.append(f"model = {old['model']!r} (replaced)")
    existing = old.get("model_providers", {}).get(PROVIDER)
    table = provider_table(target)
    if existing and existing.get("base_url") not in (None, table["base_url"]):
        conflicts.append(
            f"model_providers.localgate.base_url = {existing['base_url']!r} (replaced)"
        )
    after = _edit(before or "", top, table)
    if not _says(after, top, table):
        settings = "\n".join(f"{key} = {_toml_value(value)}" for key, value in top.items())
        raise ClientConfigError(
            f"cannot edit {path} safely (model_providers written another way?): add this by "
            f"hand:\n\n{settings}\n\n{_table_text(table, [])}"
        )
    return [FileEdit(path, before, after, conflicts, private=target.token is not None)]


def named_model(edits: list[FileEdit]) -> str | None:
    """The model Codex will ask for, as the config connect writes names it (None: its own
    default)."""
    model = tomllib.loads(edits[0].after).get("model") if edits else None
    return model if isinstance(model, str) else None


def _says(text: str, top: dict, table: dict) -> bool:
    """Whether `text` parses and selects the provider with exactly `table`'s values."""
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    provider = config.get("model_providers", {}).get(PROVIDER, {})
    return (
        all(config.get(key) == value for key, value in top.items())
        and all(provider.get(key) == value for key, value in table.items())
        and "env_key" not in provider
    )


def _edit(text: str, top: dict, table: dict) -> str:
    lines = _set_provider_table(text.splitlines(), table)
    for key, value in top.items():
        lines = _set_top_level(lines, key, value)
    return "\n".join(lines).rstrip("\n") + "\n"


def _set_top_level(lines: list[str], key: str, value) -> list[str]:
    """`key = value` before the first table: the existing line replaced, or one inserted."""
    first_table = next((i for i, line in enumerate(lines) if _HEADER.match(line)), len(lines))
    setting = f"{key} = {_toml_value(value)}"
    pattern = re.compile(rf"^\s*{key}\s*=")
    found = [i for i in range(first_table) if pattern.match(lines[i])]
    if found:
        return [*lines[: found[0]], setting, *lines[found[0] + 1 :]]
    insert = [setting, ""] if first_table < len(lines) else [setting]
    if first_table == len(lines) and lines and lines[-1].strip():
        insert = ["", *insert]
    before_blank = first_table
    if first_table < len(lines) and first_table and not lines[first_table - 1].strip():
        before_blank, insert = first_table - 1, [setting]  # join the top-level block
    return [*lines[:before_blank], *insert, *lines[before_blank:]]


def _set_provider_table(lines: list[str], table: dict) -> list[str]:
    """Replace the provider's table, keeping keys of it localgate does not set; or append it."""
    start = next((i for i, line in enumerate(lines) if _PROVIDER_HEADER.match(line)), None)
    if start is None:
        tail = [""] if lines and lines[-1].strip() else []
        return [*lines, *tail, *_table_text(table, []).splitlines()]
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
    body = lines[start + 1 : end]
    ours = set(table) | {"env_key"}  # env_key would compete with the token
    kept = [line for line in body if not re.match(rf"^\s*({'|'.join(ours)})\s*=", line)]
    while kept and not kept[-1].strip():
        kept.pop()
    new = _table_text(table, kept).splitlines()
    gap = [""] if end < len(lines) else []
    return [*lines[:start], *new, *gap, *lines[end:]]


def _table_text(table: dict, kept: list[str]) -> str:
    lines = [f"[model_providers.{PROVIDER}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join([*lines, *kept]) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a JSON string is a valid TOML basic string
