"""Credentials at rest: Fernet round trip, key rotation, and clear errors for bad keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shelfsync.core.crypto import (
    SECRET_KEY_ENV,
    decrypt_credentials,
    encrypt_credentials,
    generate_key,
    load_keys,
    rotate_credentials,
)
from shelfsync.core.errors import ConfigurationError, InvalidInput

CREDENTIALS = {"access_token": "shpat_0123456789abcdef", "app_secret": "s3cr3t-ÄÖ"}


def test_round_trip_with_explicit_key() -> None:
    key = generate_key()
    token = encrypt_credentials(CREDENTIALS, key)
    assert decrypt_credentials(token, key) == CREDENTIALS
    assert "shpat_0123456789abcdef" not in token
    assert "s3cr3t" not in token


def test_round_trip_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_KEY_ENV, generate_key())
    assert decrypt_credentials(encrypt_credentials(CREDENTIALS)) == CREDENTIALS


def test_each_encryption_differs() -> None:
    key = generate_key()
    assert encrypt_credentials(CREDENTIALS, key) != encrypt_credentials(CREDENTIALS, key)


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = generate_key(), generate_key()
    token = encrypt_credentials(CREDENTIALS, old)
    rotating = f"{new}, {old}"
    assert decrypt_credentials(token, rotating) == CREDENTIALS
    rotated = rotate_credentials(token, rotating)
    # Once rotated, the old key can be dropped.
    assert decrypt_credentials(rotated, new) == CREDENTIALS
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        decrypt_credentials(rotated, old)
    # New tokens use the first key only.
    assert decrypt_credentials(encrypt_credentials(CREDENTIALS, rotating), new) == CREDENTIALS


def test_rotation_without_a_matching_key_is_clear() -> None:
    token = encrypt_credentials(CREDENTIALS, generate_key())
    with pytest.raises(ConfigurationError, match="no key in SHELFSYNC_SECRET_KEY"):
        rotate_credentials(token, generate_key())


def test_missing_key_names_the_variable_and_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    with pytest.raises(ConfigurationError) as caught:
        encrypt_credentials(CREDENTIALS)
    message = str(caught.value)
    assert "SHELFSYNC_SECRET_KEY is not set" in message
    assert "Fernet.generate_key().decode()" in message
    assert caught.value.code == "secret_key_missing"


@pytest.mark.parametrize("raw", [" , ", ""])
def test_blank_key_counts_as_missing(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="is not set"):
        load_keys(raw)


@pytest.mark.parametrize("bad", ["not-a-key", "c2hvcnQ=", "x" * 44])
def test_invalid_key_is_clear_and_not_echoed(bad: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        encrypt_credentials(CREDENTIALS, bad)
    message = str(caught.value)
    assert "SHELFSYNC_SECRET_KEY is invalid" in message
    assert "generate_key" in message
    assert bad not in message
    assert caught.value.code == "secret_key_invalid"


def test_invalid_second_key_is_located(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_KEY_ENV, f"{generate_key()},oops")
    with pytest.raises(ConfigurationError, match="key 2 of 2"):
        load_keys()


def test_wrong_key_or_corrupt_token_is_a_clear_error() -> None:
    token = encrypt_credentials(CREDENTIALS, generate_key())
    with pytest.raises(ConfigurationError, match="not among the configured keys"):
        decrypt_credentials(token, generate_key())
    with pytest.raises(ConfigurationError, match="corrupt"):
        decrypt_credentials("garbage", generate_key())


def test_non_mapping_or_unserializable_credentials_are_refused() -> None:
    key = generate_key()
    with pytest.raises(InvalidInput, match="credentials"):
        encrypt_credentials(["token"], key)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="JSON"):
        encrypt_credentials({"token": object()}, key)


@pytest.mark.parametrize("plaintext", [b"not json", b"\xff\xfe", b""])
def test_a_token_that_decrypts_to_something_else_is_a_clear_error(plaintext: bytes) -> None:
    """Right key, wrong content (another program's token): a typed error, not a ValueError."""
    key = generate_key()
    token = Fernet(key).encrypt(plaintext).decode("ascii")
    with pytest.raises(ConfigurationError, match="not a JSON mapping") as raised:
        decrypt_credentials(token, key)
    assert raised.value.code == "credentials_bad"
