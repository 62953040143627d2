"""GraphQL documents the Shopify plugin sends, and a static estimate of what each one costs.

Every document was checked against the Admin API 2025-04 schema. They are kept flat on purpose:
`productVariants` rather than `products { variants }`, because Shopify prices a nested
connection as `first` times its children, and a flat query lets one page carry many more
variants for the same points.

The estimate follows Shopify's published rules (an object costs 1, a scalar or enum 0, a
connection 2 plus `first` times the cost of one node, a mutation 10). The client uses it only
until the server has told it the real `requestedQueryCost` of a document of that shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
)
from graphql import parse as parse_graphql

#: Shopify refuses a single query whose requested cost is above this.
MAX_QUERY_COST = 1000
#: The largest `first` Shopify accepts on a connection.
MAX_PAGE_SIZE = 250
#: What Shopify charges for a mutation.
MUTATION_COST = 10

SHOP = """
query Shop {
  shop { id name myshopifyDomain currencyCode }
}
"""

LOCATIONS = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeInactive: true) {
    pageInfo { hasNextPage endCursor }
    nodes { id name isActive }
  }
}
"""

_LEVELS = """
inventoryLevels(first: $levels) {
  pageInfo { hasNextPage endCursor }
  nodes {
    location { id }
    quantities(names: ["available"]) { name quantity }
  }
}
"""

STOCK_LEVELS = (
    """
query StockLevels($first: Int!, $after: String, $query: String, $levels: Int!) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      inventoryPolicy
      inventoryItem {
        id
        tracked
"""
    + _LEVELS
    + """
      }
    }
  }
}
"""
)

#: The rest of one item's levels, for a store with more locations than one page carried.
MORE_LEVELS = """
query MoreLevels($id: ID!, $levels: Int!, $after: String) {
  inventoryItem(id: $id) {
    id
    inventoryLevels(first: $levels, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        location { id }
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""

BACKORDER_POLICIES = """
query BackorderPolicies($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      inventoryPolicy
      inventoryItem { id tracked }
    }
  }
}
"""

CATALOG = """
query Catalog($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      title
      price
      product { id title }
      inventoryItem { id }
    }
  }
}
"""

ORDERS_BY_TAG = """
query OrdersByTag($query: String!) {
  orders(first: 5, query: $query) {
    nodes {
      id
      name
      tags
      customAttributes { key value }
    }
  }
}
"""

#: Before a first attempt: the order carrying the TikTok id, and the variants of its SKUs, in
#: one request (one look-up per order).
ORDER_LOOKUP = """
query OrderLookup($query: String!, $first: Int!, $variants: String) {
  orders(first: 5, query: $query) {
    nodes {
      id
      name
      tags
      customAttributes { key value }
    }
  }
  productVariants(first: $first, query: $variants) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      inventoryPolicy
      inventoryItem { id tracked }
    }
  }
}
"""

ORDER_CREATE = """
mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name }
    userErrors { field message code }
  }
}
"""

ORDER_STATUS = """
query OrderStatus($id: ID!) {
  order(id: $id) {
    id
    name
    cancelledAt
    displayFulfillmentStatus
    displayFinancialStatus
  }
}
"""

@lru_cache(maxsize=256)
def _operation(document: str) -> OperationDefinitionNode:
    """The operation of `document`, parsed once per document text: the client estimates the
    cost of every request it sends, and parsing was most of that (about 6 % of a busy
    worker's CPU in `bench/order_sync.py`). Our documents are a few constants, so the cache
    stays small; the parsed nodes are only read."""
    parsed = parse_graphql(document)
    return next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))


def estimate_cost(document: str, variables: Mapping[str, Any] | None = None) -> int:
    """Shopify's requested cost of `document` with `variables`, by its published rules."""
    operation = _operation(document)
    if operation.operation.value == "mutation":
        return MUTATION_COST * len(operation.selection_set.selections)
    values = dict(variables or {})
    return sum(_field_cost(node, values) for node in operation.selection_set.selections)


def _first(field: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            raw = variables.get(value.name.value)
            return int(raw) if raw is not None else None
    return None


def _children_cost(node: Any, variables: Mapping[str, Any]) -> int:
    if node.selection_set is None:
        return 0
    return sum(_field_cost(child, variables) for child in node.selection_set.selections)


def _field_cost(node: Any, variables: Mapping[str, Any]) -> int:
    if isinstance(node, InlineFragmentNode):
        return _children_cost(node, variables)
    if not isinstance(node, FieldNode) or node.selection_set is None:
        return 0
    first = _first(node, variables)
    if first is None:
        return 1 + _children_cost(node, variables)
    children = [c for c in node.selection_set.selections if isinstance(c, FieldNode)]
    if not any(c.name.value in {"nodes", "edges"} for c in children):
        # A plain list with a size (`fulfillments(first:)`): each element is an object.
        return 2 + first * (1 + _children_cost(node, variables))
    per_node = 0
    for child in children:
        name = child.name.value
        if name == "nodes":
            per_node += 1 + _children_cost(child, variables)
        elif name == "edges":
            node_field = next(
                (c for c in child.selection_set.selections if c.name.value == "node"), None
            ) if child.selection_set else None
            per_node += 1 + (_children_cost(node_field, variables) if node_field else 0)
        elif name != "pageInfo":
            per_node += _field_cost(child, variables)
    return 2 + first * per_node


def largest_page(document: str, variables: Mapping[str, Any], limit: int = MAX_QUERY_COST) -> int:
    """The largest `first` (≤ 250) whose estimated cost stays within `limit` points."""
    low, high = 1, MAX_PAGE_SIZE
    if estimate_cost(document, {**variables, "first": high}) <= limit:
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if estimate_cost(document, {**variables, "first": middle}) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
