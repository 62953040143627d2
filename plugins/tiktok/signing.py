"""TikTok Shop request and webhook signatures, shared by the client and the fake.

The request signature follows TikTok's "sign your API request" guide: every query parameter
except `sign` and `access_token`, sorted by key and concatenated as key+value, after the path;
then the exact body bytes unless the request is multipart; the whole wrapped in the app secret
and HMAC-SHA256'd with it, as lowercase hex. A webhook's `Authorization` header is the hex
HMAC-SHA256 of app_key + raw body with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

EXCLUDED_PARAMS = frozenset({"sign", "access_token"})


def _is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "multipart/form-data"


def string_to_sign(
    path: str, query: Mapping[str, str], body: bytes = b"", content_type: str | None = None
) -> bytes:
    """The wrapped-in-secret string before HMAC, without the secret (for tests and logs)."""
    params = "".join(f"{key}{query[key]}" for key in sorted(query) if key not in EXCLUDED_PARAMS)
    payload = path.encode("utf-8") + params.encode("utf-8")
    if body and not _is_multipart(content_type):
        payload += body
    return payload


def sign_request(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes = b"",
    content_type: str | None = None,
) -> str:
    """The `sign` query parameter for a request."""
    secret = app_secret.encode("utf-8")
    message = secret + string_to_sign(path, query, body, content_type) + secret
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign_webhook(app_key: str, app_secret: str, body: bytes) -> str:
    """The `Authorization` header TikTok puts on a webhook delivery."""
    return hmac.new(
        app_secret.encode("utf-8"), app_key.encode("utf-8") + body, hashlib.sha256
    ).hexdigest()


def signatures_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two hex signatures (`given` may be missing)."""
    if not given:
        return False
    return hmac.compare_digest(
        expected.encode("ascii"), given.strip().lower().encode("ascii", "replace")
    )
