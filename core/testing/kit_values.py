"""The kit's value checks: every read is compared with what the fake really holds.

A read that is complete, typed and free of duplicates can still be wrong: quantities under
the wrong SKU, an inverted flag, a location called active that is not. The fake knows the
truth (`FakePlatform.truth()`, a `FakeTruth`), so each read hook's answer is compared with it,
field by field, and a failure says which hook, what was expected and what came back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shelfsync.core.errors import PluginContractError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.paging import checked_pages
from shelfsync.core.testing.fakes import FakeTruth
from shelfsync.core.types import (
    BackorderPolicy,
    CatalogItem,
    Connection,
    Listing,
    PlatformInfo,
    Role,
    StockLevel,
)

if TYPE_CHECKING:
    from shelfsync.core.testing.kit_runner import RunningFake

_SHOWN = 5


class ContractFailure(AssertionError):
    """A contract check failed: `hook`, what was `expected`, what came back (`got`)."""

    def __init__(self, hook: str, what: str, expected: Any = None, got: Any = None) -> None:
        self.hook, self.what, self.expected, self.got = hook, what, expected, got
        text = f"{hook}: {what}"
        if expected is not None or got is not None:
            text += f"\n  expected: {_short(expected)}\n  got:      {_short(got)}"
        super().__init__(text)


def require(ok: object, hook: str, what: str, expected: Any = None, got: Any = None) -> None:
    """Raise `ContractFailure` unless `ok`."""
    if not ok:
        raise ContractFailure(hook, what, expected, got)


def flatten(result: Any, hook: str) -> list[Any]:
    """A hook's answer as one list: a list as it is, or an iterable of pages (lists) joined.

    Whole-catalog reads may yield pages instead of returning a list; the kit accepts both.
    """
    if isinstance(result, list):
        return result
    require(isinstance(result, Iterable) and not isinstance(result, str | bytes | Mapping),
            hook, "answered neither a list nor an iterable of pages", "list", type(result))
    items: list[Any] = []
    for page in result:
        if isinstance(page, list | tuple):
            items.extend(page)
        else:
            items.append(page)
    return items


@dataclass(frozen=True)
class ReadHook:
    """One read hook the kit exercises, with what its answer is compared by."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    paged: bool = True
    #: Elements -> {key: value} to compare with the same shape taken from the truth.
    view: Callable[[list[Any]], dict[Any, Any]] = dict
    truth: Callable[[FakeTruth], dict[Any, Any] | None] = lambda t: None
    #: The key's SKU, to restrict the truth to the SKUs asked for.
    sku_of: Callable[[Any], str] | None = None
    #: A whole-catalog read's element type: read with `skus=None` (or taking no SKUs), its
    #: answer must be an iterable of pages (lists of it), checked as core checks it.
    kind: type | None = None

    def read(self, pm: ShelfsyncPluginManager, connection: Connection, **kwargs: Any
             ) -> list[Any]:
        """Call the hook; a whole-catalog answer's pages checked and joined."""
        arguments = {**self.kwargs, **kwargs}
        answer = pm.call(connection, self.name, **arguments)
        if self.kind is None or arguments.get("skus") is not None:
            return flatten(answer, self.name)
        try:
            return [item for page in checked_pages(answer, self.kind,
                                                   platform=connection.platform,
                                                   hook=self.name) for item in page]
        except PluginContractError as exc:
            raise ContractFailure(self.name, "a whole-catalog read must yield pages "
                                  f"({exc.message})", f"pages (lists) of {self.kind.__name__}",
                                  type(answer).__name__) from None


def _keyed(values: list[Any], key: Callable[[Any], Any], value: Callable[[Any], Any],
           hook: str) -> dict[Any, Any]:
    view: dict[Any, Any] = {}
    for element in values:
        k = key(element)
        require(k not in view, hook, f"answered {k!r} twice: a duplicate", "each once", 2)
        view[k] = value(element)
    return view


LOCATIONS = ReadHook(
    "shelfsync_fetch_locations", paged=False,
    view=lambda vs: _keyed(vs, lambda v: v.id, lambda v: v.active, "shelfsync_fetch_locations"),
    truth=lambda t: t.locations)
STOCK = ReadHook(
    "shelfsync_fetch_stock_levels", {"skus": None},
    view=lambda vs: _keyed(vs, lambda v: (v.sku, v.location_id), lambda v: v.available,
                           "shelfsync_fetch_stock_levels"),
    truth=lambda t: t.stock, sku_of=lambda key: key[0], kind=StockLevel)
BACKORDER = ReadHook(
    "shelfsync_fetch_backorder_policies", {"skus": None},
    view=lambda vs: _keyed(vs, lambda v: v.sku, lambda v: (v.continue_selling, v.tracked),
                           "shelfsync_fetch_backorder_policies"),
    truth=lambda t: t.backorder, sku_of=lambda key: key, kind=BackorderPolicy)
CATALOG = ReadHook(
    "shelfsync_fetch_catalog",
    view=lambda vs: _keyed([v for v in vs if v.sku], lambda v: v.sku, lambda v: v.variant_id,
                           "shelfsync_fetch_catalog"),
    truth=lambda t: t.catalog, kind=CatalogItem)
LISTINGS = ReadHook(
    "shelfsync_fetch_listings",
    view=lambda vs: _keyed(vs, lambda v: v.sku_id,
                           lambda v: (v.seller_sku, dict(v.quantities)),
                           "shelfsync_fetch_listings"),
    truth=lambda t: t.listings, kind=Listing)

#: The reads of each role, paged ones (whose page size, faults and request counts the kit
#: checks) and the rest.
READS: Mapping[Role, tuple[ReadHook, ...]] = {
    Role.STORE: (LOCATIONS, STOCK, BACKORDER, CATALOG),
    Role.CHANNEL: (LISTINGS,),
}


def reads(info: PlatformInfo, pm: ShelfsyncPluginManager, *, paged_only: bool = False
          ) -> list[ReadHook]:
    """The role's read hooks that the plugin implements."""
    plugin = pm.plugin_for(info.name)
    return [hook for hook in READS[info.role]
            if pm.implements(plugin, hook.name) and (hook.paged or not paged_only)]


def fake_truth(fake: RunningFake) -> FakeTruth:
    """What the running fake holds now."""
    try:
        return fake.fake.truth()
    except NotImplementedError:
        raise ContractFailure(
            f"{fake.platform} fake", "implements no truth(): the kit cannot check values",
            "a FakeTruth", "NotImplementedError") from None


def compare(hook: ReadHook, values: list[Any], truth: FakeTruth,
            skus: Sequence[str] | None = None, when: str = "") -> None:
    """Compare a read with the truth (restricted to `skus` when given); name every difference."""
    expected = hook.truth(truth)
    require(expected is not None, hook.name, "the fake's truth() gives nothing to compare with",
            "a value", None)
    assert expected is not None
    if skus is not None and hook.sku_of is not None:
        wanted = set(skus)
        expected = {k: v for k, v in expected.items() if hook.sku_of(k) in wanted}
    got = hook.view(values)
    if got == expected:
        return
    missing = sorted(set(expected) - set(got), key=repr)
    extra = sorted(set(got) - set(expected), key=repr)
    wrong = sorted((k for k in set(got) & set(expected) if got[k] != expected[k]), key=repr)
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing, e.g. {missing[:_SHOWN]}")
    if extra:
        parts.append(f"{len(extra)} not on the platform, e.g. {extra[:_SHOWN]}")
    if wrong:
        parts.append(f"{len(wrong)} with wrong values")
    raise ContractFailure(
        hook.name, f"the answer{when} differs from what the fake holds: {'; '.join(parts)}",
        {k: expected[k] for k in (wrong + missing)[:_SHOWN]},
        {k: got[k] for k in (wrong + extra)[:_SHOWN]})


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 600 else text[:600] + " …"
