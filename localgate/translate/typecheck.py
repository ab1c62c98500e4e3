"""The internal form checked against its own type annotations.

Dialect readers copy client fields into the IR as they find them; a client that
sends `max_tokens: "5"` or a tool name that is a number would otherwise reach a
writer that does arithmetic or string work on it (a 500), or be forwarded to an
upstream as is. One generic walk over the IR's dataclasses catches every such
value, for every dialect, and says where it is (`messages[2].parts[0].text`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from localgate.dialects.common import JSON_TYPE_NAMES as _NAMES


def mistyped(value: Any) -> str | None:
    """What in the dataclass `value` contradicts its annotations, or None when nothing does.

    The answer reads `path: expected X, got Y`.
    """
    return _check(value, type(value), "")


@cache  # one lookup per IR class, not per request
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def _check(value: Any, hint: Any, path: str) -> str | None:
    origin = get_origin(hint)
    if hint is Any or hint is object:
        return None
    if origin in (Union, types.UnionType):
        return _check_union(value, get_args(hint), path)
    if origin is Literal:
        if value in get_args(hint) and isinstance(value, str | type(None)):
            return None
        return _wrong(path, " or ".join(repr(a) for a in get_args(hint)), value)
    if origin is list:
        if not isinstance(value, list):
            return _wrong(path, "an array", value)
        (item,) = get_args(hint) or (Any,)
        for index, element in enumerate(value):
            problem = _check(element, item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if origin is dict or hint is dict:
        return None if isinstance(value, dict) else _wrong(path, "an object", value)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            return _wrong(path, f"a {hint.__name__}", value)
        for name, field_hint in _fields(hint):
            problem = _check(getattr(value, name), field_hint, f"{path}.{name}" if path else name)
            if problem:
                return problem
        return None
    return None if _scalar_ok(value, hint) else _wrong(path, _NAMES.get(hint, str(hint)), value)


def _check_union(value: Any, options: tuple, path: str) -> str | None:
    for option in options:
        if dataclasses.is_dataclass(option) and isinstance(value, option):
            return _check(value, option, path)
    for option in options:
        if not dataclasses.is_dataclass(option) and _check(value, option, path) is None:
            return None
    expected = " or ".join(_NAMES.get(o, getattr(o, "__name__", str(o))) for o in options)
    return _wrong(path, expected, value)


def _scalar_ok(value: Any, hint: Any) -> bool:
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    return isinstance(value, hint) if isinstance(hint, type) else True


def _wrong(path: str, expected: str, value: Any) -> str:
    got = _NAMES.get(type(value), type(value).__name__)
    return f"{path or 'value'}: expected {expected}, got {got}"
