"""core/http.py: secrets kept out of httpx's log lines, the SSRF guard, retry settings."""

from __future__ import annotations

import logging
import ssl
from typing import Any

import pytest
from werkzeug.wrappers import Response

from shelfsync.core.errors import BadRequest, ConfigurationError
from shelfsync.core.http import (
    ALLOW_PRIVATE_ENV,
    LOG_REQUESTS_ENV,
    RetryPolicy,
    call_with_retries,
    check_public_url,
    make_client,
    quiet_request_log,
    redact_url,
    shared_ssl_context,
)
from shelfsync.core.testing.server import serving
from shelfsync.core.types import Connection


def _ok(environ: dict[str, Any], start_response: Any) -> Any:
    return Response("{}", mimetype="application/json")(environ, start_response)


def test_httpx_request_log_line_hides_secret_query_values(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")  # the server is on loopback
    # Only our redaction: another library in the process (the tiktok-shop-api SDK the tests
    # use) adds its own filter to the same logger, which would hide a failure of ours.
    httpx_logger = logging.getLogger("httpx")
    monkeypatch.setattr(httpx_logger, "filters", [
        f for f in httpx_logger.filters if type(f).__module__.startswith("shelfsync.")])
    caplog.set_level(logging.INFO, logger="httpx")
    with serving(_ok) as running, make_client(Connection("x", running.base_url, {})) as client:
        client.get("/api/v2/token/refresh", params={
            "app_key": "key-1", "app_secret": "S3CRET-value", "refresh_token": "RT-value",
            "grant_type": "refresh_token",
        })
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "httpx")
    assert "HTTP Request" in logged and "grant_type=refresh_token" in logged
    assert "S3CRET-value" not in logged and "RT-value" not in logged
    assert "app_secret=REDACTED" in logged


@pytest.mark.parametrize(("asked", "level"), [(None, logging.WARNING), ("0", logging.WARNING),
                                              ("1", logging.NOTSET), ("yes", logging.NOTSET)])
def test_request_lines_stay_out_of_a_workers_log_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, asked: str | None, level: int,
) -> None:
    httpx_logger = logging.getLogger("httpx")
    saved = httpx_logger.level
    if asked is None:
        monkeypatch.delenv(LOG_REQUESTS_ENV, raising=False)
    else:
        monkeypatch.setenv(LOG_REQUESTS_ENV, asked)
    try:
        httpx_logger.setLevel(logging.NOTSET)
        quiet_request_log()
        assert httpx_logger.level == level
        assert httpx_logger.isEnabledFor(logging.WARNING)  # failures are never hidden
    finally:
        httpx_logger.setLevel(saved)  # setLevel also clears the loggers' cached answers


def test_redact_url_hides_password_and_keeps_the_rest() -> None:
    text = redact_url("https://user:pw123@example.com/p?sign=abc&page=2")
    assert "pw123" not in text and "abc" not in text
    assert text.startswith("https://user:REDACTED@example.com/p?") and "page=2" in text


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/",
    "http://[::ffff:127.0.0.1]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 form of 10.0.0.1
    "http://[2002:a00:1::]/",  # 6to4 form of 10.0.0.1
])
def test_private_addresses_are_refused(guarded: None, url: str) -> None:
    with pytest.raises(ConfigurationError, match="non-public"):
        check_public_url(url)


@pytest.mark.parametrize("url", [
    "http://example.com:99999/",
    "http://example.com:abc/",
    "ftp://example.com/",
    "http:///path-only",
    "not a url",
])
def test_malformed_urls_are_a_configuration_error(guarded: None, url: str) -> None:
    with pytest.raises(ConfigurationError, match="not an http"):
        check_public_url(url)


def test_url_with_credentials_is_refused_even_when_private_urls_are_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with pytest.raises(ConfigurationError, match="user name or password") as caught:
        check_public_url("http://admin:hunter2@127.0.0.1:8080")
    assert "hunter2" not in str(caught.value)
    assert check_public_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


@pytest.mark.parametrize("settings", [
    {"retry_attempts": "many"},
    {"retry_attempts": 0},
    {"retry_backoff": "nan"},
    {"retry_backoff": -1},
    {"retry_max_backoff": "inf"},
    {"retry_attempts": True},
    {"retry_max_backoff": "1e300"},
    {"retry_max_backoff": 10**400},
])
def test_unusable_retry_settings_read_as_the_defaults(settings: dict[str, Any]) -> None:
    """A stored value out of type or range (one that would park a worker for ever) must not
    stop every call either: the declared default is used."""
    assert RetryPolicy.for_connection(Connection("x", "http://h", {}, settings)) == RetryPolicy()


def test_retry_settings_given_as_text_are_read() -> None:
    policy = RetryPolicy.for_connection(Connection("x", "http://h", {}, {
        "retry_attempts": "3", "retry_backoff": "0.01", "retry_max_backoff": "2"}))
    assert policy == RetryPolicy(attempts=3, backoff=0.01, max_backoff=2.0)


def test_clients_share_one_verifying_tls_context() -> None:
    context = shared_ssl_context()
    assert context is shared_ssl_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize("value", ["tok\nSECRET-VALUE", "tok\rSECRET-VALUE", "tökSECRET-VALUE"])
def test_a_header_httpx_cannot_send_fails_once_without_its_value(
    value: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx quotes the header ("Illegal header value b'…'"): the error and the log must not,
    and a request that can never be sent is not retried."""
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    caplog.set_level(logging.DEBUG)
    calls = []

    def send() -> Any:
        calls.append(1)
        with make_client(Connection("x", running.base_url, {}),
                         headers={"X-Token": value}) as client:
            return client.get("/")

    with serving(_ok) as running, pytest.raises(BadRequest) as caught:
        call_with_retries(send, RetryPolicy(attempts=3, backoff=0), platform="x")
    assert caught.value.code == "unsendable_header" and not caught.value.retryable
    assert "SECRET-VALUE" not in str(caught.value) and len(calls) == 1
    assert caught.value.__suppress_context__
    assert not any("SECRET-VALUE" in record.getMessage() for record in caplog.records)
