"""The client's cost estimate parses each document once, and still reads every request's
variables (a page size in a variable changes the estimate)."""

from __future__ import annotations

from shelfsync.plugins.shopify import queries
from shelfsync.plugins.shopify.queries import CATALOG, LOCATIONS, estimate_cost


def test_each_document_is_parsed_once_and_the_variables_still_count() -> None:
    queries._operation.cache_clear()
    small = estimate_cost(CATALOG, {"first": 10})
    large = estimate_cost(CATALOG, {"first": 250})
    again = estimate_cost(CATALOG, {"first": 10})
    assert small < large
    assert again == small
    info = queries._operation.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    # Another document is another entry, estimated by its own fields.
    assert estimate_cost(LOCATIONS, {"first": 10}) != small
    assert queries._operation.cache_info().misses == 2


def test_a_mutation_costs_the_same_whatever_its_variables() -> None:
    mutation = ("mutation M($id: ID!) { a: inventoryActivate(inventoryItemId: $id) "
                "{ userErrors { message } } }")
    assert estimate_cost(mutation, {"id": "1"}) == estimate_cost(mutation, {"id": "2"})
    assert estimate_cost(mutation) == queries.MUTATION_COST
