"""A small validator of requests and answers against Adobe's Magento 2.4.8 admin REST schema
(`magento-2.4.8-admin-rest-swagger.yaml`, Swagger 2.0), used by the Magento tests.

Found through the `SHELFSYNC_REFERENCE_DIR`
environment variable, else the first `shared/reference` folder above this file (the
repository's sibling `../shared/reference`, wherever the checkout lives). Missing: a skip
outside CI, a failure in CI (`unavailable`).

What is checked:
- the path (after `/rest/{store}/`) matches one of the schema's path templates for the method;
- every query parameter name is one the operation declares, with list indexes read as `0` and
  snake_case `searchCriteria` names read as their camelCase spelling (Magento takes both);
- the JSON body matches the body parameter's schema, and so does every answer (the status's
  schema, or `error-response`): types, required properties, and *no property the schema does
  not declare*, at any depth.

Two readings of the schema, both how Magento behaves: a `null` value is allowed where a
property is typed (Magento writes unset values as null), and `error-response.parameters`,
typed as an array of `{resources, fieldName, fieldValue}` objects, is what Magento writes as
a list of positional values (`%1`) or an object of named ones (`%fieldName`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shelfsync.core.testing.environment import unavailable

SCHEMA_FILE = "magento-2.4.8-admin-rest-swagger.yaml"
_REST = re.compile(r"^/rest(?:/[A-Za-z0-9_]+)?(/V1/.*)$")
_INDEX = re.compile(r"\[\d+\]")
_SNAKE = {"filter_groups": "filterGroups", "condition_type": "conditionType",
          "sort_orders": "sortOrders", "page_size": "pageSize", "current_page": "currentPage"}


def reference_file() -> Path | None:
    """The reference schema, or None when it cannot be found."""
    configured = os.environ.get("SHELFSYNC_REFERENCE_DIR")
    if configured:
        candidate = Path(configured) / SCHEMA_FILE
        return candidate if candidate.is_file() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / SCHEMA_FILE
        if candidate.is_file():
            return candidate
    return None


@cache
def _load(path: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def schema() -> dict[str, Any]:
    """The parsed reference (skip outside CI, fail in CI, when it is missing)."""
    path = reference_file()
    if path is None:
        unavailable(f"{SCHEMA_FILE} not found (set SHELFSYNC_REFERENCE_DIR or check out "
                    "../shared/reference)")
    return _load(path)


@dataclass
class Operation:
    """One operation of the schema."""

    template: str
    spec: dict[str, Any]


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    paths = schema()["paths"]
    # Literal templates first, so /V1/orders/items never reads as /V1/orders/{id}.
    ordered = sorted(paths, key=lambda t: (t.count("{"), -len(t)))
    return [(_template_regex(t), t) for t in ordered]


def operation(method: str, path: str) -> Operation:
    """The schema operation serving `method path` (a full `/rest/...` path); AssertionError
    naming it when there is none."""
    match = _REST.match(path)
    assert match, f"{path} is not under /rest/.../V1/"
    rest = match.group(1)
    for regex, template in _templates():
        if regex.match(rest):
            spec = schema()["paths"][template].get(method.lower())
            if spec is not None:
                return Operation(template, spec)
    raise AssertionError(f"{method} {rest}: no such operation in Adobe's schema")


def _query_name(name: str) -> str:
    name = _INDEX.sub("[0]", name)
    for snake, camel in _SNAKE.items():
        name = name.replace(f"[{snake}]", f"[{camel}]")
    return name


def check_query(op: Operation, names: list[str]) -> None:
    """Every query parameter name is declared by the operation."""
    declared = {p["name"] for p in op.spec.get("parameters", []) if p.get("in") == "query"}
    for name in names:
        normalized = _query_name(name)
        # `storeCodes[]` is PHP's list spelling of the declared `storeCodes`.
        if normalized.endswith("[]") and normalized[:-2] in declared:
            continue
        assert normalized in declared, (f"{op.template}: query parameter {name!r} is not "
                                        f"declared ({sorted(declared)})")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema()["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def validate(value: Any, node: dict[str, Any], where: str) -> None:
    """`value` matches the schema `node`; AssertionError naming the place otherwise."""
    ref = node.get("$ref", "")
    node = _resolve(node)
    if value is None:
        return
    if ref.endswith("/error-parameters"):
        assert isinstance(value, list | dict), f"{where}: parameters {value!r}"
        return
    kind = node.get("type", "object" if "properties" in node else None)
    if kind == "object":
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r:.80}"
        properties = node.get("properties")
        if properties is None:  # a free-form object
            return
        for name in node.get("required", []):
            assert name in value, f"{where}: required {name!r} missing"
        for name, item in value.items():
            assert name in properties, f"{where}: {name!r} is not in the schema"
            validate(item, properties[name], f"{where}.{name}")
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected an array, got {value!r:.80}"
        for index, item in enumerate(value):
            validate(item, node.get("items", {}), f"{where}[{index}]")
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), (
            f"{where}: {value!r}")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: expected a string, got {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: expected a boolean, got {value!r}"


def check_body(op: Operation, body: Any) -> None:
    """The request body matches the operation's body parameter (or there is none)."""
    params = [p for p in op.spec.get("parameters", []) if p.get("in") == "body"]
    if not params:
        assert body in (None, {}, b""), f"{op.template}: takes no body, got {body!r}"
        return
    validate(body, params[0]["schema"], f"{op.template} body")


def check_answer(op: Operation, status: int, body: Any) -> None:
    """The answer matches the schema for its status (or `error-response` for an error)."""
    responses = op.spec.get("responses", {})
    if status >= 400:
        node = {"$ref": "#/definitions/error-response"}
    else:
        spec = responses.get(str(status)) or responses.get("200")
        assert spec is not None, f"{op.template}: no {status} answer in the schema"
        node = spec.get("schema") or {}
    validate(body, node, f"{op.template} answer {status}")
