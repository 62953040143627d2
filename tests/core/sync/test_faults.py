"""Throttling storms, 5xx, refused credentials: the engine converges and keeps what it did."""

from __future__ import annotations

import pytest
from sqlmodel import select

from shelfsync.core.models import ChannelConnection, ChannelSkuState, InventoryAudit
from shelfsync.core.sync.inventory import (
    SyncAuthError,
    channel_status,
    mark_needs_reauth,
    reconcile_organization,
    sync_skus,
)

from .conftest import UPDATE, World


def test_a_throttling_and_5xx_storm_converges(world: World) -> None:
    # Shopify: fewer faults than the client's attempts, absorbed by its retries.
    world.control(world.shopify, "POST", "faults", {"kind": "429", "count": 2})
    # TikTok: enough 500s that some products fail after every retry.
    world.control(world.tiktok, "POST", "faults", {"kind": "500", "count": 7, "path": UPDATE})
    world.control(world.tiktok, "POST", "faults", {"kind": "429", "count": 2, "path": UPDATE})

    stormy = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()

    transient = [i for i in stormy.items if i.outcome == "failed" and i.error_code != "12052901"]
    assert transient and stormy.retry_skus >= {i.sku for i in transient}
    states = world.session.exec(select(ChannelSkuState).where(
        ChannelSkuState.quarantine_code.is_not(None))).all()  # type: ignore[union-attr]
    assert all(state.quarantine_code == "12052901" for state in states)

    calm = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    assert {i.sku for i in calm.items if i.outcome == "pushed"} >= {i.sku for i in transient}
    world.reset_counts()
    settled = reconcile_organization(world.session, world.pm, world.org_id)
    assert settled.pushed == 0 and world.update_calls() == 0
    for shop in (0, 1):
        shown = world.shown(shop)
        for item in settled.items:
            if item.channel_id == world.channel_ids[shop] and item.outcome == "unchanged":
                assert shown[item.sku] == item.to_quantity


def test_refused_credentials_stop_one_channel_and_the_rest_is_kept(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    broken = world.session.get(ChannelConnection, world.channel_ids[1])
    assert broken is not None
    credentials = broken.credentials()
    credentials.update(access_token="ROW_revoked", refresh_token="")
    broken.set_credentials(credentials)
    world.session.commit()
    sku = world.plain_sku()
    world.bump(sku, 3)

    with pytest.raises(SyncAuthError) as raised:
        sync_skus(world.session, world.pm, world.org_id, [sku])

    error = raised.value
    assert error.failures[0][:2] == ("channel", world.channel_ids[1])
    outcomes = {i.channel_id: i.outcome for i in error.report.items}
    assert outcomes == {world.channel_ids[0]: "pushed", world.channel_ids[1]: "failed"}
    for kind, ident, message in error.failures:
        mark_needs_reauth(world.session, kind, ident, message)
    world.session.commit()
    assert world.shown(0)[sku] == world.expected(sku, 0)
    ok = world.session.exec(select(InventoryAudit).where(
        InventoryAudit.sku == sku, InventoryAudit.outcome == "ok",
        InventoryAudit.channel_id == world.channel_ids[0])).all()
    assert ok
    status = {row["channel_id"]: row for row in channel_status(world.session, world.org_id)}
    assert status[world.channel_ids[1]]["needs_reauth"] is True
    assert status[world.channel_ids[0]]["needs_reauth"] is False
    assert status[world.channel_ids[0]]["pushes_24h"] > 0
    assert status[world.channel_ids[0]]["link_problems"] > 0
