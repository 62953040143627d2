"""Input checked field by field: ids, numbers, names, credentials and settings.

Every error is an `InvalidInput(field, message)` whose field is the name a caller knows the
input by (`name`, `organization`, `credentials.app_key`, `settings.timeout`, `percent`) and
whose message speaks of that field, never of a CLI flag: the CLI maps the field to its flag,
a form to its input. Numbers are ASCII digits only (`int("٣")` is 3 in Python, and a merchant
typing it did not mean a number), ids fit a 64-bit database column, and a credential is
refused before it can reach an HTTP header (where a line break would make httpx print it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from shelfsync.core.errors import ConfigurationError, InvalidInput
from shelfsync.core.http import check_public_url
from shelfsync.core.types import FieldKind, FieldSpec, PlatformInfo

#: The largest id a BIGINT column holds; a larger one would raise OverflowError in the driver.
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_WHOLE = re.compile(r"-?[0-9]{1,18}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_NAME_LENGTH = 200


def parse_id(field: str, raw: object) -> int:
    """A database id: ASCII digits, 1 to 2**63-1; `InvalidInput` otherwise."""
    text = str(raw).strip()
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= MAX_ID:
        raise InvalidInput(field, f"must be an id (digits 0-9, 1 to {MAX_ID}), got {text[:30]!r}")
    return int(text)


def parse_int(field: str, raw: object, low: int | None = None, high: int | None = None) -> int:
    """A whole number in ASCII digits within [low, high]; `InvalidInput` otherwise."""
    text = str(raw).strip()
    if not _WHOLE.fullmatch(text):
        raise InvalidInput(field, f"must be a whole number in digits 0-9, got {text[:30]!r}")
    value = int(text)
    if low is not None and value < low:
        raise InvalidInput(field, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise InvalidInput(field, f"must be at most {high}, got {value}")
    return value


def parse_switch(field: str, raw: object) -> bool:
    """on/off (true/false, yes/no, 1/0); `InvalidInput` otherwise."""
    try:
        return bool(FieldSpec(field, kind=FieldKind.BOOL).parse(raw))
    except ValueError as exc:
        raise InvalidInput(field, str(exc)) from None


def escape_controls(text: str) -> str:
    """`text` with control characters shown as escapes (`\\n`, `\\x1b`): a name typed by a
    merchant or sent by a platform must not move a terminal's cursor or recolour it."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def check_name(field: str, raw: str) -> str:
    """A name for something merchants address by name: trimmed, 1 to 200 characters, no
    control characters, and not all digits (it would be read as an id)."""
    name = raw.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(field, f"must be 1 to {MAX_NAME_LENGTH} characters")
    if _CONTROL.search(name):
        raise InvalidInput(field, "must not contain control characters")
    if name.isdigit():
        raise InvalidInput(field, f"must not be all digits: {name!r} would be read as an id")
    return name


def parse_pairs(field: str, pairs: Iterable[str], *, secret: bool = False) -> dict[str, str]:
    """`KEY=VALUE` texts as a dict; a malformed or repeated pair is refused by key (a secret
    value is never quoted)."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            shown = "" if secret else f", got {escape_controls(pair)[:60]!r}"
            raise InvalidInput(field, f"expected KEY=VALUE{shown}")
        if key in result:
            raise InvalidInput(f"{field}.{key}", "given twice")
        result[key] = value if secret else value.strip()
    return result


def check_credential_value(spec: FieldSpec, value: str) -> str:
    """A credential that can travel in an HTTP header or a signature: text without control
    characters, ASCII only. The value itself is never part of the message."""
    field = f"credentials.{spec.name}"
    if not value:
        raise InvalidInput(field, f"empty value for {spec.name}")
    if _CONTROL.search(value):
        raise InvalidInput(field, f"{spec.name} must not contain control characters "
                                  "(a line break, a tab …); the value is not shown")
    if not value.isascii():
        raise InvalidInput(field, f"{spec.name} must be ASCII (letters, digits, punctuation); "
                                  "the value is not shown")
    try:
        return str(spec.parse(value))
    except ValueError as exc:
        raise InvalidInput(field, f"{spec.name} {exc}") from None


def check_credentials(info: PlatformInfo, credentials: Mapping[str, str], *,
                      partial: bool = False) -> dict[str, str]:
    """The declared credentials, each checked; unknown names refused, and missing ones too
    unless `partial` (a reconnect gives only what changed)."""
    declared = {spec.name: spec for spec in info.credential_fields}
    wanted = ", ".join(declared)
    unknown = sorted(set(credentials) - set(declared))
    if unknown:
        raise InvalidInput("credentials",
                           f"unknown for {info.name}: {', '.join(unknown)} (expected: {wanted})")
    missing = sorted(name for name, spec in declared.items()
                     if spec.required and not credentials.get(name))
    if missing and not partial:
        raise InvalidInput("credentials",
                           f"missing for {info.name}: {', '.join(missing)} (expected: {wanted})")
    return {name: check_credential_value(declared[name], value)
            for name, value in credentials.items()}


def check_setting(info: PlatformInfo, name: str, raw: Any, *, resolve: bool = True) -> Any:
    """One setting's typed value, from the fields the platform and core declare; an URL is
    also refused when it points at a private address (unless allowed), if `resolve`."""
    declared = info.setting_specs()
    spec = declared.get(name)
    field = f"settings.{name}"
    if spec is None:
        if info.setting_fields:
            known = ", ".join(sorted(declared))
            raise InvalidInput(field, f"is not a setting of {info.name} (known: {known})")
        # A plugin that declares no settings of its own takes any text, as before.
        spec = FieldSpec(name)
    try:
        value = spec.parse(raw)
    except ValueError as exc:
        raise InvalidInput(field, f"{name} {exc}") from None
    if spec.kind is FieldKind.URL and resolve:
        try:
            value = check_public_url(value)
        except ConfigurationError as exc:
            raise InvalidInput(field, f"{name}: {exc.message}") from None
    return value


def check_settings(info: PlatformInfo, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every given setting typed and range-checked; `InvalidInput` naming the first bad one."""
    return {name: check_setting(info, name, raw) for name, raw in settings.items()}


def setting_problems(info: PlatformInfo, stored: Mapping[str, Any]) -> dict[str, str]:
    """Stored settings the declared fields refuse (saved before they were checked), by name:
    a sync reads them as their default until they are fixed or reset. Nothing is resolved."""
    problems = {}
    for name, raw in stored.items():
        try:
            check_setting(info, name, raw, resolve=False)
        except InvalidInput as exc:
            problems[name] = exc.detail
    return problems
