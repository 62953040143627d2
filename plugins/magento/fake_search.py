"""`searchCriteria` as Magento's REST layer reads it from a query string, and a search over
plain records with it.

Both spellings Magento accepts are read: `filterGroups/filters/conditionType/sortOrders/
pageSize/currentPage` and `filter_groups/…/condition_type/sort_orders/page_size/
current_page` (the REST layer turns snake_case into the setter's CamelCase). A key it does
not know is refused like any unknown field (`"Foo" is not supported…`). Filters inside a group
are OR-ed, groups are AND-ed; a missing `conditionType` is `eq`. Paging follows Magento's
collections: a `currentPage` past the last page answers the last page again (never an empty
page), `total_count` counts every match, and without `pageSize` every match comes back —
unless the Web API input limits are on, which make the default page 20 and refuse more than
300 (`Maximum SearchCriteria pageSize is %max`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shelfsync.plugins.magento.fake_errors import MagentoError, unsupported_field

CONDITIONS = ("eq", "neq", "in", "nin", "gt", "gteq", "lt", "lteq", "like", "null", "notnull")
LIMITED_MAX_PAGE_SIZE = 300
LIMITED_DEFAULT_PAGE_SIZE = 20
_KEY = re.compile(r"searchCriteria((?:\[[^\[\]]*\])+)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
_NAMES = {"filterGroups": "filter_groups", "filter_groups": "filter_groups",
          "sortOrders": "sort_orders", "sort_orders": "sort_orders",
          "pageSize": "page_size", "page_size": "page_size",
          "currentPage": "current_page", "current_page": "current_page"}
_FILTER_NAMES = {"field": "field", "value": "value", "conditionType": "condition_type",
                 "condition_type": "condition_type"}


@dataclass
class Criteria:
    """A parsed `searchCriteria`."""

    groups: list[list[dict[str, str]]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> dict[str, Any]:
        """The `search_criteria` object Magento echoes in a list answer."""
        echoed: dict[str, Any] = {"filter_groups": [
            {"filters": [dict(f) for f in group]} for group in self.groups]}
        if self.sort:
            echoed["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort]
        if self.page_size is not None:
            echoed["page_size"] = self.page_size
        if self.current_page is not None:
            echoed["current_page"] = self.current_page
        return echoed


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _integer(name: str, raw: str) -> int:
    if not re.fullmatch(r"-?[0-9]{1,9}", raw.strip()):
        raise MagentoError(400, 'The "%1" value\'s type is invalid. The "%2" type was '
                           "expected. Verify and try again.", [raw, "int"])
    return int(raw)


def parse_criteria(args: Mapping[str, str], *, required: bool = True) -> Criteria:
    """The `searchCriteria` in query `args` (a flat mapping of bracketed keys)."""
    criteria = Criteria()
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    seen = False
    for key, raw in args.items():
        if not key.startswith("searchCriteria"):
            continue
        seen = True
        if key == "searchCriteria" and not raw:
            continue  # `?searchCriteria=`: no criteria, every match (Adobe's docs use it)
        match = _KEY.fullmatch(key)
        if match is None:
            raise unsupported_field(key)
        parts = _PART.findall(match.group(1))
        name = _NAMES.get(parts[0])
        if name is None:
            raise unsupported_field(_camel(parts[0]))
        if name in ("page_size", "current_page"):
            if len(parts) != 1:
                raise unsupported_field(_camel(parts[1]))
            setattr(criteria, name, _integer(parts[0], raw))
        elif name == "filter_groups":
            if (len(parts) != 5 or parts[2] != "filters" or not parts[1].isdigit()
                    or not parts[3].isdigit() or parts[4] not in _FILTER_NAMES):
                raise unsupported_field(_camel(parts[-1]))
            filters = groups.setdefault(int(parts[1]), {})
            filters.setdefault(int(parts[3]), {})[_FILTER_NAMES[parts[4]]] = raw
        else:
            if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ("field",
                                                                              "direction"):
                raise unsupported_field(_camel(parts[-1]))
            sorts.setdefault(int(parts[1]), {})[parts[2]] = raw
    if required and not seen:
        raise MagentoError(400, '"%fieldName" is required. Enter and try again.',
                           {"fieldName": "searchCriteria"})
    for index in sorted(groups):
        group = []
        for position in sorted(groups[index]):
            spec = groups[index][position]
            if "field" not in spec:
                raise MagentoError(400, '"%fieldName" is required. Enter and try again.',
                                   {"fieldName": "field"})
            spec.setdefault("condition_type", "eq")
            spec.setdefault("value", "")
            if spec["condition_type"] not in CONDITIONS:
                raise MagentoError(400, 'Invalid value of "%1" provided for the %2 field.',
                                   [spec["condition_type"], "condition_type"])
            group.append({"field": spec["field"], "value": spec["value"],
                          "condition_type": spec["condition_type"]})
        criteria.groups.append(group)
    for index in sorted(sorts):
        direction = sorts[index].get("direction", "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise MagentoError(400, 'Invalid value of "%1" provided for the %2 field.',
                               [sorts[index].get("direction", ""), "direction"])
        criteria.sort.append((sorts[index].get("field", ""), direction))
    return criteria


_NUMERIC = re.compile(r"\s*[-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\s*")


def _number(value: Any) -> float | None:
    if isinstance(value, bool | int | float):
        return float(value)
    text = str(value)
    # A pattern, not float()'s exception, decides: most values compared are SKUs and codes.
    return float(text) if _NUMERIC.fullmatch(text) else None


def _compare(left: Any, right: str) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    text = "" if left is None else str(left)
    return (text > right) - (text < right)


def predicate(spec: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    """One filter as a test of a record (its list and pattern prepared once)."""
    field, wanted, kind = spec["field"], spec["value"], spec["condition_type"]
    listed = {part.strip() for part in wanted.split(",")}
    pattern = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                                 for c in wanted), re.IGNORECASE)
    if kind == "null":
        return lambda r: r.get(field) is None
    if kind == "notnull":
        return lambda r: r.get(field) is not None

    def test(value: Any) -> bool:
        text = str(value)
        if kind == "eq":
            return text == wanted or _compare(value, wanted) == 0
        if kind == "neq":
            return text != wanted and _compare(value, wanted) != 0
        if kind == "in":
            return text in listed or any(_compare(value, item) == 0 for item in listed)
        if kind == "nin":
            return text not in listed and all(_compare(value, i) != 0 for i in listed)
        if kind == "like":
            return pattern.fullmatch(text) is not None
        order = _compare(value, wanted)
        return {"gt": order > 0, "gteq": order >= 0, "lt": order < 0, "lteq": order <= 0}[kind]

    return lambda r: (value := r.get(field)) is not None and test(value)


def matches(record: Mapping[str, Any], spec: Mapping[str, str]) -> bool:
    """Whether `record` passes one filter."""
    return predicate(spec)(record)


def search(records: Sequence[Mapping[str, Any]], criteria: Criteria, *, limits: bool,
           fields: Sequence[str]) -> tuple[list[Mapping[str, Any]], int]:
    """(the page of `records` the criteria select, total matches). `fields` are the fields
    that may be filtered or sorted on; another is refused as Magento's collection would."""
    for group in criteria.groups:
        for spec in group:
            if spec["field"] not in fields:
                raise MagentoError(400, 'Invalid value of "%1" provided for the %2 field.',
                                   [spec["field"], "field"])
    groups = [[predicate(spec) for spec in group] for group in criteria.groups]
    found = [r for r in records if all(any(test(r) for test in g) for g in groups)]
    for name, direction in reversed(criteria.sort):
        if name not in fields:
            raise MagentoError(400, 'Invalid value of "%1" provided for the %2 field.',
                               [name, "field"])
        found.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=direction == "DESC")
    size = criteria.page_size
    if limits:
        if size is not None and size > LIMITED_MAX_PAGE_SIZE:
            raise MagentoError(400, "Maximum SearchCriteria pageSize is %max",
                               {"max": str(LIMITED_MAX_PAGE_SIZE)})
        if size is None:
            size = criteria.page_size = LIMITED_DEFAULT_PAGE_SIZE
    total = len(found)
    if size is None or size <= 0:
        return found, total
    last = max(1, -(-total // size))
    page = min(max(criteria.current_page or 1, 1), last)  # past the end: the last page again
    return found[(page - 1) * size: page * size], total


def _sort_key(value: Any) -> tuple[int, Any]:
    number = _number(value)
    if number is not None and not isinstance(value, str):
        return (0, number)
    return (1, "" if value is None else str(value))
