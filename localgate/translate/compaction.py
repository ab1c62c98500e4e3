"""Compaction for accounts that have none: the serving model writes the summary.

Codex compacts a long session remotely — `POST /responses/compact`, or a
streamed turn whose input ends in a `compaction_trigger` item — and needs back
exactly one `compaction` item whose `encrypted_content` it replays on every
later turn. OpenAI accounts do this themselves (relayed untouched). On any
other account localgate asks the serving model for a summary, seals it
(translate/seal.py: signed with this installation's key) into the item, and
opens it again when it comes back, as the history it stands for.
"""

from __future__ import annotations

from localgate.translate import ir

PROMPT = (
    "Your context window is about to be compacted. Write a summary of the conversation so "
    "far that lets you continue the work seamlessly without the earlier messages: the user's "
    "goals and requests (quote the latest ones word for word), decisions made, what was done "
    "and with which commands or files, what was found, what remains to do, and any details "
    "(names, paths, values, errors) needed to continue. Answer with the summary only."
)
HISTORY_HEADER = "Summary of the earlier part of this conversation (compacted):"


def prepare(req: ir.Request) -> None:
    """Turn `req` into the request for a summary: the prompt last, no tool calls."""
    req.messages.append(ir.Message("user", [ir.Text(PROMPT)]))
    req.response_format = None
    if req.tools:  # kept: the history may hold calls to them; none may be made now
        req.tool_choice = ir.ToolChoice("none")
    req.web_search = None


def as_history(summary: str) -> str:
    """The user text a sealed summary stands for when it comes back."""
    return f"{HISTORY_HEADER}\n\n{summary}"
