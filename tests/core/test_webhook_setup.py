"""The receiver URL given to `webhooks subscribe`: refused clearly when no platform could
call it, normalised when it is fine."""

from __future__ import annotations

import pytest

from shelfsync.core.errors import InvalidInput
from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.webhook_setup import check_receiver_url, receiver_address


@pytest.fixture(autouse=True)
def public_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.com", "https://"),
    ("http://example.com", "https://"),
    ("https://example.com:99999", "port 99999 is out of range"),
    ("https://10.0.0.5/", "10.0.0.5 is not a public address"),
    ("https://127.0.0.1:8000", "127.0.0.1 is not a public address"),
    ("https://[::1]/", "::1 is not a public address"),
    ("https://u:p@example.com", "no user name"),
    ("https://example.com/?a=1", "no user name, password, query"),
])
def test_unusable_urls_are_refused_by_name(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=r"^public_url: ") as raised:
        check_receiver_url(url)
    assert message in str(raised.value)


def test_a_good_url_is_normalised() -> None:
    assert check_receiver_url(" HTTPS://Shelfsync.Example.com:443/base/ ") == \
        "https://shelfsync.example.com/base"
    assert receiver_address("https://shelfsync.example.com/base", "shopify", 3) == \
        "https://shelfsync.example.com/base/webhooks/shopify/3"


def test_private_addresses_and_http_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    assert check_receiver_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
