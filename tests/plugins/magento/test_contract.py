"""The Magento plugin passes the plugin contract against its own fake, with MSI and legacy."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from shelfsync.core.errors import WebhookSignatureError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import PluginContract, RunningFake


class TestMagentoContract(PluginContract):
    platform = "magento"
    fake_options: ClassVar[dict[str, Any]] = {"products": 12, "variants": 3, "seed": 0,
                                              "sources": 3}
    page_size = 20

    def test_webhook_verification(self, plugin_manager: ShelfsyncPluginManager,
                                  contract_fake: RunningFake) -> None:
        """Magento sends no webhooks: anything addressed to a Magento connection, signed or
        not, is refused (the kit's signing check does not apply)."""
        for headers in ({}, {"X-Magento-Signature": "c2hlbGZzeW5j"}):
            with pytest.raises(WebhookSignatureError):
                plugin_manager.call(contract_fake.connection, "shelfsync_verify_webhook",
                                    headers=headers, body=b'{"sku": "SKU-0-00001-01"}')


class TestMagentoLegacyContract(TestMagentoContract):
    fake_options: ClassVar[dict[str, Any]] = {"products": 12, "variants": 3, "seed": 0,
                                              "legacy": True}


class TestMagentoInputLimitsContract(TestMagentoContract):
    fake_options: ClassVar[dict[str, Any]] = {"products": 12, "variants": 3, "seed": 0,
                                              "sources": 2, "input_limits": True}
