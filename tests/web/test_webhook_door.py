"""Issue 10, items 6 and 10, and the enumeration rule: what a stranger can learn or break at
the receiver's door. The chunked-body tests go through a real HTTP server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.crypto import generate_key
from shelfsync.core.db import session_scope
from shelfsync.core.models import StoreConnection
from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.fake_webhooks import sign

from .conftest import NOT_ACCEPTED, Receiver

MIB = 1024 * 1024


def refusal(receiver: Receiver, case: str) -> tuple[str, dict[str, str], bytes]:
    """(path, headers, body) of one way to be refused."""
    headers, body = receiver.sample("store", {})
    store_path = f"/webhooks/shopify/{receiver.org.store_id}"
    if case == "unknown connection":
        return "/webhooks/shopify/987654", headers, body
    if case == "unknown platform":
        return f"/webhooks/nosuch/{receiver.org.store_id}", headers, body
    if case == "other platform":
        return f"/webhooks/tiktok/{receiver.org.store_id + 1000}", headers, body
    if case == "channel id as store":
        return f"/webhooks/shopify/{max(receiver.org.channel_ids)}", headers, body
    if case == "bad signature":
        return store_path, dict(headers, **{"X-Shopify-Hmac-Sha256": "AAAA"}), body
    if case == "no secret":
        with session_scope() as session:
            row = session.get(StoreConnection, receiver.org.store_id)
            assert row is not None
            row.set_credentials({"access_token": row.credentials()["access_token"]})
        return store_path, headers, body
    raise AssertionError(case)


CASES = ["unknown connection", "unknown platform", "other platform", "channel id as store",
         "bad signature", "no secret"]


@pytest.mark.parametrize("case", CASES)
def test_every_refusal_looks_the_same_to_a_stranger(receiver: Receiver, case: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Same status, same body, same headers' shape: only the server log says which."""
    path, headers, body = refusal(receiver, case)
    caplog.set_level(logging.WARNING, logger="shelfsync.web")
    response = receiver.client.post(path, headers=headers, data=body)
    assert response.status_code == 401 and response.json == NOT_ACCEPTED
    assert response.headers["Content-Type"] == "application/json"
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert receiver.receipts() == [] and receiver.enqueued() == []


@pytest.mark.parametrize("ident", [
    "9" * 30, str(2**64), str(2**63), str(2**63 - 1), str(2**40), str(2**31),
    str(2**31 - 1), "0", "-1",
    "12abc", "\u0661\u0662", "1" * 200,
])
def test_an_id_that_cannot_name_a_connection_is_an_unknown_connection(
    receiver: Receiver, ident: str, caplog: pytest.LogCaptureFixture,
) -> None:
    headers, body = receiver.sample("store", {})
    for platform in ("shopify", "tiktok"):
        response = receiver.client.post(f"/webhooks/{platform}/{ident}", headers=headers,
                                        data=body)
        assert response.status_code == 401 and response.json == NOT_ACCEPTED
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert receiver.receipts() == []


@pytest.fixture
def served(receiver: Receiver) -> Iterator[str]:
    """The receiver's app behind a real HTTP server (werkzeug, as in production behind one)."""
    with serving(receiver.client.application) as running:
        yield f"{running.base_url}/webhooks/shopify/{receiver.org.store_id}"


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


def signed_headers(receiver: Receiver, body: bytes) -> dict[str, str]:
    headers, _ = receiver.sample("store", {})
    return dict(headers, **{"X-Shopify-Hmac-Sha256": sign(receiver.fakes.store.client_secret,
                                                          body)})


def big_body(size: int) -> bytes:
    """A JSON object whose first MiB alone would also be a signed-looking prefix."""
    return b'{"pad":"' + b"a" * (size - 10) + b'"}'


@pytest.mark.parametrize("size", [MIB + 1, 2 * MIB])
def test_a_chunked_body_over_the_limit_is_413(receiver: Receiver, served: str,
                                              size: int) -> None:
    body = big_body(size)
    headers = {k: v for k, v in signed_headers(receiver, body).items()
               if k.lower() != "content-length"}
    response = httpx.post(served, headers=headers, content=chunks(body), timeout=30)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413
    assert receiver.receipts() == [] and receiver.enqueued() == []


def test_a_prefix_signed_body_sent_chunked_is_not_accepted(receiver: Receiver,
                                                           served: str) -> None:
    """The attack: sign the first MiB only and pad past it; the truncated prefix must not be
    what is verified."""
    _, sample = receiver.sample("store", {})
    prefix = sample + b" " * (MIB - len(sample))  # still JSON, exactly the limit
    body = prefix + b"junk that is not signed"
    headers = {k: v for k, v in signed_headers(receiver, prefix).items()
               if k.lower() != "content-length"}
    response = httpx.post(served, headers=headers, content=chunks(body), timeout=30)
    assert response.status_code == 413
    assert receiver.receipts() == [] and receiver.enqueued() == []


def test_a_declared_body_over_the_limit_is_413(receiver: Receiver, served: str) -> None:
    body = big_body(MIB + 1)
    response = httpx.post(served, headers=signed_headers(receiver, body), content=body,
                          timeout=30)
    assert response.status_code == 413 and receiver.receipts() == []


def test_a_chunked_body_within_the_limit_is_accepted(receiver: Receiver, served: str) -> None:
    headers, body = receiver.sample("store", {})
    response = httpx.post(served, headers=headers, content=chunks(body, 16), timeout=30)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    answer: dict[str, Any] = response.json()
    assert response.status_code == 200 and answer == {"status": "accepted", "skus": 1}


def test_a_database_outage_is_503_and_one_log_line_not_a_traceback_per_delivery(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10 item 5 at the receiver: a platform retrying against a dead database gets 503
    (so it retries later), and the log gets one line, with no password, not a traceback."""
    from shelfsync.web.app import create_app

    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    app = create_app({"DATABASE_URL": "postgresql://shelfsync:hunter2@127.0.0.1:1/none",
                      "TESTING": False})
    caplog.set_level(logging.DEBUG, logger="shelfsync.web")
    client = app.test_client()
    for _ in range(5):
        response = client.post("/webhooks/shopify/1", data=b"{}",
                               headers={"X-Shopify-Hmac-Sha256": "AAAA"})
        assert response.status_code == 503
    said = [r for r in caplog.records if r.name.startswith("shelfsync.web")]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert said[0].exc_info is None and "hunter2" not in said[0].getMessage()
