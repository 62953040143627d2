"""The rules Shopify applies to the query of a `bulkOperationRunQuery` (Admin API 2025-04).

From the mutation's documentation (shopify.dev, `bulkOperationRunQuery` and the bulk
operations guide, "Operation restrictions"): the query must be valid against the schema,
select exactly one top-level field, contain at least one connection and at most five, nest
connections at most two levels deep, must not start at `node`/`nodes`, and may not put a
connection inside a list field. `first` is not needed (and is ignored). A broken rule is a
`BulkOperationUserError` with code `INVALID` on field `["query"]`, never a GraphQL error.
The exact wording of Shopify's messages is not published; ours say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
)

MAX_CONNECTIONS = 5
MAX_DEPTH = 2


def is_connection(type_: Any) -> bool:
    """A Relay connection type (`…Connection` with `edges` or `nodes`)."""
    named = get_named_type(type_)
    return (isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")
            and ("edges" in named.fields or "nodes" in named.fields))


def node_type(connection: Any) -> GraphQLObjectType:
    """The type of a connection's nodes."""
    named = get_named_type(connection)
    field = named.fields.get("nodes") or named.fields["edges"]
    inner = get_named_type(field.type)
    if "node" in getattr(inner, "fields", {}) and not named.fields.get("nodes"):
        inner = get_named_type(inner.fields["node"].type)
    return inner  # type: ignore[return-value]


def fields_of(selection_set: SelectionSetNode | None,
              fragments: Mapping[str, FragmentDefinitionNode]) -> Iterator[FieldNode]:
    """The field nodes of a selection set, through inline fragments and fragment spreads."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from fields_of(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from fields_of(fragment.selection_set, fragments)


def node_selection(field: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]
                   ) -> list[FieldNode]:
    """What a connection field selects on each node (under `edges { node }` or `nodes`)."""
    chosen: list[FieldNode] = []
    for child in fields_of(field.selection_set, fragments):
        if child.name.value == "nodes":
            chosen.extend(fields_of(child.selection_set, fragments))
        elif child.name.value == "edges":
            for edge_field in fields_of(child.selection_set, fragments):
                if edge_field.name.value == "node":
                    chosen.extend(fields_of(edge_field.selection_set, fragments))
    return chosen


def _invalid(message: str) -> dict[str, Any]:
    return {"__typename": "BulkOperationUserError", "field": ["query"], "message": message,
            "code": "INVALID"}


class _Walk:
    """Counts connections and their depth; notes a connection under a list field."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]
                 ) -> None:
        self.schema, self.fragments = schema, fragments
        self.connections = 0
        self.deepest = 0
        self.in_list = False

    def object_fields(self, parent: GraphQLObjectType, fields: list[FieldNode], depth: int,
                      under_list: bool) -> None:
        for field in fields:
            definition = parent.fields.get(field.name.value)
            if definition is None:
                continue
            if is_connection(definition.type):
                self.connections += 1
                self.deepest = max(self.deepest, depth + 1)
                self.in_list = self.in_list or under_list
                self.object_fields(node_type(definition.type),
                                   node_selection(field, self.fragments), depth + 1, False)
                continue
            named = get_named_type(definition.type)
            if isinstance(named, GraphQLObjectType) and field.selection_set is not None:
                listed = isinstance(_unwrap(definition.type), GraphQLList)
                self.object_fields(named, list(fields_of(field.selection_set, self.fragments)),
                                   depth, under_list or listed)


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def bulk_query_errors(schema: GraphQLSchema, query: str
                      ) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    """The parsed document and no errors, or None and the userErrors Shopify would answer."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, [_invalid(f"Invalid bulk query: {exc.message}")]
    problems = validate(schema, document)
    if problems:
        return None, [_invalid(f"Invalid bulk query: {problems[0].message}")]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        return None, [_invalid("Bulk queries must contain exactly one query operation.")]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    top = list(fields_of(operations[0].selection_set, fragments))
    top = [f for f in top if f.name.value != "__typename"]
    if len(top) != 1:
        return None, [_invalid("Bulk queries must select exactly one top-level field.")]
    if top[0].name.value in ("node", "nodes"):
        return None, [_invalid("The top-level `node` and `nodes` fields can't be used in "
                               "bulk queries.")]
    walk = _Walk(schema, fragments)
    assert schema.query_type is not None
    walk.object_fields(schema.query_type, top, 0, False)
    if walk.connections == 0:
        return None, [_invalid("Bulk queries must contain at least one connection.")]
    if walk.connections > MAX_CONNECTIONS:
        return None, [_invalid(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} "
                               "connections.")]
    if walk.deepest > MAX_DEPTH:
        return None, [_invalid(f"Bulk queries cannot contain connections nested more than "
                               f"{MAX_DEPTH} levels deep.")]
    if walk.in_list:
        return None, [_invalid("Queries that contain a connection field within a list field "
                               "are not currently supported.")]
    return document, []
