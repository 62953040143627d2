"""The Magento client: Magento's error envelope becomes a typed error with the parameters put
in (and never the token), and 429/5xx stay retryable."""

from __future__ import annotations

import pytest

from shelfsync.core.errors import AuthError, BadRequest, NotFound, RateLimited
from shelfsync.plugins.magento.client import MagentoClient, criteria_params, render_message
from shelfsync.plugins.magento.fake import MagentoFake

from .recording import connection, served


def test_messages_get_their_parameters() -> None:
    assert render_message({"message": "Carrier with such method not found: %1, %2",
                           "parameters": ["ups", "ground"]}) == (
        "Carrier with such method not found: ups, ground")
    assert render_message({"message": "No such entity with %fieldName = %fieldValue",
                           "parameters": {"fieldName": "cartId", "fieldValue": "x1"}}) == (
        "No such entity with cartId = x1")
    assert render_message({"message": "%1 and %10", "parameters": list("abcdefghij")}) == (
        "a and j")
    assert render_message("not an envelope") == ""
    assert len(render_message({"message": "x" * 5000})) == 300


def test_the_envelope_becomes_typed_errors_without_the_token() -> None:
    fake = MagentoFake(products=1, variants=1)
    with served(fake) as (_, base):
        wrong = connection(fake, base)
        wrong = type(wrong)(platform="magento", base_url=base,
                            credentials={"access_token": "s3cret-token"},
                            settings=wrong.settings)
        with MagentoClient(wrong) as client, pytest.raises(AuthError) as refused:
            client.call("GET", "store/storeConfigs")
        assert "Magento_Backend::store" in str(refused.value)
        assert "s3cret" not in str(refused.value)
        with MagentoClient(connection(fake, base, retry_attempts=1)) as client:
            with pytest.raises(NotFound, match="doesn't exist"):
                client.call("GET", "stockItems/NOPE")
            with pytest.raises(BadRequest, match="Maximum SearchCriteria pageSize is 300"):
                fake.input_limits = True
                client.call("GET", "products", params=criteria_params([], [], 301, 1))
            fake.inject_fault("429", count=5)
            with pytest.raises(RateLimited):
                client.call("GET", "store/storeConfigs")
