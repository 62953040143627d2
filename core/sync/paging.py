"""Whole-catalog reads come page by page: the contract, checked as the pages arrive.

A whole-catalog hook (`shelfsync_fetch_stock_levels` / `_backorder_policies` with
`skus=None`, `shelfsync_fetch_catalog`, `shelfsync_fetch_listings`) returns an iterable of
pages, each page a `list` of the hook's type, typically a generator that fetches the next
page only when asked. The engine handles a page (records it and commits) before it asks for
the next one, so no transaction is open while the plugin waits on the network and a worker's
memory holds one page, whatever the size of the catalog. A SKU-scoped read
(`skus=[...]`) still answers one list.

An answer or page of the wrong shape is a plugin bug, `PluginContractError` (never retried:
another attempt would get the same answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from shelfsync.core.errors import PluginContractError

T = TypeVar("T")


def _bad(platform: str, hook: str, what: str) -> PluginContractError:
    return PluginContractError(f"{platform}: {hook} {what}", platform=platform,
                               code="plugin_bad_answer")


def checked_list(answer: Any, kind: type[T], *, platform: str, hook: str) -> list[T]:
    """A one-list answer (a SKU-scoped read), each element a `kind`."""
    if not isinstance(answer, list):
        raise _bad(platform, hook, f"returned {type(answer).__name__}, not a list")
    for index, item in enumerate(answer):
        if not isinstance(item, kind):
            raise _bad(platform, hook, f"returned a list whose item {index} is a "
                       f"{type(item).__name__}, not a {kind.__name__}")
    return answer


def checked_pages(answer: Any, kind: type[T], *, platform: str,
                  hook: str) -> Iterator[list[T]]:
    """The pages of a whole-catalog answer, each checked as it arrives: a `list` of `kind`.

    A flat list of items (the one-list answer of a SKU-scoped read) is refused with a line
    saying so: whole-catalog reads yield pages.
    """
    if isinstance(answer, (str, bytes, Mapping)) or not isinstance(answer, Iterable):
        raise _bad(platform, hook, f"returned {type(answer).__name__}, not an iterable of "
                   f"pages (lists of {kind.__name__})")
    for number, page in enumerate(answer, start=1):
        if isinstance(page, kind):
            raise _bad(platform, hook, f"returned {kind.__name__} items where pages were "
                       f"expected: a whole-catalog read yields lists of {kind.__name__}")
        if not isinstance(page, list):
            raise _bad(platform, hook, f"page {number} is a {type(page).__name__}, not a "
                       f"list of {kind.__name__}")
        yield checked_list(page, kind, platform=platform, hook=f"{hook} page {number}")
