"""`core/services/fields.py` and `FieldSpec`: typed, range-checked input with field-level
errors that name the field, never a CLI flag, and never quote a secret. Pure tables."""

from __future__ import annotations

from typing import Any

import pytest

from shelfsync.core.errors import InvalidInput
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.services.fields import (
    MAX_ID,
    check_credentials,
    check_name,
    check_settings,
    escape_controls,
    parse_id,
    parse_int,
    parse_pairs,
    setting_problems,
)
from shelfsync.core.types import Capabilities, FieldKind, FieldSpec, PlatformInfo, Role

TIMEOUT = FieldSpec("timeout", kind=FieldKind.FLOAT, default=30.0, minimum=1, maximum=300)
PAGE = FieldSpec("page_size", kind=FieldKind.INT, default=100, minimum=1, maximum=100)
MODE = FieldSpec("mode", kind=FieldKind.CHOICE, choices=("fast", "safe"))
INFO = PlatformInfo(
    name="toy", title="Toy", role=Role.STORE, capabilities=Capabilities(),
    credential_fields=(FieldSpec("token", secret=True, required=True),
                       FieldSpec("key", required=True), FieldSpec("extra")),
    setting_fields=(PAGE, MODE, FieldSpec("hook", kind=FieldKind.URL),
                    FieldSpec("dry", kind=FieldKind.BOOL)),
)


@pytest.mark.parametrize("raw", ["0", "-1", str(MAX_ID + 1), "9" * 40, "1.0", "1e3", "٣", "",
                                 " ", "0x10", "+1"])
def test_an_id_is_ascii_digits_within_64_bits(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_id("channel", raw)
    assert caught.value.field == "channel" and "must be an id" in caught.value.detail


def test_ids_within_range_are_read() -> None:
    assert parse_id("channel", " 42 ") == 42 and parse_id("channel", str(MAX_ID)) == MAX_ID


@pytest.mark.parametrize(("raw", "expected"), [("5", 5), ("-3", -3), (" 7 ", 7)])
def test_whole_numbers(raw: str, expected: int) -> None:
    assert parse_int("percent", raw, -10, 10) == expected


@pytest.mark.parametrize("raw", ["٥", "5.0", "five", "1e2", "11", "-11", "1_0", ""])
def test_whole_numbers_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match=r"^percent: "):
        parse_int("percent", raw, -10, 10)


@pytest.mark.parametrize(("spec", "raw", "expected"), [
    (TIMEOUT, "2.5", 2.5), (TIMEOUT, 10, 10), (TIMEOUT, "300", 300.0),
    (PAGE, "100", 100), (PAGE, 1, 1), (MODE, "safe", "safe"),
    (FieldSpec("on", kind=FieldKind.BOOL), "off", False),
    (FieldSpec("u", kind=FieldKind.URL), " https://h.example/x ", "https://h.example/x"),
])
def test_field_spec_parses_typed_values(spec: FieldSpec, raw: Any, expected: Any) -> None:
    assert spec.parse(raw) == expected


@pytest.mark.parametrize(("spec", "raw"), [
    (TIMEOUT, "nan"), (TIMEOUT, float("nan")), (TIMEOUT, float("inf")), (TIMEOUT, "1e300"),
    (TIMEOUT, 1e300), (TIMEOUT, "-1"), (TIMEOUT, "0.5"), (TIMEOUT, True), (TIMEOUT, "٣"),
    (PAGE, "abc"), (PAGE, 101), (PAGE, 0), (PAGE, 2.0), (PAGE, 10**400), (MODE, "turbo"),
    (FieldSpec("u", kind=FieldKind.URL), "ftp://h"), (FieldSpec("s"), "a\nb"),
    (FieldSpec("s"), "x" * 2001), (FieldSpec("on", kind=FieldKind.BOOL), "maybe"),
])
def test_field_spec_refuses_what_would_break_a_sync(spec: FieldSpec, raw: Any) -> None:
    with pytest.raises(ValueError):
        spec.parse(raw)


def test_a_bad_stored_value_reads_as_the_default() -> None:
    assert TIMEOUT.read({"timeout": "abc"}) == 30.0
    assert TIMEOUT.read({"timeout": 1e300}) == 30.0
    assert TIMEOUT.read({}) == 30.0 and TIMEOUT.read({"timeout": "12"}) == 12.0


def test_a_secret_is_never_quoted() -> None:
    spec = FieldSpec("token", kind=FieldKind.INT, secret=True)
    with pytest.raises(ValueError) as caught:
        spec.parse("hunter2")
    assert "hunter2" not in str(caught.value)


def test_old_plugins_declaring_names_get_required_secret_text_fields() -> None:
    info = PlatformInfo(name="old", title="Old", role=Role.CHANNEL, capabilities=Capabilities(),
                        credential_fields=("token", "secret"))  # type: ignore[arg-type]
    assert info.credential_names == ("token", "secret")
    assert all(f.secret and f.required and f.kind is FieldKind.STR
               for f in info.credential_fields)
    # It declares no settings: any text is taken for its own, core's are still typed.
    assert check_settings(info, {"whatever": "x"}) == {"whatever": "x"}
    with pytest.raises(InvalidInput, match=r"^settings\.timeout: "):
        check_settings(info, {"timeout": "abc"})


@pytest.mark.parametrize(("value", "reason"), [
    ("to\nken", "control characters"), ("tok\ren", "control characters"),
    ("tok\x00", "control characters"), ("tökén", "ASCII"),
])
def test_credentials_that_cannot_travel_in_a_header_are_refused_unquoted(
    value: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_credentials(INFO, {"token": value, "key": "k"})
    assert caught.value.field == "credentials.token" and reason in caught.value.detail
    assert value not in str(caught.value)


def test_credentials_unknown_missing_and_partial() -> None:
    with pytest.raises(InvalidInput, match="unknown for toy: password"):
        check_credentials(INFO, {"token": "t", "key": "k", "password": "p"})
    with pytest.raises(InvalidInput, match="missing for toy: key"):
        check_credentials(INFO, {"token": "t"})
    with pytest.raises(InvalidInput, match="missing for toy: token"):
        check_credentials(INFO, {"token": "", "key": "k"})
    with pytest.raises(InvalidInput, match="empty value for token"):
        check_credentials(INFO, {"token": ""}, partial=True)
    assert check_credentials(INFO, {"token": "t"}, partial=True) == {"token": "t"}
    assert check_credentials(INFO, {"token": "t", "key": "k"}) == {"token": "t", "key": "k"}


def test_settings_are_typed_and_unknown_ones_refused() -> None:
    assert check_settings(INFO, {"page_size": "50", "timeout": "5", "dry": "on"}) == {
        "page_size": 50, "timeout": 5.0, "dry": True}
    with pytest.raises(InvalidInput) as caught:
        check_settings(INFO, {"timout": "5"})
    assert caught.value.field == "settings.timout" and "not a setting of toy" in str(caught.value)
    with pytest.raises(InvalidInput, match=r"^settings\.retry_max_backoff: .*at most 600"):
        check_settings(INFO, {"retry_max_backoff": "100000"})


def test_an_url_setting_is_refused_when_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHELFSYNC_ALLOW_PRIVATE_URLS", raising=False)
    with pytest.raises(InvalidInput, match="non-public"):
        check_settings(INFO, {"hook": "http://127.0.0.1:9/x"})


def test_setting_problems_lists_stored_values_the_fields_refuse() -> None:
    stored = {"page_size": "abc", "timeout": 1e300, "mode": "safe", "retry_attempts": 3}
    problems = setting_problems(INFO, stored)
    assert set(problems) == {"page_size", "timeout"}


@pytest.mark.parametrize("name", ["42", "٣٣", "", " ", "a\nb", "x\x1b[2J", "n" * 201])
def test_names_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"^name: "):
        check_name("name", name)


def test_pairs_refuse_repeats_and_never_quote_a_secret() -> None:
    assert parse_pairs("settings", ["a=1", " b = 2 "]) == {"a": "1", "b": "2"}
    with pytest.raises(InvalidInput) as caught:
        parse_pairs("credentials", ["token=x", "token=y"], secret=True)
    assert caught.value.field == "credentials.token"
    with pytest.raises(InvalidInput) as caught:
        parse_pairs("credentials", ["hunter2"], secret=True)
    assert "hunter2" not in str(caught.value)


def test_escape_controls_keeps_text_and_escapes_terminal_codes() -> None:
    assert escape_controls("Café\x1b[31m\n") == "Café\\x1b[31m\\n"


@pytest.mark.parametrize(("platform", "field", "good", "bad"), [
    ("shopify", "api_version", "2025-04", "../../admin/oauth"),
    ("shopify", "api_version", "unstable", "2025-04/../x"),
    ("tiktok", "product_search_version", "202309", "202309?x=1"),
])
def test_text_that_goes_into_a_request_path_must_match_its_pattern(
        platform: str, field: str, good: str, bad: str) -> None:
    """An API version is put into the request path: only the declared shape passes, so a
    stored value can never steer the request to another path."""
    spec = get_plugin_manager().platform(platform).setting_specs()[field]
    assert spec.parse(good) == good
    with pytest.raises(ValueError, match="must look like"):
        spec.parse(bad)
    assert spec.read({field: bad}) == spec.default  # a bad stored value reads as the default
