"""The contract kit catches each of 15 bugs a store-plugin author plausibly writes.

The toy store (`toystore/fake.py`, a JSON REST API) and its plugin (`toystore/plugin.py`,
built on `shelfsync.core.rest`) pass the whole kit as they are (`TestToyStoreContract`).
Each bug below is a switch in the plugin; with it on, the named kit check must fail — every
time, whatever the seed:

| bug | what the plugin does wrong | caught by |
| --- | --- | --- |
| rate_limit_is_end | a 429 during the stock read ends the data | 429 fault |
| stock_first_page_only | the stock read stops after its first page | values + pages |
| continue_selling_inverted | the continue-selling flag is inverted | values |
| all_locations_active | every location is reported active | values |
| lookup_once | create_order looks up once, not before every retry | "lost" fault |
| swapped_variants | stock reported under the other variant's SKU | values |
| wrong_auth_header | `Token …` instead of `Bearer …` | connection |
| page_size_ignored | the catalog ignores the page_size setting | request counts |
| no_5xx_retry | a 5xx is not retried | 500 fault |
| malformed_as_empty | an unreadable stock page ends the data | malformed fault |
| inactive_stock_counted | stock at inactive locations is reported | values |
| tracked_ignored | every SKU is reported as tracked | values |
| not_idempotent | create_order never looks for an existing order | create order |
| poll_off_by_one | a change poll skips the first change after its cursor | change poll |
| poll_error_is_no_change | a failed change poll answers "nothing changed" | change poll |
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.testing import kit_checks
from shelfsync.core.testing.kit import PluginContract, RunningFake
from shelfsync.core.testing.kit_polls import check_stock_changes
from shelfsync.core.testing.kit_values import ContractFailure

HERE = Path(__file__).parent / "toystore"
OPTIONS: dict[str, Any] = {"products": 12, "variants": 2, "seed": 5}
PAGE_SIZE = 5


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"toystore_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FAKE = _load("fake")
PLUGIN = _load("plugin")


def _manager(bugs: set[str]) -> ShelfsyncPluginManager:
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(PLUGIN.ToyStorePlugin(FAKE.ToyStoreFake, bugs), name="toystore")
    return pm


@pytest.fixture
def plugin_manager() -> ShelfsyncPluginManager:
    """Only the correct toy store plugin."""
    return _manager(set())


class TestToyStoreContract(PluginContract):
    platform = "toystore"
    fake_options: ClassVar[dict[str, Any]] = OPTIONS
    page_size = PAGE_SIZE
    throttle_options: ClassVar[dict[str, Any] | None] = {"throttle_every": 4}
    signature_header = "X-Toy-Signature"


def _reads(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
    kit_checks.check_pagination(pm, fake, pm.platform("toystore"), OPTIONS, PAGE_SIZE)


def _fault(kind: str) -> Callable[[ShelfsyncPluginManager, RunningFake], None]:
    def check(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
        kit_checks.check_fault_recovered(pm, fake, pm.platform("toystore"), kind, PAGE_SIZE)
    return check


#: Each bug, and the kit check that must catch it.
CATCHERS: dict[str, Callable[[ShelfsyncPluginManager, RunningFake], None]] = {
    "rate_limit_is_end": _fault("429"),
    "stock_first_page_only": _reads,
    "continue_selling_inverted": _reads,
    "all_locations_active": _reads,
    "lookup_once": kit_checks.check_create_order,
    "swapped_variants": _reads,
    "wrong_auth_header": lambda pm, fake: kit_checks.check_connection(
        pm, fake, pm.platform("toystore")),
    "page_size_ignored": _reads,
    "no_5xx_retry": _fault("500"),
    "malformed_as_empty": _fault("malformed"),
    "inactive_stock_counted": _reads,
    "tracked_ignored": _reads,
    "not_idempotent": kit_checks.check_create_order,
    "poll_off_by_one": check_stock_changes,
    "poll_error_is_no_change": check_stock_changes,
}


def test_the_table_covers_every_bug() -> None:
    assert set(CATCHERS) == set(PLUGIN.BUGS) and len(CATCHERS) == 15


@pytest.mark.parametrize("bug", sorted(CATCHERS))
def test_kit_catches_the_bug(bug: str, run_fake: Callable[..., RunningFake]) -> None:
    fake = run_fake("toystore", **OPTIONS)
    check = CATCHERS[bug]
    check(_manager(set()), fake)  # passes without the bug …
    with pytest.raises(AssertionError) as caught:
        check(_manager({bug}), run_fake("toystore", **OPTIONS))  # … fails with it
    if not isinstance(caught.value, ContractFailure):
        raise AssertionError(f"{bug}: a bare AssertionError: {caught.value}")
    assert caught.value.hook.startswith("shelfsync_"), caught.value
