"""`shelfsync sync orders`, `orders list`, `orders retry`, the order flags of `channel
settings` and the order counts of `status`, against the fakes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import select

from shelfsync.core.cli import build_cli
from shelfsync.core.models import ChannelSettings, SkuLink

from .conftest import RATE, World
from .test_orders import place


@pytest.fixture
def runner(world: World, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    return CliRunner()


def run(runner: CliRunner, world: World, *args: str) -> Any:
    result = runner.invoke(build_cli(world.pm), list(args), obj=world.pm)
    return result


def as_json(result: Any) -> Any:
    return json.loads(result.output)


def test_channel_settings_take_the_order_flags(runner: CliRunner, world: World) -> None:
    channel = str(world.channel_ids[0])
    result = run(runner, world, "channel", "settings", channel, "--order-sync", "off",
                 "--on-hold", "create", "--order-poll-minutes", "7", "--json")
    assert result.exit_code == 0, result.output
    data = as_json(result)
    assert (data["order_sync"], data["on_hold"], data["order_poll_minutes"]) == (False,
                                                                                "create", 7)
    assert "recompute" not in data  # nothing a quantity depends on changed
    refused = run(runner, world, "channel", "settings", channel, "--on-hold", "sometimes")
    assert refused.exit_code != 0 and "--on-hold: must be one of wait, create" in refused.output
    assert "Traceback" not in refused.output
    zero = run(runner, world, "channel", "settings", channel, "--order-poll-minutes", "0")
    assert zero.exit_code != 0 and "order" in zero.output and "poll" in zero.output


def test_sync_orders_list_and_retry(runner: CliRunner, world: World) -> None:
    session = world.session
    for channel_id in world.channel_ids:
        settings = session.get(ChannelSettings, channel_id)
        assert settings is not None
        settings.currency_rate = RATE
        session.add(settings)
    session.commit()
    from shelfsync.core.sync.linking import refresh_listings

    for channel_id in world.channel_ids:
        refresh_listings(session, world.pm, channel_id)
    session.commit()
    sku = world.plain_sku()
    link = session.exec(select(SkuLink).where(SkuLink.channel_id == world.channel_ids[1],
                                              SkuLink.store_sku == sku)).one()
    kept = (link.channel_id, link.store_sku, link.product_id, link.sku_id)
    session.delete(link)
    session.commit()
    good = place(world, 0, {sku: 1})
    bad = place(world, 1, {sku: 1})
    result = run(runner, world, "sync", "orders", "--org", str(world.org_id), "--json")
    assert result.exit_code == 1, result.output  # one order failed
    data = as_json(result)
    assert data["counts"]["created"] == 1 and data["counts"]["failed"] == 1
    human = run(runner, world, "orders", "list", "--org", str(world.org_id))
    assert f"{good['id']}" in human.output and "→ store order #" in human.output
    failed = as_json(run(runner, world, "orders", "list", "--org", str(world.org_id),
                         "--status", "failed", "--json"))
    assert [row["tiktok_order_id"] for row in failed] == [bad["id"]]
    assert failed[0]["reason"] == "sku_not_linked" and sku in failed[0]["fix_hint"]
    # The merchant links the SKU again and retries.
    session.add(SkuLink(channel_id=kept[0], store_sku=kept[1], product_id=kept[2],
                        sku_id=kept[3]))
    session.commit()
    retried = run(runner, world, "orders", "retry", "--failed", "--org", str(world.org_id))
    assert retried.exit_code == 0, retried.output
    assert f"order  {bad['id']}  created  → store order #" in retried.output
    status = as_json(run(runner, world, "status", "--json"))
    assert [row["orders_created"] for row in status] == [1, 1]
    assert [row["orders_failed"] for row in status] == [0, 0]
    again = run(runner, world, "sync", "orders", "--channel", str(world.channel_ids[0]))
    assert again.exit_code == 0 and "orders: polled" in again.output
    unknown = run(runner, world, "orders", "retry", "123")
    assert unknown.exit_code != 0 and "no order '123'" in unknown.output
