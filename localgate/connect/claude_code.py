"""Claude Code: the `env` table of its user settings (~/.claude/settings.json).

Claude Code applies `env` to every session, so `claude` needs nothing else:
ANTHROPIC_BASE_URL names localgate and ANTHROPIC_AUTH_TOKEN (sent as
`Authorization: Bearer`, no approval prompt, no login) carries the proxy token,
or a placeholder when none is set. An ANTHROPIC_API_KEY there would be sent
instead and is reported as a conflict.
"""

from __future__ import annotations

import json
from pathlib import Path

from localgate.connect import FileEdit, Target, read_text
from localgate.errors import ClientConfigError

# Keys whose other values mean Claude Code talks to someone else.
COMPETING = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX")


def settings_path(env: dict[str, str]) -> Path:
    """$CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json."""
    root = env.get("CLAUDE_CONFIG_DIR") or str(Path(env.get("HOME", "~")) / ".claude")
    return Path(root).expanduser() / "settings.json"


def plan(target: Target, env: dict[str, str]) -> list[FileEdit]:
    path = settings_path(env)
    before = read_text(path)
    try:
        settings = json.loads(before) if before and before.strip() else {}
    except ValueError as exc:
        raise ClientConfigError(f"{path} is not valid JSON ({exc}): fix it, then connect") from exc
    if not isinstance(settings, dict) or not isinstance(settings.get("env", {}), dict):
        raise ClientConfigError(f"{path}: expected a JSON object with an `env` object")
    wanted = {"ANTHROPIC_BASE_URL": target.url, "ANTHROPIC_AUTH_TOKEN": target.key}
    current = dict(settings.get("env", {}))
    conflicts = []
    if current.get("ANTHROPIC_BASE_URL", target.url) != target.url:
        conflicts.append(f"env.ANTHROPIC_BASE_URL = {current['ANTHROPIC_BASE_URL']!r} (replaced)")
    for key in COMPETING:
        if key in current:
            conflicts.append(f"env.{key} is set: it would take precedence (removed)")
            current.pop(key)
    current.update(wanted)
    settings["env"] = current
    after = json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
    return [FileEdit(path, before, after, conflicts, private=target.token is not None)]
