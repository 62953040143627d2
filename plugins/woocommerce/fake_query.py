"""Collection queries as WordPress answers them: parameter checks, date filters, pages.

- `per_page` 1–100 (default 10) and `page` ≥ 1; anything else is WordPress's
  `rest_invalid_param` 400 naming the parameter.
- `after`/`before` compare the creation date, `modified_after`/`modified_before` the
  modification date, strictly (WP_Date_Query, not inclusive). Each must be an RFC 3339 date
  (`rest_parse_date`); one without an offset is site time, or GMT with `dates_are_gmt=true` —
  the fake's site runs on UTC, so both read the same.
- `orderby` (`date`, `id`, `modified`, `title`; default `date`) and `order` (default `desc`),
  ties broken by id as MySQL happens to on an indexed table.
- Headers: `X-WP-Total`, `X-WP-TotalPages` and a `Link` with `prev`/`next` relations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from shelfsync.core.testing.fakes import json_response

T = TypeVar("T")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$")
MAX_PER_PAGE = 100
ORDERBY = ("date", "id", "modified", "title", "include", "slug")


class InvalidParam(ValueError):
    """A query parameter WordPress would refuse (`rest_invalid_param`)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self.name = name
        self.reason = reason

    def response(self) -> Response:
        """WordPress's 400 for it."""
        return json_response({
            "code": "rest_invalid_param", "message": f"Invalid parameter(s): {self.name}",
            "data": {"status": 400, "params": {self.name: self.reason},
                     "details": {self.name: {"code": "rest_invalid_type",
                                             "message": self.reason, "data": None}}},
        }, 400)


def parse_date(name: str, raw: str) -> datetime:
    """An RFC 3339 date as UTC (a date without an offset is site time, which is UTC)."""
    if not _RFC3339.match(raw):
        raise InvalidParam(name, "Invalid date.")
    text = raw.replace(" ", "T").replace("t", "T").replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def integer(args: MultiDict[str, str], name: str, default: int, low: int,
            high: int | None = None) -> int:
    """An integer parameter within bounds, as WordPress's schema validation checks it."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParam(name, f"{name} is not of type integer.") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} (inclusive) and {high} (inclusive)" if high else \
            f"greater than or equal to {low}"
        raise InvalidParam(name, f"{name} must be {bound}")
    return value


def boolean(args: MultiDict[str, str], name: str) -> bool:
    """A boolean parameter (`true`/`false`/`1`/`0`, as rest_sanitize_boolean reads it)."""
    raw = (args.get(name) or "").lower()
    if raw in ("", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise InvalidParam(name, f"{name} is not of type boolean.")


def date_filters(args: MultiDict[str, str], created: Callable[[T], datetime],
                 modified: Callable[[T], datetime]) -> Callable[[T], bool]:
    """A predicate for `after`, `before`, `modified_after`, `modified_before`."""
    boolean(args, "dates_are_gmt")  # validated; the fake's site time is GMT
    bounds = {name: parse_date(name, args[name])
              for name in ("after", "before", "modified_after", "modified_before")
              if args.get(name)}

    def keep(item: T) -> bool:
        made, changed = created(item), modified(item)
        return (("after" not in bounds or made > bounds["after"])
                and ("before" not in bounds or made < bounds["before"])
                and ("modified_after" not in bounds or changed > bounds["modified_after"])
                and ("modified_before" not in bounds or changed < bounds["modified_before"]))

    return keep


def ordered(items: list[T], args: MultiDict[str, str], keys: dict[str, Callable[[T], Any]]
            ) -> list[T]:
    """`items` sorted by `orderby`/`order`, ties by id in the same direction."""
    orderby = args.get("orderby") or "date"
    if orderby not in keys:
        raise InvalidParam("orderby", f"orderby is not one of {', '.join(keys)}.")
    direction = args.get("order") or "desc"
    if direction not in ("asc", "desc"):
        raise InvalidParam("order", "order is not one of asc and desc.")
    key = keys[orderby]
    return sorted(items, key=lambda item: (key(item), keys["id"](item)),
                  reverse=direction == "desc")


def id_list(args: MultiDict[str, str], name: str) -> list[int] | None:
    """`include=1,2` or `include[]=1&include[]=2`, as WordPress reads an array of ids."""
    raw = args.getlist(name) + args.getlist(f"{name}[]")
    if not raw:
        return None
    try:
        return [int(part) for value in raw for part in value.split(",") if part.strip()]
    except ValueError:
        raise InvalidParam(name, f"{name}[0] is not of type integer.") from None


def page_of(items: Sequence[Any], args: MultiDict[str, str], url: str,
            render: Callable[[Any], dict[str, Any]]) -> Response:
    """One page of `items` with WordPress's paging headers."""
    per_page = integer(args, "per_page", 10, 1, MAX_PER_PAGE)
    page = integer(args, "page", 1, 1)
    offset = integer(args, "offset", (page - 1) * per_page, 0)
    total = len(items)
    pages = math.ceil(total / per_page) if total else 0
    chunk = items[offset:offset + per_page]
    links = []
    plain = [(k, v) for k, v in args.items(multi=True)
             if k not in ("page", "consumer_key", "consumer_secret")]
    if page > 1:
        links.append(f'<{url}?{urlencode([*plain, ("page", page - 1)])}>; rel="prev"')
    if page < pages:
        links.append(f'<{url}?{urlencode([*plain, ("page", page + 1)])}>; rel="next"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    if links:
        headers["Link"] = ", ".join(links)
    return json_response([render(item) for item in chunk], 200, headers)
