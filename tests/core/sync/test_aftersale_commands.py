"""The after-sale flags of `channel settings`, `carriers list`, and the after-sale state and
retry of `orders list` / `orders retry`, against the fakes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from shelfsync.core.cli import build_cli
from shelfsync.core.services import aftersale

from .conftest import World
from .test_aftersale import created, fulfil, tiktok_lines


@pytest.fixture
def runner(linked: World, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    return CliRunner()


def run(runner: CliRunner, world: World, *args: str) -> Any:
    return runner.invoke(build_cli(world.pm), list(args), obj=world.pm)


def test_settings_flags_and_carriers_list(runner: CliRunner, linked: World) -> None:
    channel = str(linked.channel_ids[0])
    listed = run(runner, linked, "carriers", "list", "--channel", channel, "--json")
    assert listed.exit_code == 0, listed.output
    providers = json.loads(listed.output)["providers"]
    ups = next(p["id"] for p in providers if p["name"] == "UPS")
    result = run(runner, linked, "channel", "settings", channel, "--fulfillment-sync", "on",
                 "--cancellation-sync", "off", "--refund-sync", "on", "--restock", "off",
                 "--carrier", f"Royal Parcel={ups}", "--carrier", "Old Carrier=", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["fulfillment_sync"], data["cancellation_sync"], data["refund_sync"],
            data["restock"], data["carriers"]) == (True, False, True, False,
                                                   {"Royal Parcel": ups})
    assert "recompute" not in data
    text = run(runner, linked, "carriers", "list", "--channel", channel)
    assert "Royal Parcel = " + ups in text.output and "UPS" in text.output
    bad = run(runner, linked, "channel", "settings", channel, "--carrier", "X=../1")
    assert bad.exit_code != 0 and "shipping provider id" in bad.output
    assert "Traceback" not in bad.output
    off = run(runner, linked, "channel", "settings", channel, "--restock", "maybe")
    assert off.exit_code != 0 and "on or off" in off.output


def test_orders_list_shows_after_sale_state_and_retry_carries_it_across(
        runner: CliRunner, linked: World) -> None:
    order_id, binding_id = created(linked, {linked.plain_sku(): 1})
    fulfil(linked, order_id, company="Royal Parcel")
    aftersale.check_store_order(linked.pm, binding_id, "w1")
    org = str(linked.org_id)
    listed = run(runner, linked, "orders", "list", "--org", org)
    assert "fulfillment failed" in listed.output
    assert "carrier_not_mapped" in listed.output and "'Royal Parcel'" in listed.output
    row = next(r for r in json.loads(run(runner, linked, "orders", "list", "--org", org,
                                         "--json").output) if r["id"] == binding_id)
    assert row["fulfillment"]["state"] == "failed"
    still = run(runner, linked, "orders", "retry", "--failed", "--org", org)
    assert still.exit_code == 1 and "carrier_not_mapped" in still.output
    providers = json.loads(run(runner, linked, "carriers", "list", "--channel",
                               str(linked.channel_ids[0]), "--json").output)["providers"]
    fedex = next(p["id"] for p in providers if p["name"] == "FedEx")
    run(runner, linked, "channel", "settings", str(linked.channel_ids[0]), "--carrier",
        f"Royal Parcel={fedex}")
    retried = run(runner, linked, "orders", "retry", "--failed", "--org", org, "--json")
    assert retried.exit_code == 0, retried.output
    assert [(a["kind"], a["state"]) for a in json.loads(retried.output)["aftersale"]] == [
        ("fulfillment", "done")]
    assert {p for _, _, p in tiktok_lines(linked, order_id)} == {"FedEx"}
    row = next(r for r in json.loads(run(runner, linked, "orders", "list", "--org", org,
                                         "--json").output) if r["id"] == binding_id)
    assert row["fulfillment"]["state"] == "done" and row["aftersale_failures"] == []
