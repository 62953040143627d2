"""Property-based fidelity: any valid query of the fake's SDL subset gets a Shopify-shaped answer.

hypothesis-graphql writes queries and mutations from `fake_schema.graphql` (other selections,
aliases, argument orders and values than the plugin ever sends); each goes over real HTTP to a
running fake. The answer must be a 200 (never a 5xx) and either `data` whose shape follows the
query exactly (every selected key, scalars of the right kind, lists where lists, nulls only
where the schema or a reported error allows them) with `extensions.cost`, or `errors` that a
real Shopify gives for that very query (missing `first`/`last`, a page above 250, a malformed
global id or cursor, a cost above 1000...). An error the query does not explain fails the test.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.fake import ShopifyFake

PATH = "/admin/api/2025-04/graphql.json"
SCHEMA = graphql.build_schema(
    files("shelfsync.plugins.shopify").joinpath("fake_schema.graphql").read_text("utf-8")
)
GID = re.compile(r"^gid://shopify/[A-Za-z]+/\d+(\?.*)?$")
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
QUANTITY_NAMES = {
    "available", "committed", "damaged", "incoming", "on_hand", "quality_control", "reserved",
    "safety_stock",
}  # fmt: skip
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fake() -> ShopifyFake:
    # A bucket that never runs dry: throttling is covered elsewhere, here it would only add noise.
    return ShopifyFake(products=3, variants=2, bucket_size=10**9, restore_rate=10**9)


@pytest.fixture(scope="module")
def client(fake: ShopifyFake) -> Iterator[httpx.Client]:
    with serving(fake) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        http.headers["X-Shopify-Access-Token"] = fake.access_token
        yield http


def _scalars(fake: ShopifyFake) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Argument values a client would send: mostly real ids and names, sometimes wrong ones."""
    store = fake.store
    real = [
        f"gid://shopify/{kind}/{obj.num}"
        for kind, objs in (
            ("ProductVariant", store.variants),
            ("Product", store.products),
            ("InventoryItem", store.items),
            ("Location", store.locations),
        )
        for obj in objs[:2]
    ]
    ids = [*real * 3, "gid://shopify/Product/0", "gid://shopify/Widget/1", "123"]
    cursor = base64.b64encode(
        json.dumps({"last_id": store.variants[0].num, "last_value": "x"}).encode()
    ).decode()
    strings = [*sorted(QUANTITY_NAMES), "available", f"sku:{store.variants[0].sku}", "", cursor]
    strings += ["correction", "garbage", "title:*"]
    return {
        "ID": st.sampled_from(ids).map(nodes.String),
        "Int": st.sampled_from([*[1, 2, 3] * 5, 0, 5, 10, 251, -1]).map(nodes.Int),
        "String": st.sampled_from(strings).map(nodes.String),
        "DateTime": st.sampled_from(["2025-01-01T00:00:00Z", "2999-01-01T00:00:00Z"]).map(
            nodes.String
        ),
        "Decimal": st.sampled_from(["1.00", "19.99"]).map(nodes.String),
        "Money": st.just(nodes.String("1.00")),
        "URL": st.sampled_from(["https://example.test/hooks", "nope"]).map(nodes.String),
        "UnsignedInt64": st.just(nodes.String("1")),
        "JSON": st.just(nodes.Object([])),
    }


class _DropStrangerCursors(graphql.Visitor):
    """Keeps `after`/`before` only when they hold a cursor the fake issued.

    Garbage cursors are refused (tested by hand elsewhere); left in, they would make most
    generated queries fail on that alone and the rest of the answer would go unchecked.
    """

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
        if node.name.value in ("after", "before") and not (
            isinstance(node.value, graphql.StringValueNode) and _issued(node.value.value)
        ):
            return graphql.REMOVE
        return None


def printed(document: graphql.DocumentNode) -> str:
    """The generated document as a client would send it."""
    return graphql.print_ast(graphql.visit(document, _DropStrangerCursors()))


# --- what the query asks for ----------------------------------------------------------------


def _literal(node: graphql.ValueNode | None) -> Any:
    return graphql.value_from_ast_untyped(node) if node is not None else None


class _Arguments(graphql.Visitor):
    """Every argument literal, with the named type of the field it is on."""

    def __init__(self, type_info: graphql.TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.fields: list[tuple[str, str, dict[str, Any]]] = []
        self.ids: list[str] = []

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
        field = self.type_info.get_field_def()
        if field is not None:
            args = {a.name.value: _literal(a.value) for a in node.arguments or ()}
            self.fields.append((graphql.get_named_type(field.type).name, node.name.value, args))

    def enter_string_value(self, node: graphql.StringValueNode, *_: Any) -> None:
        input_type = self.type_info.get_input_type()
        if input_type is not None and graphql.get_named_type(input_type).name == "ID":
            self.ids.append(node.value)


def _arguments(document: graphql.DocumentNode) -> _Arguments:
    type_info = graphql.TypeInfo(SCHEMA)
    found = _Arguments(type_info)
    graphql.visit(document, graphql.TypeInfoVisitor(type_info, found))
    return found


def _issued(cursor: str) -> bool:
    try:
        return isinstance(json.loads(base64.b64decode(cursor, validate=True))["last_id"], int)
    except (ValueError, KeyError, TypeError):
        return False


def unexplained(error: dict[str, Any], document: graphql.DocumentNode) -> str | None:
    """Why Shopify would NOT give this error for this query; None when it would."""
    found = _arguments(document)
    message = error.get("message", "")
    pages = [(name, a) for type_name, name, a in found.fields if type_name.endswith("Connection")]
    sizes = [a.get(k) for _, a in pages for k in ("first", "last") if a.get(k) is not None]
    code = (error.get("extensions") or {}).get("code")
    if code == "MAX_COST_EXCEEDED":
        return None if error["extensions"]["cost"] > 1000 else "cost under the maximum"
    if message == "you must provide one of first or last":
        missing = any(a.get("first") is None and a.get("last") is None for _, a in pages)
        return None if missing else "every connection has first or last"
    if re.match(r"^(first|last) cannot exceed 250\.", message):
        return None if any(s > 250 for s in sizes) else "no page above 250"
    if re.match(r"^(first|last) cannot be negative$", message):
        return None if any(s < 0 for s in sizes) else "no negative page size"
    if match := re.match(r"^Invalid global id '(.*)'$", message, re.S):
        value = match.group(1)
        ok = value in found.ids and not GID.match(value)
        return None if ok and code == "argumentLiteralsIncompatible" else "id is well-formed"
    if match := re.match(r"^Invalid cursor for current pagination: '(.*)'$", message, re.S):
        cursors = [a.get(k) for _, a in pages for k in ("after", "before")]
        value = match.group(1)
        return None if value in cursors and not _issued(value) else "cursor is one we issued"
    if message.startswith("Invalid quantity name(s): "):
        asked = [n for t, f, a in found.fields if f == "quantities" for n in a.get("names") or []]
        return None if set(asked) - QUANTITY_NAMES else "every quantity name is valid"
    return f"no known Shopify error for this query: {message!r}"


# --- the shape of the answer ----------------------------------------------------------------


def _scalar_ok(type_name: str, value: Any) -> bool:
    checks = {
        "ID": lambda v: isinstance(v, str) and bool(GID.match(v)),
        "String": lambda v: isinstance(v, str),
        "Boolean": lambda v: isinstance(v, bool),
        "Int": lambda v: type(v) is int and -(2**31) <= v < 2**31,
        "Float": lambda v: type(v) in (int, float),
        "DateTime": lambda v: isinstance(v, str) and bool(DATETIME.match(v)),
        "Decimal": lambda v: isinstance(v, str) and bool(DECIMAL.match(v)),
        "Money": lambda v: isinstance(v, str) and bool(DECIMAL.match(v)),
        "URL": lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
        "UnsignedInt64": lambda v: isinstance(v, str) and v.isdigit(),
    }
    return checks[type_name](value)


class Shape:
    """Checks a response's `data` against the operation that produced it."""

    def __init__(self, document: graphql.DocumentNode, error_paths: list[list[Any]]) -> None:
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, graphql.FragmentDefinitionNode)
        }
        self.error_paths = error_paths
        self.problems: list[str] = []

    def _collect(self, sets: list[Any], runtime: graphql.GraphQLObjectType) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for selection_set in sets:
            for sel in selection_set.selections:
                if isinstance(sel, graphql.FieldNode):
                    out.setdefault(sel.alias.value if sel.alias else sel.name.value, []).append(sel)
                    continue
                target = (
                    sel
                    if isinstance(sel, graphql.InlineFragmentNode)
                    else (self.fragments[sel.name.value])
                )
                cond = target.type_condition
                cond_type = SCHEMA.get_type(cond.name.value) if cond else runtime
                if cond_type is runtime or (
                    graphql.is_abstract_type(cond_type) and SCHEMA.is_sub_type(cond_type, runtime)
                ):
                    for key, found in self._collect([target.selection_set], runtime).items():
                        out.setdefault(key, []).extend(found)
        return out

    def object(self, sets: list[Any], runtime: Any, value: Any, path: list[Any]) -> None:
        if graphql.is_abstract_type(runtime):
            for candidate in SCHEMA.get_possible_types(runtime):
                trial = Shape.__new__(Shape)
                trial.fragments, trial.error_paths, trial.problems = (
                    self.fragments,
                    self.error_paths,
                    [],
                )
                trial.object(sets, candidate, value, path)
                if not trial.problems:
                    return
            self.problems.append(f"{path}: fits no type of {runtime.name}: {value!r}"[:300])
            return
        if not isinstance(value, dict):
            self.problems.append(f"{path}: expected an object, got {value!r}"[:300])
            return
        wanted = self._collect(sets, runtime)
        if set(wanted) != set(value):
            self.problems.append(f"{path}: keys {sorted(value)} != selected {sorted(wanted)}")
            return
        for key, field_nodes in wanted.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                if value[key] != runtime.name:
                    self.problems.append(f"{[*path, key]}: __typename {value[key]!r}")
                continue
            subsets = [n.selection_set for n in field_nodes if n.selection_set]
            self.value(runtime.fields[name].type, subsets, value[key], [*path, key])

    def value(self, type_: Any, sets: list[Any], value: Any, path: list[Any]) -> None:
        if value is None:
            nulled = any(p[: len(path)] == path for p in self.error_paths)
            if graphql.is_non_null_type(type_) and not nulled:
                self.problems.append(f"{path}: null for non-null {type_}")
            return
        type_ = type_.of_type if graphql.is_non_null_type(type_) else type_
        if graphql.is_list_type(type_):
            if not isinstance(value, list):
                self.problems.append(f"{path}: expected a list, got {value!r}"[:300])
                return
            for index, item in enumerate(value):
                self.value(type_.of_type, sets, item, [*path, index])
        elif isinstance(type_, graphql.GraphQLEnumType):
            if value not in type_.values:
                self.problems.append(f"{path}: {value!r} is not a {type_.name}")
        elif isinstance(type_, graphql.GraphQLScalarType):
            if not _scalar_ok(type_.name, value):
                self.problems.append(f"{path}: {value!r} is not a valid {type_.name}")
        else:
            self.object(sets, type_, value, path)


def check(client: httpx.Client, query: str) -> dict[str, Any]:
    """Send one generated operation and assert the answer is one Shopify could give."""
    response = client.post(PATH, json={"query": query})
    assert response.status_code == 200, (response.status_code, response.text[:500], query)
    body = response.json()
    document = graphql.parse(query)
    errors = body.get("errors") or []
    for error in errors:
        reason = unexplained(error, document)
        assert reason is None, (reason, error, query)
    if "data" not in body:
        assert errors, body
        return body
    assert "cost" in body.get("extensions", {}), body
    cost = body["extensions"]["cost"]
    assert cost["actualQueryCost"] <= cost["requestedQueryCost"] <= 1000, cost
    if body["data"] is not None:
        operation = graphql.get_operation_ast(document)
        assert operation is not None
        root = (
            SCHEMA.mutation_type if operation.operation.value == "mutation" else (SCHEMA.query_type)
        )
        shape = Shape(document, [e.get("path") or [] for e in errors])
        shape.object([operation.selection_set], root, body["data"], [])
        assert shape.problems == [], (shape.problems, query)
    else:
        assert errors, body
    return body


def test_generated_queries_get_shopify_shaped_answers(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    outcomes: dict[str, int] = {"data": 0, "errors": 0}

    @SETTINGS
    @given(queries(SCHEMA, custom_scalars=_scalars(fake), print_ast=printed, allow_x00=False))
    def run(query: str) -> None:
        body = check(client, query)
        outcomes["data" if body.get("data") else "errors"] += 1

    run()
    # The strategies are tuned so that a good share of generated queries really execute
    # (hypothesis-graphql leaves out optional arguments such as `first` at random).
    assert outcomes["data"] * 2 >= outcomes["errors"], outcomes


def test_generated_mutations_get_shopify_shaped_answers(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    @settings(SETTINGS, max_examples=30)
    @given(mutations(SCHEMA, custom_scalars=_scalars(fake), print_ast=printed, allow_x00=False))
    def run(query: str) -> None:
        check(client, query)

    run()
