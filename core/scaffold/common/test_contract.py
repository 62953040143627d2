"""The acme plugin certified against its own fake by Shelfsync's contract kit."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from shelfsync.core.testing.kit import PluginContract


class TestAcmeContract(PluginContract):
    platform = "acme"
    fake_options: ClassVar[dict[str, Any]] = {"products": 12, "variants": 2, "seed": 0}
    page_size = 5
    # Options that make the fake's own throttle refuse requests (the check needs one refused).
    throttle_options: ClassVar[dict[str, Any] | None] = {"throttle_every": 4}
    signature_header = "X-Acme-Signature"

    @pytest.fixture(autouse=True)
    def _only_this_plugin(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Certify this plugin alone, whatever other plugins are installed."""
        monkeypatch.setenv("SHELFSYNC_PLUGINS", "acme")
