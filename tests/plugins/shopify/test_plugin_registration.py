"""The Shopify plugin registers like any third-party plugin: entry point, info, fake, CLI."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from shelfsync.core.cli import build_cli
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import BackorderPolicy, ContinueSelling, Role
from shelfsync.plugins.shopify.fake import ShopifyFake


def test_platform_info(plugin_manager: ShelfsyncPluginManager) -> None:
    info = plugin_manager.platform("shopify")
    assert info.role == Role.STORE
    assert info.capabilities.has_locations
    assert info.capabilities.continue_selling == ContinueSelling.FLAG
    assert info.credential_names == ("access_token", "client_secret")


def test_fake_factory_offers_the_shopify_fake(plugin_manager: ShelfsyncPluginManager) -> None:
    factories = dict(plugin_manager.hook.shelfsync_fake_factory())
    assert factories["shopify"] is ShopifyFake


def test_fake_command_is_added_under_fake() -> None:
    result = CliRunner().invoke(build_cli(), ["fake", "shopify", "--help"])
    assert result.exit_code == 0, result.output
    assert "shopify" in result.output.lower()


def test_loading_the_plugin_does_not_import_the_fake() -> None:
    code = ("import sys, shelfsync.plugins.shopify.plugin; "
            "print(any(m.startswith('shelfsync.plugins.shopify.fake') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_untracked_counts_as_continue_selling() -> None:
    # The mapping rule on its own, for the record: an untracked item always sells.
    from shelfsync.plugins.shopify.mapping import VariantStock, backorder_policy

    variant = VariantStock(variant_id="v", sku="A", continue_selling=False,
                           inventory_item_id="i", tracked=False, levels=[],
                           more_levels_after=None)
    assert backorder_policy(variant) == BackorderPolicy(sku="A", continue_selling=True,
                                                        tracked=False)
