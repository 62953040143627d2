"""Check wc/v3 requests and answers against the OpenAPI description generated from a live
store's routes (../shared/reference/woocommerce-wc-v3-openapi-3.1-generated.json).

The document comes from WordPress's own route index, so it has WordPress's quirks: a write's
body fields are listed as its parameters (`in: query`), a collection's 200 names the item
schema, and types include `mixed` and `date-time`. Read-only flags were lost in generation,
so which fields WooCommerce keeps is checked by the fake (`fake_fields`), not here.

Deviations of the real API from the generated schema, each allowed here on purpose
(`DEVIATIONS`: what the controllers' prepare_object_for_response prints, and WooCommerce's
own documented examples show, against what their schemas declare):
- a variation's `manage_stock` is `"parent"` when its parent manages its stock
  (WC_Product_Variation::get_manage_stock, view context), though the schema says boolean;
- `shipping_class_id` is printed as an integer, an order's `version` as text ("9.4.0"), a
  variation found through `/products?sku=` has `type: "variation"`, and a variation carries
  `date_created_gmt`/`date_modified_gmt`, which its schema does not list;
- fields the controllers print as `null` when empty (`NULLABLE`), though typed otherwise.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

NAME = "woocommerce-wc-v3-openapi-3.1-generated.json"
PREFIX = "/wp-json/wc/v3"
#: Query parameters the document does not list because WordPress reads them before routing.
AUTH_PARAMS = frozenset({"consumer_key", "consumer_secret"})
NULLABLE = frozenset({
    "stock_quantity", "low_stock_amount", "date_on_sale_from", "date_on_sale_from_gmt",
    "date_on_sale_to", "date_on_sale_to_gmt", "image", "date_paid", "date_paid_gmt",
    "date_completed", "date_completed_gmt",
})
#: (field name, a test of the value) the real API prints though the schema says otherwise.
DEVIATIONS: dict[str, Any] = {
    "manage_stock": lambda v: v == "parent",
    "shipping_class_id": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "version": lambda v: isinstance(v, str),
    "type": lambda v: v == "variation",
}
UNLISTED = frozenset({"date_created_gmt", "date_modified_gmt"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def find_reference() -> Path | None:
    """The reference file: `$SHELFSYNC_REFERENCE_DIR`, or a `shared/reference` folder in a
    directory above this file (the repository's `../shared/reference`)."""
    given = os.environ.get("SHELFSYNC_REFERENCE_DIR")
    if given:
        return Path(given) / NAME
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "reference" / NAME
        if candidate.is_file():
            return candidate
    return None


@cache
def load(path: str) -> dict[str, Any]:
    """The parsed document."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def operation(doc: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The document's path template and operation for a request path, the most literal
    template winning (`/products/batch` before `/products/{id}`)."""
    route = path.removeprefix(PREFIX) or "/"
    matches = []
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, route) and method.lower() in item:
            matches.append((template.count("{"), template, item[method.lower()]))
    if not matches:
        return None
    _, template, op = min(matches)
    return template, op


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else list(kind or [])


def check(value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str,
          errors: list[str]) -> None:
    """Append to `errors` what in `value` does not fit `schema`."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    kinds = _types(schema)
    name = where.rsplit(".", 1)[-1].split("[")[0]
    if value is None:
        if "null" not in kinds and name not in NULLABLE and "mixed" not in kinds:
            errors.append(f"{where}: null, schema says {kinds}")
        return
    if not kinds or "mixed" in kinds:
        return
    fits = {
        "string": isinstance(value, str), "date-time": isinstance(value, str)
        and bool(_DATE.match(value)), "integer": isinstance(value, int)
        and not isinstance(value, bool), "number": isinstance(value, int | float)
        and not isinstance(value, bool), "boolean": isinstance(value, bool),
        "bool": isinstance(value, bool), "array": isinstance(value, list),
        "object": isinstance(value, dict), "null": False,
    }
    deviation = DEVIATIONS.get(name, lambda v: False)(value)
    if not any(fits.get(kind, False) for kind in kinds):
        if not deviation:
            errors.append(f"{where}: {str(value)[:40]!r} is not {kinds}")
        return
    if "enum" in schema and isinstance(value, str | int) and value not in schema["enum"] \
            and not deviation:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, element in enumerate(value):
            check(element, schema["items"], doc, f"{where}[{index}]", errors)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        properties = schema["properties"]
        for key, element in value.items():
            if key == "_links":
                continue
            if key not in properties and key in UNLISTED and "date_modified" in properties:
                continue
            if key not in properties:
                errors.append(f"{where}.{key}: not in the schema")
                continue
            check(element, properties[key], doc, f"{where}.{key}", errors)


def check_query(raw: str, schema: dict[str, Any], where: str, errors: list[str]) -> None:
    """A query string value against a parameter's schema."""
    kinds = _types(schema)
    ok = ("integer" in kinds and raw.lstrip("-").isdigit()) or \
        ("boolean" in kinds and raw in ("true", "false", "1", "0")) or \
        (("date-time" in kinds or schema.get("format") == "date-time") and bool(
            _DATE.match(raw))) or ("string" in kinds and schema.get("format") != "date-time") \
        or "array" in kinds
    if not ok:
        errors.append(f"{where}: {raw!r} is not {kinds}")
    elif "enum" in schema and raw not in schema["enum"]:
        errors.append(f"{where}: {raw!r} is not one of {schema['enum']}")


def check_exchange(doc: dict[str, Any], exchange: dict[str, Any], *,
                   request: bool = True) -> list[str]:
    """Everything wrong with one recorded request (unless `request` is False: a test that
    sends bad requests on purpose) and its answer."""
    method, path = exchange["method"], exchange["path"]
    found = operation(doc, method, path)
    if found is None:
        return [f"{method} {path}: no such route in the reference"]
    template, op = found
    where = f"{method} {template}"
    params = {p["name"]: p for p in op.get("parameters", [])}
    errors: list[str] = []
    for key, raw in exchange["query"] if request else []:
        if key in AUTH_PARAMS:
            continue
        if key not in params:
            errors.append(f"{where}: query parameter {key!r} is not in the reference")
        else:
            check_query(str(raw), params[key]["schema"], f"{where} ?{key}", errors)
    body = exchange["body"]
    if isinstance(body, dict) and request:
        for key, value in body.items():
            if key not in params:
                errors.append(f"{where}: body field {key!r} is not in the reference")
            else:
                check(value, params[key]["schema"], doc, f"{where} body.{key}", errors)
    answer, status = exchange["answer"], exchange["status"]
    if status >= 400:
        if not (isinstance(answer, dict) and isinstance(answer.get("code"), str)
                and isinstance(answer.get("message"), str)
                and isinstance(answer.get("data"), dict)
                and answer["data"].get("status") == status):
            errors.append(f"{where}: error {status} is not {{code, message, data.status}}")
        return errors
    declared = str(status) if str(status) in op.get("responses", {}) else "200"
    content = op.get("responses", {}).get(declared, {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return errors
    for index, element in enumerate(answer if isinstance(answer, list) else [answer]):
        if template.endswith("/batch") and isinstance(element, dict):
            continue  # the batch answer's schema is `batch`, items checked via their routes
        check(element, schema, doc, f"{where} answer[{index}]", errors)
    return errors
