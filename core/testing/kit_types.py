"""Check that a value crossing the plugin boundary has the types its dataclass declares.

The core types are plain frozen dataclasses, which Python does not check at run time: a
plugin handing back `available="5"` or `active=1` would pass silently until the engine did
arithmetic on it. The contract runs every returned element through `assert_declared_types`.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from dataclasses import fields, is_dataclass
from typing import Any, get_args, get_origin, get_type_hints


def assert_declared_types(value: Any) -> None:
    """Raise AssertionError naming the first field whose value is not of its declared type."""
    assert is_dataclass(value) and not isinstance(value, type), f"{value!r} is not a dataclass"
    hints = get_type_hints(type(value))
    for item in fields(value):
        _check(getattr(value, item.name), hints[item.name], f"{type(value).__name__}.{item.name}")


def _check(value: Any, hint: Any, where: str) -> None:
    if hint is Any:
        return
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in get_args(hint):
            try:
                _check(value, option, where)
                return
            except AssertionError:
                continue
        raise AssertionError(f"{where}: {value!r} matches none of {hint}")
    if hint is type(None):
        assert value is None, f"{where}: expected None, got {value!r}"
        return
    if origin is tuple:
        assert isinstance(value, tuple), f"{where}: expected a tuple, got {type(value).__name__}"
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            for i, element in enumerate(value):
                _check(element, args[0], f"{where}[{i}]")
        else:
            assert len(args) == len(value), f"{where}: expected {len(args)} items"
            for i, (element, arg) in enumerate(zip(value, args, strict=True)):
                _check(element, arg, f"{where}[{i}]")
        return
    if origin in (list, collections.abc.Sequence):
        assert isinstance(value, list | tuple), f"{where}: expected a sequence, got {value!r}"
        for i, element in enumerate(value):
            _check(element, get_args(hint)[0], f"{where}[{i}]")
        return
    if origin in (dict, collections.abc.Mapping):
        assert isinstance(value, collections.abc.Mapping), f"{where}: expected a mapping"
        key_type, value_type = get_args(hint)
        for key, element in value.items():
            _check(key, key_type, f"{where} key")
            _check(element, value_type, f"{where}[{key!r}]")
        return
    assert isinstance(hint, type), f"{where}: cannot check against {hint!r}"
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint)
    assert ok, f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}"
    if is_dataclass(hint):
        assert_declared_types(value)
