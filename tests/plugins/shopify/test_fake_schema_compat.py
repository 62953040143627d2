"""The fake's hand-written SDL subset must agree with Shopify's real Admin schema (2025-04).

Every type, field, argument (type and default), interface, union member, input field and enum
value of `fake_schema.graphql` has to exist in the reference schema with the same type, so a
query that works against the fake is a query Shopify would accept.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    print_ast,
)

from shelfsync.core.testing.environment import unavailable

REFERENCE = (
    Path(__file__).parents[3].parent / "shared" / "reference" / "shopify-admin-2025-04.graphqls"
)


@cache
def reference_schema() -> GraphQLSchema:
    """Shopify's schema, or a skip (a failure in CI) when the reference is not checked out."""
    if not REFERENCE.exists():
        unavailable(f"reference schema not available: {REFERENCE}")
    return build_schema(REFERENCE.read_text(encoding="utf-8"), assume_valid_sdl=True)


def fake_schema() -> GraphQLSchema:
    source = files("shelfsync.plugins.shopify").joinpath("fake_schema.graphql").read_text("utf-8")
    return build_schema(source)


def _default(arg: object) -> str | None:
    node = getattr(arg, "ast_node", None)
    if node is None or node.default_value is None:
        return None
    return print_ast(node.default_value)


def _own_types(schema: GraphQLSchema) -> dict[str, object]:
    return {
        name: t
        for name, t in schema.type_map.items()
        if not name.startswith("__") and name not in {"String", "Int", "Float", "Boolean", "ID"}
    }


def _check_fields(name: str, mine: object, theirs: object, problems: list[str]) -> None:
    for field_name, field in mine.fields.items():  # type: ignore[attr-defined]
        real = theirs.fields.get(field_name)  # type: ignore[attr-defined]
        where = f"{name}.{field_name}"
        if real is None:
            problems.append(f"{where}: no such field")
            continue
        if str(field.type) != str(real.type):
            problems.append(f"{where}: type {field.type} != {real.type}")
        for arg_name, arg in getattr(field, "args", {}).items():
            real_arg = real.args.get(arg_name)
            if real_arg is None:
                problems.append(f"{where}({arg_name}): no such argument")
            elif str(arg.type) != str(real_arg.type):
                problems.append(f"{where}({arg_name}): type {arg.type} != {real_arg.type}")
            elif _default(arg) != _default(real_arg):
                problems.append(
                    f"{where}({arg_name}): default {_default(arg)} != {_default(real_arg)}"
                )


def _check_type(name: str, mine: object, theirs: object, problems: list[str]) -> None:
    if type(mine) is not type(theirs):
        problems.append(f"{name}: kind {type(mine).__name__} != {type(theirs).__name__}")
        return
    if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
        real_interfaces = {i.name for i in theirs.interfaces}  # type: ignore[attr-defined]
        for interface in mine.interfaces:
            if interface.name not in real_interfaces:
                problems.append(f"{name}: does not implement {interface.name}")
        _check_fields(name, mine, theirs, problems)
    elif isinstance(mine, GraphQLInputObjectType):
        for field_name, field in mine.fields.items():
            real = theirs.fields.get(field_name)  # type: ignore[attr-defined]
            if real is None:
                problems.append(f"{name}.{field_name}: no such input field")
            elif str(field.type) != str(real.type):
                problems.append(f"{name}.{field_name}: type {field.type} != {real.type}")
            elif _default(field) != _default(real):
                problems.append(f"{name}.{field_name}: default differs")
    elif isinstance(mine, GraphQLEnumType):
        missing = set(mine.values) - set(theirs.values)  # type: ignore[attr-defined]
        problems.extend(f"{name}.{value}: no such enum value" for value in sorted(missing))
    elif isinstance(mine, GraphQLUnionType):
        real_members = {t.name for t in theirs.types}  # type: ignore[attr-defined]
        problems.extend(
            f"{name}: {t.name} is not a member" for t in mine.types if t.name not in real_members
        )
    else:
        assert isinstance(mine, GraphQLScalarType)


def test_every_type_field_argument_and_value_exists_in_shopify_schema() -> None:
    real = reference_schema()
    mine = fake_schema()
    problems: list[str] = []
    for name, our_type in _own_types(mine).items():
        their_type = real.get_type(name)
        if their_type is None:
            problems.append(f"{name}: no such type")
            continue
        _check_type(name, our_type, their_type, problems)
    assert problems == []


def test_roots_match_shopify() -> None:
    real = reference_schema()
    mine = fake_schema()
    assert mine.query_type is not None and real.query_type is not None
    assert mine.query_type.name == real.query_type.name == "QueryRoot"
    assert mine.mutation_type is not None and real.mutation_type is not None
    assert mine.mutation_type.name == real.mutation_type.name == "Mutation"
    # The subset is not trivial: it covers what the brief asks the plugin to use.
    for field in ("shop", "locations", "productVariants", "inventoryItems", "orders", "nodes"):
        assert field in mine.query_type.fields
