"""The TikTok plugin certified against its fake by the shared contract kit."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from shelfsync.core.testing.kit import PluginContract


class TestTikTokContract(PluginContract):
    """Every contract check, with TikTok's own throttling (per-shop QPS) switched on.

    One variant per product: TikTok's `page_size` counts products, not SKUs, while the kit's
    pagination check counts the items read per page, so with several SKUs per product it
    would expect more requests than a correct client makes.
    """

    platform = "tiktok"
    fake_options: ClassVar[dict[str, Any]] = {"products": 45, "variants": 1, "seed": 0,
                                               "orders": 2}
    throttle_options: ClassVar[dict[str, Any] | None] = {"qps": 2}
    signature_header: ClassVar[str | None] = "Authorization"

    @pytest.fixture(autouse=True)
    def _only_this_plugin(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Certify this plugin alone, whatever state other installed plugins are in."""
        monkeypatch.setenv("SHELFSYNC_PLUGINS", "tiktok")
