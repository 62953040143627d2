"""Relay pagination and global-id lookups for the Shopify fake.

Cursors are opaque base64 JSON like Shopify's own (`{"last_id": ..., "last_value": ...}`).
Lists are kept sorted by numeric id, so a cursor is found by bisection rather than a scan:
a benchmark pages through 10,000 variants and each page must stay cheap.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLError

from shelfsync.plugins.shopify.fake_store import ShopStore, parse_gid

#: Set while a bulk operation runs its query (fake_bulk): Shopify ignores `first`/`last` there
#: and every connection is read whole.
BULK_READ: ContextVar[bool] = ContextVar("shopify_fake_bulk_read", default=False)


def encode_cursor(num: int, value: object) -> str:
    """An opaque cursor in Shopify's style."""
    raw = json.dumps({"last_id": num, "last_value": str(value)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The id a cursor points at; a GraphQL error for anything we did not issue."""
    try:
        return int(json.loads(base64.b64decode(cursor, validate=True))["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination: {cursor!r}") from exc


class Connection:
    """One page of a Relay connection; edges and cursors are built only when asked for."""

    __slots__ = ("_has_next", "_has_prev", "_items", "_num")

    def __init__(
        self, items: Sequence[Any], num: Callable[[Any], int], has_next: bool, has_prev: bool
    ) -> None:
        self._items, self._num = items, num
        self._has_next, self._has_prev = has_next, has_prev

    @property
    def nodes(self) -> Sequence[Any]:
        return self._items

    @property
    def edges(self) -> list[dict[str, Any]]:
        return [{"cursor": self._cursor(i), "node": i} for i in self._items]

    @property
    def pageInfo(self) -> dict[str, Any]:
        items = self._items
        return {
            "hasNextPage": self._has_next,
            "hasPreviousPage": self._has_prev,
            "startCursor": self._cursor(items[0]) if items else None,
            "endCursor": self._cursor(items[-1]) if items else None,
        }

    def _cursor(self, item: Any) -> str:
        return encode_cursor(self._num(item), self._num(item))


def paginate(
    items: Sequence[Any],
    args: dict[str, Any],
    num: Callable[[Any], int] = lambda x: x.num,
    sorted_by_num: bool = True,
) -> Connection:
    """Slice `items` by first/after/last/before/reverse like Shopify's connections."""
    ascending = not args.get("reverse")
    if not ascending:
        items = items[::-1]

    def position(cursor: str, after: bool) -> int:
        target = decode_cursor(cursor)
        if sorted_by_num:
            key = (lambda x: num(x)) if ascending else (lambda x: -num(x))
            wanted = target if ascending else -target
            find = bisect_right if after else bisect_left
            return find(items, wanted, key=key)
        for index, item in enumerate(items):
            if num(item) == target:
                return index + 1 if after else index
        # A well-formed cursor of an object this page does not hold (another connection's,
        # or one gone since): Shopify does not refuse it; the fake places it by id.
        return next((index for index, item in enumerate(items) if num(item) > target),
                    len(items))

    lo, hi = 0, len(items)
    if BULK_READ.get():
        return Connection(items, num, False, False)
    if args.get("after"):
        lo = position(args["after"], after=True)
    if args.get("before"):
        hi = max(lo, position(args["before"], after=False))
    if args.get("first") is not None:
        hi = min(hi, lo + args["first"])
    if args.get("last") is not None:
        lo = max(lo, hi - args["last"])
    return Connection(items[lo:hi], num, hi < len(items), lo > 0)


def lookup(store: ShopStore, value: str | None, kind: str | None = None) -> Any:
    """The object of a global id (of `kind`, when given); a GraphQL error when malformed."""
    if value is None:
        return None
    parsed = parse_gid(value)
    if parsed is None:
        raise GraphQLError(f"Invalid global id '{value}'")
    if kind is not None and parsed[0] != kind:
        return None
    return store.by_global_id(value)
