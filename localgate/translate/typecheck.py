"""The internal form checked against its own type annotations.

Dialect readers copy client fields into the IR as they find them; a client that
sends `max_tokens: "5"` or a tool name that is a number would otherwise reach a
writer that does arithmetic or string work on it (a 500), or be forwarded to an
upstream as is. One generic walk over the IR's dataclasses catches every such
value, for every dialect, and says where it is (`messages[2].parts[0].text`).

Each annotation is turned into a small check function once (cached), so a
request costs a few attribute reads and type tests per IR value; the path of a
wrong value is only spelled out on the way back up, when there is one.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from localgate.dialects.common import JSON_TYPE_NAMES

# None when the value fits; else (where, below the value checked, what is wrong).
Problem = tuple[str, str] | None
Check = Callable[[Any], Problem]


def mistyped(value: Any) -> str | None:
    """What in the dataclass `value` contradicts its annotations, or None when nothing does.

    The answer reads `path: expected X, got Y`.
    """
    problem = _check_for(type(value))(value)
    if problem is None:
        return None
    where, what = problem
    return f"{where.lstrip('.') or 'value'}: {what}"


def _ok(value: Any) -> Problem:
    return None


@cache  # one check function per annotation, built on first use
def _check_for(hint: Any) -> Check:
    origin = get_origin(hint)
    if hint is Any or hint is object:
        return _ok
    if origin in (Union, types.UnionType):
        return _union(get_args(hint))
    if origin is Literal:
        return _literal(get_args(hint))
    if origin is list:
        return _list(get_args(hint)[0] if get_args(hint) else Any)
    if origin is dict or hint is dict:
        return _scalar(dict)
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint)
    if isinstance(hint, type):
        return _scalar(hint)
    return _ok  # an annotation this walk does not know (tuple[...]…): not checked


def _scalar(kind: type) -> Check:
    accepted = _exact_types((kind,))
    expected = JSON_TYPE_NAMES.get(kind, kind.__name__)

    def check(value: Any) -> Problem:
        return None if type(value) in accepted else ("", _wrong(expected, value))

    return _fitting(check, accepted)


def _fitting(check: Check, types_: frozenset) -> Check:
    """`check`, marked with the exact types that always pass it: a dataclass walk tests
    those inline and calls the check only for the rest (most fields are None or a str)."""
    check.fits = types_
    return check


def _exact_types(kinds: tuple) -> frozenset:
    """The exact types a value of `kinds` may have: JSON's, so no subclasses, and a
    bool is no number; an int is a fine float."""
    return frozenset(kinds) | ({int} if float in kinds else set())


def _literal(choices: tuple) -> Check:
    expected = " or ".join(repr(c) for c in choices)

    def check(value: Any) -> Problem:
        if isinstance(value, str | type(None)) and value in choices:
            return None
        return "", _wrong(expected, value)

    return check


def _list(item_hint: Any) -> Check:
    found: list[Check] = []  # the item check, looked up on first use: Part lists nest

    def check(value: Any) -> Problem:
        if not isinstance(value, list):
            return "", _wrong("an array", value)
        if not found:
            found.append(_check_for(item_hint))
        item = found[0]
        for index, element in enumerate(value):
            problem = item(element)
            if problem is not None:
                return f"[{index}]{problem[0]}", problem[1]
        return None

    return check


def _union(options: tuple) -> Check:
    classes = tuple(o for o in options if dataclasses.is_dataclass(o))
    plain = _exact_types(tuple(o for o in options if isinstance(o, type) and o not in classes))
    others = [  # lists, Literals: checked only when the plain types did not fit
        _check_for(o) for o in options if not isinstance(o, type) and o not in classes
    ]
    names = (JSON_TYPE_NAMES.get(o, getattr(o, "__name__", str(o))) for o in options)
    expected = " or ".join(names)

    def check(value: Any) -> Problem:
        if type(value) in plain:
            return None
        if classes and isinstance(value, classes):
            return _check_for(type(value))(value)
        if any(other(value) is None for other in others):
            return None
        return "", _wrong(expected, value)

    return _fitting(check, plain)


def _dataclass(cls: type) -> Check:
    found: list[tuple[tuple[str, frozenset, Check], ...]] = []  # made on first use

    def check(value: Any) -> Problem:
        if not isinstance(value, cls):
            return "", _wrong(f"a {cls.__name__}", value)
        if not found:
            found.append(_fields(cls))
        for name, fits, field_check in found[0]:
            field = getattr(value, name)
            if type(field) in fits:
                continue
            problem = field_check(field)
            if problem is not None:
                return f".{name}{problem[0]}", problem[1]
        return None

    return check


def _fields(cls: type) -> tuple[tuple[str, frozenset, Check], ...]:
    """(name, the types that pass at once, the check) of each field of `cls` that
    has a check (those annotated Any need none)."""
    hints = typing.get_type_hints(cls)
    checks = ((f.name, _check_for(hints[f.name])) for f in dataclasses.fields(cls))
    return tuple(
        (name, getattr(check, "fits", frozenset()), check)
        for name, check in checks
        if check is not _ok
    )


def _wrong(expected: str, value: Any) -> str:
    got = JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    return f"expected {expected}, got {got}"
