"""Credentials encrypted at rest with Fernet, keyed from `SHELFSYNC_SECRET_KEY`.

The variable holds one Fernet key, or several separated by commas for rotation: the first key
encrypts, every key decrypts (MultiFernet), so an operator can put a new key in front, run
`rotate_credentials` over the stored tokens, then drop the old key. Keys and plaintext never
appear in an error message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shelfsync.core.errors import ConfigurationError, InvalidInput

SECRET_KEY_ENV = "SHELFSYNC_SECRET_KEY"

MAKE_KEY_HINT = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def generate_key() -> str:
    """A new random Fernet key, as text fit for `SHELFSYNC_SECRET_KEY`."""
    return Fernet.generate_key().decode("ascii")


def load_keys(secret_key: str | None = None) -> MultiFernet:
    """The MultiFernet of `secret_key`, or of `SHELFSYNC_SECRET_KEY` when not given."""
    raw = secret_key if secret_key is not None else os.environ.get(SECRET_KEY_ENV, "")
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise ConfigurationError(
            f"{SECRET_KEY_ENV} is not set: Shelfsync needs it to encrypt store and channel "
            f"credentials; {MAKE_KEY_HINT}",
            code="secret_key_missing",
        )
    fernets = []
    for position, part in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(part))
        except (ValueError, TypeError):
            which = f"key {position} of {len(parts)}" if len(parts) > 1 else "its value"
            raise ConfigurationError(
                f"{SECRET_KEY_ENV} is invalid ({which} is not a Fernet key: 32 url-safe "
                f"base64-encoded bytes); {MAKE_KEY_HINT}",
                code="secret_key_invalid",
            ) from None
    return MultiFernet(fernets)


def encrypt_credentials(credentials: Mapping[str, Any], secret_key: str | None = None) -> str:
    """Encrypt a credentials mapping into a token (text) with the first configured key."""
    if not isinstance(credentials, Mapping):
        raise InvalidInput("credentials", f"expected a mapping, got {type(credentials).__name__}")
    try:
        plaintext = json.dumps(dict(credentials), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        raise InvalidInput("credentials", "values must be JSON-serializable") from None
    return load_keys(secret_key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_credentials(token: str, secret_key: str | None = None) -> dict[str, Any]:
    """Decrypt a token made by `encrypt_credentials` with any of the configured keys."""
    keys = load_keys(secret_key)
    try:
        plaintext = keys.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError, AttributeError):
        raise ConfigurationError(
            f"stored credentials cannot be decrypted with {SECRET_KEY_ENV}: the key that "
            "encrypted them is not among the configured keys (keep the old key after the new "
            "one until every token is rotated), or the stored token is corrupt",
            code="credentials_undecryptable",
        ) from None
    try:
        value = json.loads(plaintext)
    except ValueError:  # decrypts, so the key is right, but another program wrote it
        raise ConfigurationError(
            "stored credentials decrypt but are not a JSON mapping", code="credentials_bad"
        ) from None
    if not isinstance(value, dict):
        raise ConfigurationError("stored credentials are not a mapping", code="credentials_bad")
    return value


def rotate_credentials(token: str, secret_key: str | None = None) -> str:
    """Re-encrypt a token with the first configured key (it must decrypt with one of them)."""
    keys = load_keys(secret_key)
    try:
        return keys.rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError, AttributeError):
        raise ConfigurationError(
            f"stored credentials cannot be rotated: no key in {SECRET_KEY_ENV} decrypts them",
            code="credentials_undecryptable",
        ) from None
