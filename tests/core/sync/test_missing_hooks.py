"""A channel whose plugin lacks a required hook: a clear configuration error for that
channel's SKUs, never retried, and nothing lost."""

from __future__ import annotations

from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.sync.inventory import reconcile_organization, sync_skus
from shelfsync.core.types import PlatformInfo
from shelfsync.plugins.tiktok import plugin as tiktok

from .conftest import World


class ListingsOnly:
    """A TikTok plugin that can read listings but was built without `push_inventory`."""

    @hookimpl
    def shelfsync_platform_info(self) -> PlatformInfo:
        return tiktok.INFO

    @hookimpl
    def shelfsync_fetch_listings(self, connection):  # type: ignore[no-untyped-def]
        return tiktok.shelfsync_fetch_listings(connection=connection)


def test_a_channel_plugin_without_push_fails_its_skus_and_nothing_retries(
        world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    world.pm.unregister(name="tiktok")
    world.pm.register(ListingsOnly(), name="tiktok-lite")
    sku = world.plain_sku()
    shown_before = world.shown(0)[sku]
    world.bump(sku, 3)
    world.reset_counts()

    report = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()

    failed = [item for item in report.items if item.outcome == "failed"]
    assert len(failed) == 2 and {item.error_code for item in failed} == {"hook_not_implemented"}
    assert all("shelfsync_push_inventory" in (item.error_message or "") for item in failed)
    assert not report.retry_skus  # a configuration error: never tried again by the engine
    assert world.update_calls() == 0 and world.shown(0)[sku] == shown_before
    assert world.pm.missing_hooks("tiktok") == ["shelfsync_check_connection",
                                                "shelfsync_push_inventory",
                                                "shelfsync_fetch_orders",
                                                "shelfsync_verify_webhook"]
