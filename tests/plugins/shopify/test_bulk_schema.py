"""Every bulk document the plugin sends is valid against Shopify's real 2025-04 schema, and
the bulk queries it runs keep Shopify's bulk rules checked on that schema, not only the fake's.

The reference schema lives in `shared/reference/` beside the checkout: found through
`SHELFSYNC_REFERENCE_DIR`, or by looking upward from this file (a worktree sits deeper than
the main checkout). Outside CI a missing reference skips; in CI it fails.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import graphql
import pytest

from shelfsync.core.testing.environment import unavailable
from shelfsync.plugins.shopify import bulk, bulk_reads
from shelfsync.plugins.shopify.fake_bulk_rules import bulk_query_errors

NAME = "shopify-admin-2025-04.graphqls"


def reference_path() -> Path | None:
    """The reference schema file, or None when it is nowhere to be found."""
    given = os.environ.get("SHELFSYNC_REFERENCE_DIR")
    if given:
        return Path(given) / NAME if (Path(given) / NAME).exists() else None
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "reference" / NAME
        if candidate.exists():
            return candidate
    return None


@cache
def _schema(path: Path) -> graphql.GraphQLSchema:
    schema = graphql.build_schema(path.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # As in test_fidelity_subset: Shopify's schema breaks one of graphql-core's type-system
    # rules (deprecated implementations of non-deprecated interface fields), which says
    # nothing about whether a query is valid.
    schema._validation_errors = []  # type: ignore[attr-defined]
    return schema


def reference() -> graphql.GraphQLSchema:
    path = reference_path()
    if path is None:
        unavailable(f"reference schema {NAME} not found (set SHELFSYNC_REFERENCE_DIR)")
    return _schema(path)


@pytest.mark.parametrize("document", [bulk.RUN, bulk.CURRENT, bulk.BY_ID, bulk.CANCEL,
                                      bulk_reads.SIZE_PROBE],
                         ids=["run", "current", "by-id", "cancel", "size-probe"])
def test_operation_documents_are_valid_against_shopify(document: str) -> None:
    assert graphql.validate(reference(), graphql.parse(document)) == []


@pytest.mark.parametrize("document", [bulk.STOCK, bulk.FLAGS, bulk.CATALOG],
                         ids=["stock", "flags", "catalog"])
def test_bulk_queries_keep_shopifys_rules_on_the_real_schema(document: str) -> None:
    parsed, errors = bulk_query_errors(reference(), document)
    assert errors == [] and parsed is not None


def test_the_rules_refuse_on_the_real_schema_too() -> None:
    deep = ("{ products { edges { node { id variants { edges { node { id inventoryItem { "
            "inventoryLevels { edges { node { id } } } } } } } } } } }")
    _, errors = bulk_query_errors(reference(), deep)
    assert [e["code"] for e in errors] == ["INVALID"]
    _, errors = bulk_query_errors(reference(), "{ shop { id } }")
    assert "at least one connection" in errors[0]["message"]
