"""TikTok request and webhook signatures, pinned to TikTok's official examples.

The expected values are TikTok's own (sign-your-api-request and webhooks-overview pages) or
computed here independently with `hmac` from the documented recipe, so a change in
signing.py that drifts from the documentation fails here first.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from shelfsync.plugins.tiktok.signing import (
    sign_request,
    sign_webhook,
    signatures_match,
    string_to_sign,
)

OFFICIAL_SECRET = "e59af819cc"
OFFICIAL_PATH = "/authorization/202309/shops"
OFFICIAL_QUERY = {"app_key": "29a39d", "timestamp": "1623812664"}
OFFICIAL_SIGN = "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"

WEBHOOK_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)
WEBHOOK_SIGN = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"


def reference_sign(secret: str, base: bytes) -> str:
    """The documented recipe, written out independently of signing.py."""
    key = secret.encode()
    return hmac.new(key, key + base + key, hashlib.sha256).hexdigest()


def test_official_request_example() -> None:
    assert sign_request(OFFICIAL_SECRET, OFFICIAL_PATH, OFFICIAL_QUERY) == OFFICIAL_SIGN


def test_official_request_string_to_sign() -> None:
    assert string_to_sign(OFFICIAL_PATH, OFFICIAL_QUERY) == (
        b"/authorization/202309/shopsapp_key29a39dtimestamp1623812664"
    )


def test_official_body_example_base_string() -> None:
    body = b'{"address":"https://partner.tiktokshop.com","event_type":"PACKAGE_UPDATE"}'
    query = {
        "timestamp": "1696909648",
        "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
        "app_key": "68xu9ks5p4i8",
    }
    base = string_to_sign("/event/202309/webhooks", query, body, "application/json")
    assert base == (
        b"/event/202309/webhooksapp_key68xu9ks5p4i8shop_cipherROW_xkMbgAAAeVAQra0eZWebFQq5aIK"
        b'timestamp1696909648{"address":"https://partner.tiktokshop.com",'
        b'"event_type":"PACKAGE_UPDATE"}'
    )
    assert sign_request("s3cret", "/event/202309/webhooks", query, body) == reference_sign(
        "s3cret", base
    )


def test_official_webhook_example() -> None:
    assert sign_webhook("abcdef", "123", WEBHOOK_BODY) == WEBHOOK_SIGN
    assert signatures_match(WEBHOOK_SIGN, WEBHOOK_SIGN)
    assert signatures_match(WEBHOOK_SIGN, WEBHOOK_SIGN.upper())


def test_webhook_signature_mismatches() -> None:
    assert not signatures_match(WEBHOOK_SIGN, None)
    assert not signatures_match(WEBHOOK_SIGN, "")
    assert not signatures_match(WEBHOOK_SIGN, WEBHOOK_SIGN[:-1] + "0")
    assert not signatures_match(WEBHOOK_SIGN, "ünïcode")
    # One changed byte of the body, or another app's key, gives another signature.
    assert sign_webhook("abcdef", "123", WEBHOOK_BODY.replace(b"UNPAID", b"UNPAIE")) != (
        WEBHOOK_SIGN
    )
    assert sign_webhook("abcdeg", "123", WEBHOOK_BODY) != WEBHOOK_SIGN


def test_non_ascii_body_signs_the_exact_utf8_bytes() -> None:
    payload = {"seller_skus": ["Tëst-ß-日本-😀"], "note": "naïve café"}
    sent = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    escaped = json.dumps(payload, separators=(",", ":")).encode("ascii")
    query = {"app_key": "k", "timestamp": "1700000000"}
    path = "/product/202312/products/search"
    signed = sign_request("secret", path, query, sent, "application/json")
    assert signed == reference_sign("secret", path.encode() + b"app_keyktimestamp1700000000" + sent)
    # The same JSON serialized another way is other bytes, hence another signature: the
    # client must sign exactly what it sends.
    assert sign_request("secret", path, query, escaped, "application/json") != signed


def test_parameters_sort_by_plain_string_order() -> None:
    query = {
        "page_token": "b",
        "page_size": "10",
        "app_key": "k",
        "Zeta": "z",
        "a1": "one",
        "a_": "under",
        "timestamp": "1700000000",
        "a": "plain",
    }
    # Plain code-point order: upper case before lower, digits before "_", a prefix first.
    expected = (
        b"/pZetazaplaina1onea_underapp_keykpage_size10page_tokenbtimestamp1700000000"
    )
    assert string_to_sign("/p", query) == expected
    assert sign_request("s", "/p", query) == reference_sign("s", expected)


def test_access_token_and_sign_are_not_signed() -> None:
    with_extras = dict(OFFICIAL_QUERY, access_token="tok", sign="whatever")
    assert sign_request(OFFICIAL_SECRET, OFFICIAL_PATH, with_extras) == OFFICIAL_SIGN


def test_multipart_body_is_not_signed() -> None:
    body = b"--xyz\r\nContent-Disposition: form-data; name=data\r\n\r\nabc\r\n--xyz--\r\n"
    for content_type in ("multipart/form-data; boundary=xyz", "Multipart/Form-Data"):
        assert (
            sign_request(OFFICIAL_SECRET, OFFICIAL_PATH, OFFICIAL_QUERY, body, content_type)
            == OFFICIAL_SIGN
        )
    # Any other content type signs the body.
    assert sign_request(OFFICIAL_SECRET, OFFICIAL_PATH, OFFICIAL_QUERY, body, "text/plain") != (
        OFFICIAL_SIGN
    )


def test_empty_body_signs_like_no_body() -> None:
    signed = sign_request(OFFICIAL_SECRET, OFFICIAL_PATH, OFFICIAL_QUERY, b"", "application/json")
    assert signed == OFFICIAL_SIGN
