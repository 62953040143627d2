"""Shopify's calculated query cost and the leaky bucket that meters it.

Cost rules (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): scalars and
enums cost 0, objects 1, a connection 2 plus its page size (`first`/`last`) times the cost of
one node, an interface or union the maximum over its possible selections, each mutation field
10 plus whatever its payload selects below the objects it returns directly (see `_payload`).
The requested cost is computed from the query before it runs; the actual cost walks the
returned data, so a page shorter than `first` costs less and the difference is refunded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_composite_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution.values import get_argument_values, get_directive_values

MAX_QUERY_COST = 1000
MAX_PAGE_SIZE = 250
MUTATION_COST = 10
# Objects Shopify does not charge for. Money: live orderCreate / draftOrderCreate answers that
# select five MoneyBag { shopMoney presentmentMoney } cost no more than without them
# (airhorns/shopify-draft-proxy money-bag-presentment-parity, connection-sort-key-coverage).
FREE_OBJECTS = frozenset({"PageInfo", "MoneyBag", "MoneyV2"})
DOCS_URL = "https://shopify.dev/api/usage/rate-limits"
_BULK_HINT = (
    "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
    "See https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n"
)


class LeakyBucket:
    """Points available to one app on one shop, refilled continuously at `restore_rate`/s."""

    def __init__(
        self, size: float, restore_rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.size = float(size)
        self.restore_rate = float(restore_rate)
        self._available = self.size
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._available = min(self.size, self._available + elapsed * self.restore_rate)
        self._updated = now

    def try_take(self, cost: int) -> bool:
        """Take `cost` points if that many are available; otherwise take nothing."""
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: int) -> None:
        """Give back points that were requested but not used."""
        with self._lock:
            self._refill()
            self._available = min(self.size, self._available + max(0, points))

    def status(self) -> dict[str, float | int]:
        """Shopify's `throttleStatus` object."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.size,
                "currentlyAvailable": int(self._available),
                "restoreRate": self.restore_rate,
            }

    def configure(
        self,
        size: float | None = None,
        restore_rate: float | None = None,
        available: float | None = None,
    ) -> None:
        """Change the plan's figures (a control endpoint uses this to provoke throttling)."""
        with self._lock:
            self._refill()
            if size is not None:
                self.size = float(size)
            if restore_rate is not None:
                self.restore_rate = float(restore_rate)
            if available is not None:
                self._available = float(available)
            self._available = min(self._available, self.size)


class CostErrors(Exception):
    """The query breaks a limit checked before execution (page size, max cost)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors


def max_cost_error(cost: int) -> dict[str, Any]:
    """Shopify's error for a query whose requested cost exceeds the single-query maximum."""
    return {
        "message": (
            f"Query cost is {cost}, which exceeds the single query max cost limit "
            f"({MAX_QUERY_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for "
            "more information on how the\ncost of a query is calculated.\n\n" + _BULK_HINT
        ),
        "extensions": {
            "code": "MAX_COST_EXCEEDED",
            "cost": cost,
            "maxCost": MAX_QUERY_COST,
            "documentation": DOCS_URL,
        },
    }


class QueryCost:
    """Requested and actual cost of one operation of a validated document."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self._actual = False
        self._errors: list[dict[str, Any]] = []

    def requested(self) -> int:
        """The cost Shopify computes before running the query; raises CostErrors on limits."""
        self._actual = False
        self._errors = []
        cost = self._root(None)
        if self._errors:
            raise CostErrors(self._errors)
        return cost

    def actual(self, data: dict[str, Any] | None) -> int:
        """The cost of what was actually returned."""
        if data is None:
            return 0
        self._actual = True
        return self._root(data)

    # --- walking -------------------------------------------------------------------------

    def _root(self, data: dict[str, Any] | None) -> int:
        if self.operation.operation == OperationType.MUTATION:
            root = self.schema.mutation_type
            assert root is not None
            total = 0
            for key, nodes in self._collect([self.operation.selection_set], root).items():
                if key.startswith("__") or nodes[0].name.value.startswith("__"):
                    continue
                value = data.get(key) if isinstance(data, dict) else None
                total += MUTATION_COST + self._payload(
                    root.fields[nodes[0].name.value], nodes, value
                )
            return total
        root = self.schema.query_type
        assert root is not None
        return self._selection([self.operation.selection_set], root, data, None)

    def _payload(self, field: GraphQLField, nodes: list[FieldNode], data: Any) -> int:
        """What a mutation's payload adds to its 10 points.

        The payload and the objects it returns directly (the order, the adjustment group,
        userErrors) are in the 10; anything selected below those costs as in a query. Live
        answers show it: `inventorySetQuantities { inventoryAdjustmentGroup { reason changes
        { item { id } location { id } } } userErrors { code } }` requests 13 and, when the
        group comes back null, actually costs 10 (airhorns/shopify-draft-proxy captures,
        inventorySetQuantities-name-validation; likewise `companyContactAssignRole`, 13).
        """
        payload = get_named_type(field.type)
        if self._actual and not isinstance(data, dict):
            return 0
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        total = 0
        for key, children in self._collect(sets, payload).items():
            name = children[0].name.value
            if name.startswith("__"):
                continue
            child = payload.fields[name]
            named = get_named_type(child.type)
            if not is_composite_type(named):
                continue
            value = data.get(key) if isinstance(data, dict) else None
            inner = [n.selection_set for n in children if n.selection_set is not None]
            if named.name.endswith("Connection"):
                total += self._field(payload, child, children, value, None, key)
            elif self._actual and value is None:
                continue
            elif isinstance(value, list) and self._actual:
                total += sum(self._selection(inner, named, item, None) for item in value)
            else:
                total += self._selection(inner, named, value, None)
        return total

    def _selection(
        self, sets: list[SelectionSetNode], parent: Any, data: Any, size: int | None
    ) -> int:
        if is_abstract_type(parent):
            return max(
                (
                    self._selection(sets, t, data, size)
                    for t in self.schema.get_possible_types(parent)
                ),
                default=0,
            )
        total = 0
        for key, nodes in self._collect(sets, parent).items():
            name = nodes[0].name.value
            if name.startswith("__"):
                continue
            value = data.get(key) if isinstance(data, dict) else None
            total += self._field(parent, parent.fields[name], nodes, value, size, key)
        return total

    def _field(
        self,
        parent: GraphQLObjectType,
        field: GraphQLField,
        nodes: list[FieldNode],
        value: Any,
        size: int | None,
        key: str,
    ) -> int:
        named = get_named_type(field.type)
        if not is_composite_type(named):
            return 0
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if named.name.endswith("Connection"):
            page = self._page_size(field, nodes[0], key)
            return 2 + self._selection(sets, named, value, page)
        own = 0 if named.name.endswith("Edge") or named.name in FREE_OBJECTS else 1
        inner = field.type.of_type if is_non_null_type(field.type) else field.type
        if not is_list_type(inner):
            if self._actual and value is None:
                return own
            return own + self._selection(sets, named, value, None)
        count = 1
        if parent.name.endswith("Connection"):
            count = size or 0
        elif parent is self.schema.query_type and field is parent.fields.get("nodes"):
            count = len(get_argument_values(field, nodes[0], self.variables).get("ids") or [])
        else:
            # Other lists (quantities, customAttributes...) are priced as one object.
            return own + self._selection(sets, named, None, None)
        if self._actual:
            items = value if isinstance(value, list) else []
            return sum(own + self._selection(sets, named, i, None) for i in items if i is not None)
        return count * (own + self._selection(sets, named, None, None))

    def _page_size(self, field: GraphQLField, node: FieldNode, key: str) -> int:
        args = get_argument_values(field, node, self.variables)
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            self._error("you must provide one of first or last", node, key)
            return 0
        for name, value in (("first", first), ("last", last)):
            if value is not None and value > MAX_PAGE_SIZE:
                self._error(f"{name} cannot exceed {MAX_PAGE_SIZE}. {_BULK_HINT}", node, key)
            elif value is not None and value < 0:
                self._error(f"{name} cannot be negative", node, key)
        return max(0, min(MAX_PAGE_SIZE, first if first is not None else last))

    def _error(self, message: str, node: FieldNode, key: str) -> None:
        error = GraphQLError(message, node, path=[key]).formatted
        self._errors.append(dict(error))

    def _collect(
        self, sets: list[SelectionSetNode], parent: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        out: dict[str, list[FieldNode]] = {}
        for selection_set in sets:
            self._collect_into(selection_set, parent, out)
        return out

    def _collect_into(
        self, selection_set: SelectionSetNode, parent: Any, out: dict[str, list[FieldNode]]
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target: Any = selection
            else:
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                condition, target = fragment.type_condition, fragment
            if condition is None or self._applies(condition.name.value, parent):
                self._collect_into(target.selection_set, parent, out)

    def _applies(self, condition: str, parent: Any) -> bool:
        cond_type = self.schema.get_type(condition)
        if cond_type is None:
            return False
        if cond_type is parent:
            return True
        return is_abstract_type(cond_type) and self.schema.is_sub_type(cond_type, parent)

    def _included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if"):
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and not include.get("if"))
