"""The Shopify plugin passes the plugin contract with its whole-store reads in bulk.

The seeded shop (300 variants) is four pages of the stock read, so the whole-store stock read
runs a bulk query operation (the fake processes it at once: start-up 0, a rate no shop
reaches) and the kit's faults land on the bulk calls as well as on the paged ones. The flags
and catalog reads fit in two pages at their page sizes and stay paged here; their bulk path
is tested in test_plugin_bulk.py.
"""

from __future__ import annotations

from typing import Any, ClassVar

from shelfsync.core.testing.kit import PluginContract


class TestShopifyBulkContract(PluginContract):
    platform = "shopify"
    fake_options: ClassVar[dict[str, Any]] = {"products": 100, "variants": 3, "seed": 0,
                                              "locations": 3, "restore_rate": 20000.0,
                                              "bulk_rate": 1e9, "bulk_startup": 0.0}
    page_size = 20
    throttle_options: ClassVar[dict[str, Any] | None] = {"bucket_size": 150,
                                                        "restore_rate": 3000.0}
