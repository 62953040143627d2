"""The WooCommerce plugin declares itself as a store without locations, with the credential
and setting fields the connect forms and the poll scheduler read."""

from __future__ import annotations

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import ContinueSelling, Role


def test_platform_info(plugin_manager: ShelfsyncPluginManager) -> None:
    info = plugin_manager.platform("woocommerce")
    assert info.role is Role.STORE and info.title == "WooCommerce"
    assert not info.capabilities.has_locations
    assert info.capabilities.continue_selling is ContinueSelling.FLAG
    assert info.credential_names == ("consumer_key", "consumer_secret", "webhook_secret")
    assert all(field.secret and field.required for field in info.credential_fields)
    specs = info.setting_specs()
    assert specs["poll_seconds"].default == 60
    assert specs["query_string_auth"].default is False
    assert specs["page_size"].maximum == 100
    assert plugin_manager.missing_hooks("woocommerce") == []


def test_the_one_location_needs_no_call(plugin_manager: ShelfsyncPluginManager) -> None:
    from shelfsync.core.types import Connection

    conn = Connection(platform="woocommerce", base_url="https://shop.example.com",
                      credentials={"consumer_key": "k", "consumer_secret": "s"})
    locations = plugin_manager.call(conn, "shelfsync_fetch_locations")
    assert [(loc.id, loc.active, loc.is_default) for loc in locations] == \
        [("default", True, True)]
