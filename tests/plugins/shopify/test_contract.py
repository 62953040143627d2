"""The Shopify plugin passes the plugin contract against its own fake."""

from __future__ import annotations

from typing import Any, ClassVar

from shelfsync.core.testing.kit import PluginContract


class TestShopifyContract(PluginContract):
    platform = "shopify"
    # A fast-restoring bucket keeps the suite quick; pacing has its own tests.
    fake_options: ClassVar[dict[str, Any]] = {"products": 30, "variants": 3, "seed": 0,
                                              "locations": 3, "restore_rate": 20000.0}
    page_size = 20
    # A bucket smaller than one default page: the first page is throttled, the client learns
    # the bucket, shrinks its pages to fit and paces the rest.
    throttle_options: ClassVar[dict[str, Any] | None] = {"bucket_size": 150,
                                                        "restore_rate": 3000.0}
