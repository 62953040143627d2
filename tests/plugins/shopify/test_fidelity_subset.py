"""Every operation the fake's SDL allows is also valid against Shopify's real 2025-04 schema.

hypothesis-graphql writes queries and mutations from `fake_schema.graphql` alone; graphql-core
then validates each against the introspected reference schema. A failure means the subset
accepts something Shopify would refuse (a field, argument, nullability, enum value or input
field the real schema does not have), so clients tested against the fake could break on the
real API.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

import graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from shelfsync.core.testing.environment import unavailable

REFERENCE = (
    Path(__file__).parents[3].parent / "shared" / "reference" / "shopify-admin-2025-04.graphqls"
)
FAKE_SDL = files("shelfsync.plugins.shopify").joinpath("fake_schema.graphql").read_text("utf-8")
FAKE = graphql.build_schema(FAKE_SDL)
CUSTOM_SCALARS = {
    "DateTime": st.just(nodes.String("2025-01-01T00:00:00Z")),
    "Decimal": st.just(nodes.String("1.00")),
    "Money": st.just(nodes.String("1.00")),
    "URL": st.just(nodes.String("https://example.test/hooks")),
    "UnsignedInt64": st.just(nodes.String("1")),
    "JSON": st.just(nodes.Object([])),
}
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@cache
def _reference() -> graphql.GraphQLSchema | None:
    if not REFERENCE.exists():
        return None
    schema = graphql.build_schema(REFERENCE.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # Shopify's published schema breaks one of graphql-core's type-system rules (a deprecated
    # implementation of a non-deprecated interface field), which says nothing about whether a
    # query is valid; mark the schema as checked so `validate` looks at the queries only.
    schema._validation_errors = []
    return schema


def reference() -> graphql.GraphQLSchema:
    """Shopify's schema; a skip outside CI when the reference is not checked out, else a fail."""
    schema = _reference()
    if schema is None:
        unavailable(f"reference schema not available: {REFERENCE}")
    return schema


def assert_valid_on_shopify(query: str) -> None:
    """The operation validates against the real schema (it already does against the fake)."""
    document = graphql.parse(query)
    assert graphql.validate(FAKE, document) == [], query
    problems = graphql.validate(reference(), document)
    assert problems == [], ([p.message for p in problems], query)


def test_generated_queries_validate_against_shopify() -> None:
    reference()

    @SETTINGS
    @given(queries(FAKE, custom_scalars=CUSTOM_SCALARS, allow_x00=False))
    def run(query: str) -> None:
        assert_valid_on_shopify(query)

    run()


def test_generated_mutations_validate_against_shopify() -> None:
    reference()

    @SETTINGS
    @given(mutations(FAKE, custom_scalars=CUSTOM_SCALARS, allow_x00=False))
    def run(query: str) -> None:
        assert_valid_on_shopify(query)

    run()


def test_omitting_an_argument_means_the_same_on_both() -> None:
    """Arguments the fake lets a client leave out must be optional (or defaulted) on Shopify too.

    Generated queries only leave out what the fake marks optional, so this is the converse
    check: nothing required by Shopify is optional in the subset.
    """
    real = reference()
    problems = []
    for type_name, our_type in FAKE.type_map.items():
        real_type = real.get_type(type_name)
        if type_name.startswith("__") or not hasattr(our_type, "fields") or real_type is None:
            continue
        for field_name, field in our_type.fields.items():
            theirs = real_type.fields.get(field_name)  # type: ignore[union-attr]
            if theirs is None:
                continue
            their_args = getattr(theirs, "args", None)
            if their_args is None:  # input object fields
                required = graphql.is_required_input_field(theirs)
                if required and not graphql.is_required_input_field(field):
                    problems.append(f"{type_name}.{field_name}")
                continue
            for arg_name, arg in their_args.items():
                ours = field.args.get(arg_name)
                if graphql.is_required_argument(arg) and (
                    ours is None or not graphql.is_required_argument(ours)
                ):
                    problems.append(f"{type_name}.{field_name}({arg_name})")
    assert problems == []
