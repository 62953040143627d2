"""The kit's read checks: values, pages, request counts, faults and throttling on every read.

Every read hook of the role (a store's locations, stock, backorder policies and catalog; a
channel's listings) is compared with the fake's truth: whole, with small pages, with the page
size given as text (as `--setting page_size=20` stores it), for a subset of SKUs, after each
passing fault and under the platform's own throttle. A fault that never fired, or a throttle
that never refused a request, fails the check rather than passing it by luck.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from shelfsync.core.errors import BadResponse, PluginError, RateLimited, TransientError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit_values import (
    ContractFailure,
    ReadHook,
    compare,
    fake_truth,
    reads,
    require,
)
from shelfsync.core.types import PlatformInfo

if TYPE_CHECKING:
    from shelfsync.core.testing.kit_runner import RunningFake

#: What a fault that outlasts every retry must surface as.
PERSISTENT_FAULT_ERRORS: Mapping[str, type[PluginError]] = {
    "429": RateLimited,
    "500": TransientError,
    "502": TransientError,
    "503": TransientError,
    "timeout": TransientError,
    "malformed": BadResponse,
}
#: A connection timeout for the timeout fault, and how long the fault sleeps past it.
_FAULT_TIMEOUT = 0.5
_NO_SUCH_SKU = "CONTRACT-NO-SUCH-SKU"


def _counted(fake: RunningFake, hook: ReadHook, pm: ShelfsyncPluginManager,
             connection: Any) -> tuple[list[Any], int]:
    fake.reset_requests()
    values = hook.read(pm, connection)
    return values, fake.request_count()


def check_reads(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo,
                page_size: int) -> None:
    """Each read equals the fake's truth, with small pages (given as a number and as text)
    and default ones; small pages take more requests; a SKU subset reads just those SKUs."""
    truth = fake_truth(fake)
    small = fake.with_settings(page_size=page_size)
    as_text = fake.with_settings(page_size=str(page_size))
    for hook in reads(info, pm):
        whole, whole_requests = _counted(fake, hook, pm, fake.connection)
        compare(hook, whole, truth)
        if not hook.paged:
            continue
        paged, small_requests = _counted(fake, hook, pm, small)
        compare(hook, paged, truth, when=f" with page_size={page_size}")
        compare(hook, hook.read(pm, as_text), truth, when=f" with page_size={str(page_size)!r}")
        require(len(paged) > page_size, hook.name, "the seeded data is too small to need "
                "several pages; raise fake_options", f"more than {page_size}", len(paged))
        # A platform's page may count products rather than SKUs: compare the two reads only.
        require(small_requests > whole_requests, hook.name,
                f"page_size={page_size} was not honoured: several pages were never read",
                f"more than {whole_requests} requests", small_requests)
        if hook.sku_of is not None:
            some = sorted({hook.sku_of(key) for key in hook.view(whole)})[:3]
            subset = hook.read(pm, small, skus=[*some, _NO_SUCH_SKU])
            compare(hook, subset, truth, skus=some, when=f" for skus={some}")


def check_fault_recovered(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo,
                          kind: str, page_size: int = 20) -> None:
    """On every read, a passing fault (hitting a later page when there is one) is retried and
    the answer still equals the truth; the fault must have fired."""
    truth = fake_truth(fake)
    for hook in reads(info, pm):
        connection = fake.with_settings(page_size=page_size)
        _, requests = _counted(fake, hook, pm, connection)
        if requests == 0:
            continue  # answered without the API (a store without locations): nothing to fail
        after = 1 if requests > 1 else 0
        if kind == "timeout":
            connection = replace(connection, timeout=_FAULT_TIMEOUT)
            fake.inject_fault(kind, count=1, seconds=_FAULT_TIMEOUT + 0.5, after=after)
        else:
            fake.inject_fault(kind, count=2, after=after)
        try:
            values = hook.read(pm, connection)
            pending = fake.pending_faults()
        except PluginError as exc:
            raise ContractFailure(hook.name, f"a passing {kind} fault was not retried",
                                  "the same answer as without it",
                                  f"{type(exc).__name__}: {exc}") from exc
        finally:
            fake.clear_faults()
        require(pending == 0, hook.name, f"the injected {kind} fault never fired",
                "the fault consumed", f"{pending} pending")
        compare(hook, values, truth, when=f" after a passing {kind} fault")


def check_fault_persistent(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo,
                           kind: str) -> None:
    """On every read, a fault that outlasts the retries surfaces as its typed error."""
    expected = PERSISTENT_FAULT_ERRORS[kind]
    for hook in reads(info, pm):
        if _counted(fake, hook, pm, fake.connection)[1] == 0:
            continue  # answered without the API (a store without locations): nothing to fail
        fake.inject_fault(kind, count=1000)
        try:
            values = hook.read(pm, fake.connection)
        except expected:
            continue
        except PluginError as exc:
            raise ContractFailure(hook.name, f"a persistent {kind} fault raised the wrong error",
                                  expected.__name__, f"{type(exc).__name__}: {exc}") from exc
        finally:
            fake.clear_faults()
        raise ContractFailure(hook.name, f"a persistent {kind} fault returned data",
                              expected.__name__, values[:3])


def check_throttled_read(pm: ShelfsyncPluginManager, fake: RunningFake,
                         info: PlatformInfo, page_size: int = 20) -> None:
    """On a small budget every read, in small pages, still equals the truth, and the
    platform's throttle did fire (patience: more attempts than the kit's default four)."""
    truth = fake_truth(fake)
    connection = fake.with_settings(page_size=page_size, retry_attempts=12)
    fake.reset_requests()
    for hook in reads(info, pm):
        compare(hook, hook.read(pm, connection), truth, when=" under throttling")
    throttled = fake.throttled()
    require(throttled > 0, info.name, "throttle_options never made the fake throttle a request "
            "(the fake must call note_throttled(); or the options are too generous)",
            "at least 1 throttled request", throttled)
