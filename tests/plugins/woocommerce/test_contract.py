"""The WooCommerce plugin passes the plugin contract against its own fake."""

from __future__ import annotations

from typing import Any, ClassVar

from shelfsync.core.testing.kit import PluginContract


class TestWooCommerceContract(PluginContract):
    """Variable products (three variations each): stock per variation, by the parent, or
    not managed."""

    platform = "woocommerce"
    fake_options: ClassVar[dict[str, Any]] = {"products": 30, "variants": 3, "seed": 0}
    page_size = 7
    signature_header = "X-WC-Webhook-Signature"


class TestWooCommerceSimpleProductsContract(TestWooCommerceContract):
    """Simple products only (one variant each), over more pages."""

    fake_options: ClassVar[dict[str, Any]] = {"products": 45, "variants": 1, "seed": 3}
    page_size = 20
