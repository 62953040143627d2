"""Every query a pass runs per part or per page finds its rows through an index.

A query that narrows by a list of SKUs (or products) must use an index on that list's
column. If it only uses the store's or channel's id, SQLite walks the whole store's rows
once per part, so a reconcile costs O(catalog²): fine at 500 SKUs, hours at 1,000,000.
This test records the statements of a reconcile and a webhook pass on SQLite, asks SQLite
for their query plans with the same parameters, and fails on such a plan or on a full scan
of a table that grows with the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from shelfsync.core.sync.inventory import reconcile_organization, sync_skus

from .conftest import World

#: Tables whose rows grow with the catalog or the channels' listings.
CATALOG_TABLES = {
    "catalog_variant", "stock_level", "sku_link", "channel_listing", "channel_sku_state",
    "pushed_quantity", "pending_sku", "link_problem", "inventory_audit",
}
#: `SEARCH t USING [COVERING] INDEX i (a=? AND b=?)` or `USING INTEGER PRIMARY KEY (rowid=?)`.
SEARCH = re.compile(r"SEARCH (\w+)(?: AS \w+)? USING (?:COVERING )?(?:INDEX \w+|INTEGER PRIMARY "
                    r"KEY) \(([^)]*)\)")
SCAN = re.compile(r"\bSCAN (\w+)\b(?! USING (?:COVERING )?INDEX)")
#: `table.column IN (` in a statement: the column a part's list narrows by.
IN_LIST = re.compile(r"(\w+)\.(\w+) IN \(")

@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine runs while the test runs, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def remember(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                 executemany: bool) -> None:
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "UPDATE",
                                                                       "DELETE")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    yield seen
    event.remove(engine, "before_cursor_execute", remember)


def _plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [str(row[-1]) for row in cursor.fetchall()]
    finally:
        raw.close()


def _problems(statement: str, plan: list[str]) -> list[str]:
    listed = {(table, column) for table, column in IN_LIST.findall(statement)}
    found = []
    for line in plan:
        scan = SCAN.search(line)
        if scan and scan.group(1) in CATALOG_TABLES:
            found.append(f"full scan: {line}")
        search = SEARCH.search(line)
        if not search or search.group(1) not in CATALOG_TABLES:
            continue
        used = {part.split("=")[0].split(">")[0].split("<")[0].strip()
                for part in search.group(2).split(" AND ")}
        missing = {column for table, column in listed
                   if table == search.group(1) and column not in used}
        if missing:
            found.append(f"narrows by {sorted(missing)} without an index on it: {line}")
    return found


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_reconcile_and_webhook_pass_use_indexes(world: World, engine: Engine,
                                                statements: list[tuple[str, Any]]) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    sku = world.plain_sku()
    world.bump(sku, 3)
    sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()

    assert len(statements) > 50, "the passes ran no statements: the listener saw nothing"
    problems: dict[str, list[str]] = {}
    for statement, parameters in statements:
        if statement in problems:
            continue
        found = _problems(statement, _plan(engine, statement, parameters))
        if found:
            problems[statement] = found
    assert not problems, "\n\n".join(f"{s}\n  -> " + "\n  -> ".join(p)
                                     for s, p in problems.items())


def test_the_check_catches_a_list_narrowed_by_the_store_id_alone() -> None:
    """The detector itself: the plan SQLite gave before catalog_variant had its index."""
    statement = ("SELECT catalog_variant.sku FROM catalog_variant WHERE "
                 "catalog_variant.store_connection_id = ? AND catalog_variant.sku IN (?, ?)")
    plan = ["SEARCH catalog_variant USING INDEX sqlite_autoindex_catalog_variant_1 "
            "(store_connection_id=?)"]
    assert _problems(statement, plan) == [
        f"narrows by ['sku'] without an index on it: {plan[0]}"]
    good = ["SEARCH catalog_variant USING INDEX ix_catalog_variant_store_sku "
            "(store_connection_id=? AND sku=?)"]
    assert _problems(statement, good) == []
    assert _problems("SELECT * FROM sku_link", ["SCAN sku_link"]) == [
        "full scan: SCAN sku_link"]
