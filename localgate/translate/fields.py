"""What a reader does with the fields of its dialect it does not carry.

Each dialect module lists every request field it knows (`FIELDS`), and names
the IR fields in its own words (`IR_NAMES`), so that what a writer leaves out
is reported under the client's name. A field a reader does not know is never
dropped silently: it is noted, and the answer says so in `x-localgate-dropped`.
docs/translation.md holds the table of every field; tests keep it in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from localgate.errors import InvalidRequest
from localgate.translate import ir


def note_unknown(req: ir.Request, body: Mapping, known: Iterable[str], prefix: str = "") -> None:
    """Note every field of `body` not in `known` as dropped (`prefix` names its parent)."""
    known = set(known)
    for name in body:
        if name not in known:
            req.dropped.append(prefix + name)


def note(req: ir.Request, body: Mapping, names: Iterable[str], prefix: str = "") -> None:
    """Note the fields `names` that `body` holds as dropped (`false` asks for nothing)."""
    for name in names:
        if body.get(name) not in (None, False):
            req.dropped.append(prefix + name)


def refuse(name: str, why: str) -> InvalidRequest:
    """The 400 for a field that cannot be left out without changing the answer."""
    return InvalidRequest(f"{name}: {why}", param=name)
