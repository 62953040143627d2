"""`shelfsync sync inventory` and `shelfsync status` against the fakes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from shelfsync.core.cli import build_cli
from shelfsync.core.commands.sync import status_command, sync_group

from .conftest import World


@pytest.fixture
def runner(world: World, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    return CliRunner()


def test_dry_run_prints_from_to_and_reason_and_pushes_nothing(
        runner: CliRunner, world: World) -> None:
    runner.invoke(sync_group, ["inventory", "--channel", str(world.channel_ids[1])],
                  obj=world.pm)
    world.bump(world.plain_sku(), 11)
    world.reset_counts()
    result = runner.invoke(sync_group, ["inventory", "--channel", str(world.channel_ids[1]),
                                        "--dry-run"], obj=world.pm)
    assert result.exit_code == 0, result.output
    assert f"{world.plain_sku()}: " in result.output and "[dry_run]" in result.output
    assert world.update_calls() == 0


def test_dry_run_reports_the_drift_a_reconcile_would_repair(runner: CliRunner,
                                                            world: World) -> None:
    shop = str(world.channel_ids[0])
    runner.invoke(sync_group, ["inventory", "--channel", shop], obj=world.pm)

    def dry_run() -> dict:  # type: ignore[type-arg]
        result = runner.invoke(sync_group, ["inventory", "--channel", shop, "--dry-run",
                                            "--json"], obj=world.pm)
        return json.loads(result.output[:result.output.rindex("}") + 1])["counts"]

    # The fake's refused (not live) SKUs differ for good: quarantined, they are drift too.
    baseline = dry_run()
    assert baseline["dry_run"] == 0
    skus = [world.plain_sku(), "SKU-0-00002-01"]
    for sku in skus:  # changes no webhook told us about: the channel drifts
        world.bump(sku, 9)
    world.reset_counts()
    counts = dry_run()
    assert counts["drift"] == baseline["drift"] + 2 and counts["dry_run"] == 2
    assert world.update_calls() == 0
    human = runner.invoke(sync_group, ["inventory", "--channel", shop, "--dry-run"],
                          obj=world.pm)
    assert f"dry run: {counts['drift']} SKUs differ from what their channel shows" in human.output
    repaired = runner.invoke(sync_group, ["inventory", "--channel", shop, "--json"],
                             obj=world.pm)
    data = json.loads(repaired.output[:repaired.output.rindex("}") + 1])
    assert data["counts"]["drift"] == counts["drift"] and data["counts"]["pushed"] == 2
    assert [world.shown(0)[sku] for sku in skus] == [world.expected(sku, 0) for sku in skus]


def test_org_reconcile_as_json_then_status(runner: CliRunner, world: World) -> None:
    result = runner.invoke(sync_group, ["inventory", "--org", str(world.org_id), "--json"],
                           obj=world.pm)
    data = json.loads(result.output[:result.output.rindex("}") + 1])
    assert data["counts"]["pushed"] > 0
    assert {"from_quantity", "to_quantity", "reason", "outcome"} <= set(data["items"][0])
    assert result.exit_code == 1  # the fake's not-live SKUs failed, and say so

    status = runner.invoke(status_command, ["--json"], obj=world.pm)
    rows = json.loads(status.output)
    assert [row["channel_id"] for row in rows] == world.channel_ids
    assert all(row["drift"] and row["last_sync_at"] for row in rows)


def test_exactly_one_target_is_required(runner: CliRunner, world: World) -> None:
    result = runner.invoke(sync_group, ["inventory"], obj=world.pm)
    assert result.exit_code != 0


def test_org_is_taken_by_name_too(runner: CliRunner, world: World) -> None:
    result = runner.invoke(build_cli(), ["sync", "inventory", "--org", "Acme", "--json"],
                           obj=world.pm)
    data = json.loads(result.output[:result.output.rindex("}") + 1])
    assert {item["channel_id"] for item in data["items"]} == set(world.channel_ids)
    assert data["counts"]["pushed"] > 0
    status = runner.invoke(build_cli(), ["status", "--org", "Acme", "--json"], obj=world.pm)
    assert [row["channel_id"] for row in json.loads(status.output)] == world.channel_ids


def test_unknown_org_is_one_error_line(runner: CliRunner, world: World) -> None:
    for args in (["sync", "inventory", "--org", "Nobody"], ["status", "--org", "Nobody"]):
        result = runner.invoke(build_cli(), args, obj=world.pm)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == "error: --org: no organization 'Nobody'"
