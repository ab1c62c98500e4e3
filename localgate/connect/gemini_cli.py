"""Gemini CLI: API-key auth in ~/.gemini/settings.json, localgate's URL in ~/.gemini/.env.

Gemini CLI reads GOOGLE_GEMINI_BASE_URL (plain http is allowed for
127.0.0.1) and GEMINI_API_KEY from the first `.env` it finds; `~/.gemini/.env`
is read in trusted folders, after any `.gemini/.env` or `.env` of the project.
The settings select the `gemini-api-key` auth type so it does not ask for a
Google login. $GEMINI_CLI_HOME replaces the home directory when set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from localgate.connect import FileEdit, Target, read_text
from localgate.errors import ClientConfigError

AUTH_TYPE = "gemini-api-key"
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def gemini_dir(env: dict[str, str]) -> Path:
    root = env.get("GEMINI_CLI_HOME") or env.get("HOME", "~")
    return Path(root).expanduser() / ".gemini"


def plan(target: Target, env: dict[str, str]) -> list[FileEdit]:
    directory = gemini_dir(env)
    return [_settings(directory / "settings.json"), _dotenv(directory / ".env", target)]


def _settings(path: Path) -> FileEdit:
    before = read_text(path)
    try:
        settings = json.loads(before) if before and before.strip() else {}
    except ValueError as exc:  # Gemini CLI allows comments; rewriting would drop them
        raise ClientConfigError(
            f"{path} is not plain JSON ({exc}): set security.auth.selectedType to "
            f'"{AUTH_TYPE}" by hand, then run connect again'
        ) from exc
    security = settings.setdefault("security", {})
    auth = security.setdefault("auth", {}) if isinstance(security, dict) else None
    if not isinstance(auth, dict):
        raise ClientConfigError(f"{path}: expected `security.auth` to be an object")
    conflicts = []
    if auth.get("selectedType") not in (None, AUTH_TYPE):
        conflicts.append(f"security.auth.selectedType = {auth['selectedType']!r} (replaced)")
    if auth.get("enforcedType") not in (None, AUTH_TYPE):
        conflicts.append(f"security.auth.enforcedType = {auth['enforcedType']!r} (removed)")
        auth.pop("enforcedType")
    auth["selectedType"] = AUTH_TYPE
    return FileEdit(path, before, json.dumps(settings, indent=2) + "\n", conflicts)


def _dotenv(path: Path, target: Target) -> FileEdit:
    before = read_text(path)
    wanted = {"GOOGLE_GEMINI_BASE_URL": target.url, "GEMINI_API_KEY": target.key}
    lines, seen, conflicts = [], set(), []
    for line in (before or "").splitlines():
        match = _ENV_LINE.match(line)
        name = match.group(1) if match else None
        if name in wanted:
            old = match.group(2).strip("'\"")
            if name == "GOOGLE_GEMINI_BASE_URL" and old != wanted[name]:
                conflicts.append(f"{name}={old} in {path.name} (replaced)")
            if name not in seen:
                lines.append(f"{name}={wanted[name]}")
            seen.add(name)
            continue
        lines.append(line)
    lines += [f"{name}={value}" for name, value in wanted.items() if name not in seen]
    return FileEdit(path, before, "\n".join(lines) + "\n", conflicts, private=True)
