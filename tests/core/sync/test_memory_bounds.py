"""A reconcile in parts and reports without per-SKU items: same pushes, same audit rows."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import select

from shelfsync.core.commands.sync import sync_group
from shelfsync.core.models import InventoryAudit
from shelfsync.core.sync import inventory
from shelfsync.core.sync.inventory import reconcile_organization

from .conftest import World


def _audit_rows(world: World) -> int:
    return world.session.exec(select(func.count()).select_from(InventoryAudit)).one()


def test_a_reconcile_in_parts_never_splits_a_product_and_audits_every_sku(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two products per part: the 20-product catalog is decided and pushed in ten parts.
    monkeypatch.setattr(inventory, "PRODUCTS_PER_PART", 2)
    world.reset_counts()
    first = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()

    called = {(item.channel_id, item.product_id) for item in first.items
              if item.outcome == "pushed" or (item.outcome == "failed" and item.request_id)}
    assert first.pushed > 0 and world.update_calls() == len(called)
    assert _audit_rows(world) == first.pushed + first.failed + first.skipped
    assert first.drift == first.pushed + first.failed
    for item in first.items:
        if item.outcome == "pushed":
            assert world.shown(item.channel_id - world.channel_ids[0])[item.sku] == \
                item.to_quantity

    world.reset_counts()
    second = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    assert world.update_calls() == 0 and second.pushed == 0 and second.failed == 0


def test_without_items_the_counts_and_audit_rows_stay_and_failures_are_kept(
        world: World) -> None:
    report = reconcile_organization(world.session, world.pm, world.org_id, keep_items=False)
    world.session.commit()

    assert report.pushed > 0 and report.failed > 0
    assert report.total == (report.pushed + report.failed + report.skipped + report.unchanged)
    assert len(report.items) == report.failed
    assert {item.outcome for item in report.items} == {"failed"}
    assert report.to_dict()["counts"]["pushed"] == report.pushed
    assert _audit_rows(world) == report.pushed + report.failed + report.skipped


@pytest.fixture
def runner(world: World, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    return CliRunner()


def test_the_cli_prints_counts_and_failures_and_every_sku_with_verbose(
        runner: CliRunner, world: World) -> None:
    channel = str(world.channel_ids[0])
    quiet = runner.invoke(sync_group, ["inventory", "--channel", channel], obj=world.pm)
    assert quiet.exit_code == 1, quiet.output  # the fake's not-live SKUs fail
    lines = quiet.output.splitlines()
    assert lines[0].startswith("pushed ") and "[pushed]" not in quiet.output
    assert lines[1:] and all("[failed]" in line for line in lines[1:])

    world.bump(world.plain_sku(), 4)
    verbose = runner.invoke(sync_group, ["inventory", "--channel", channel, "-v"],
                            obj=world.pm)
    assert f"{world.plain_sku()}: " in verbose.output and "[pushed]" in verbose.output
