"""The plugin contract test kit: run any plugin's fake, and certify the plugin against it.

A platform plugin proves itself by running the contract suite against its own fake:

    from shelfsync.core.testing.kit import PluginContract

    class TestAcmeContract(PluginContract):
        platform = "acme"

The suite finds the fake through the `shelfsync_fake_factory` hook, serves it on an ephemeral
port, builds `Connection`s from the fake's `/_fake/connections`, and adapts its checks to the
plugin's role (store or channel) as `shelfsync_platform_info` declares it. The fixtures it
uses (`plugin_manager`, `run_fake`) come from `shelfsync.core.testing.pytest_plugin`, which
pytest loads by itself once Shelfsync is installed. `start_fake()` is the same runner for
code outside pytest (benchmarks, the demo).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing import kit_checks as checks
from shelfsync.core.testing.kit_polls import check_stock_changes
from shelfsync.core.testing.kit_runner import (
    TEST_SETTINGS,
    TEST_TIMEOUT,
    RunningFake,
    fake_factory,
    start_fake,
)
from shelfsync.core.types import PlatformInfo, Role

__all__ = [
    "TEST_SETTINGS",
    "TEST_TIMEOUT",
    "PluginContract",
    "RunningFake",
    "fake_factory",
    "start_fake",
]


class PluginContract:
    """The contract suite: subclass it in a test module and set `platform`.

    Class attributes tune it to a fake: `fake_options` (a seeded catalog big enough for
    several pages), `page_size` (passed as the `page_size` setting, so pagination is
    exercised on a small catalog), `throttle_options` (fake options that make the platform's
    own throttling kick in; `None` skips that check), `signature_header` (the webhook's
    signature header, guessed when `None`), `webhook_options` (body of the webhook sample).
    """

    platform: ClassVar[str] = ""
    fake_options: ClassVar[dict[str, Any]] = {"products": 30, "variants": 3, "seed": 0}
    page_size: ClassVar[int] = 20
    throttle_options: ClassVar[dict[str, Any] | None] = None
    signature_header: ClassVar[str | None] = None
    webhook_options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    def info(self, plugin_manager: ShelfsyncPluginManager) -> PlatformInfo:
        """The plugin's declared platform info."""
        assert self.platform, f"{type(self).__name__} must set `platform`"
        return plugin_manager.platform(self.platform)

    @pytest.fixture
    def contract_fake(self, run_fake: Callable[..., RunningFake]) -> RunningFake:
        """The plugin's fake with the contract's seeded catalog."""
        return run_fake(self.platform, **self.fake_options)

    def _role(self, info: PlatformInfo, role: Role) -> None:
        if info.role != role:
            pytest.skip(f"{role.value}-only check; {self.platform} is a {info.role.value}")

    def test_platform_info_well_formed(self, plugin_manager: ShelfsyncPluginManager,
                                       info: PlatformInfo) -> None:
        checks.check_platform_info(plugin_manager, info, self.platform)

    def test_connection_check(self, plugin_manager: ShelfsyncPluginManager,
                              contract_fake: RunningFake, info: PlatformInfo) -> None:
        checks.check_connection(plugin_manager, contract_fake, info)

    def test_operations_routed_to_their_platform(self, plugin_manager: ShelfsyncPluginManager,
                                                 contract_fake: RunningFake,
                                                 info: PlatformInfo) -> None:
        checks.check_routing(plugin_manager, contract_fake, info)

    def test_pagination_complete_without_duplicates(
        self, plugin_manager: ShelfsyncPluginManager, contract_fake: RunningFake,
        info: PlatformInfo,
    ) -> None:
        checks.check_pagination(plugin_manager, contract_fake, info, self.fake_options,
                                self.page_size)

    def test_types_as_declared(self, plugin_manager: ShelfsyncPluginManager,
                               contract_fake: RunningFake, info: PlatformInfo) -> None:
        checks.check_types(plugin_manager, contract_fake, info)

    @pytest.mark.parametrize("kind", ["429", "500", "502", "503", "malformed"])
    def test_fault_retried_to_right_answer(
        self, plugin_manager: ShelfsyncPluginManager, contract_fake: RunningFake,
        info: PlatformInfo, kind: str,
    ) -> None:
        checks.check_fault_recovered(plugin_manager, contract_fake, info, kind,
                                     self.page_size)

    def test_timeout_retried_to_right_answer(
        self, plugin_manager: ShelfsyncPluginManager, contract_fake: RunningFake,
        info: PlatformInfo,
    ) -> None:
        checks.check_fault_recovered(plugin_manager, contract_fake, info, "timeout",
                                     self.page_size)

    @pytest.mark.parametrize("kind", ["500", "malformed", "429"])
    def test_persistent_fault_is_typed_error(
        self, plugin_manager: ShelfsyncPluginManager, contract_fake: RunningFake,
        info: PlatformInfo, kind: str,
    ) -> None:
        checks.check_fault_persistent(plugin_manager, contract_fake, info, kind)

    def test_platform_throttling_handled(
        self, plugin_manager: ShelfsyncPluginManager, run_fake: Callable[..., RunningFake],
        info: PlatformInfo,
    ) -> None:
        if self.throttle_options is None:
            pytest.skip(f"{self.platform} sets no throttle_options for its fake")
        running = run_fake(self.platform, **{**self.fake_options, **self.throttle_options})
        checks.check_throttled_read(plugin_manager, running, info, self.page_size)

    def test_webhook_verification(self, plugin_manager: ShelfsyncPluginManager,
                                  contract_fake: RunningFake) -> None:
        checks.check_webhooks(plugin_manager, contract_fake, self.signature_header,
                              self.webhook_options)

    def test_webhook_subscription_idempotent(self, plugin_manager: ShelfsyncPluginManager,
                                             contract_fake: RunningFake) -> None:
        if not checks.check_webhook_subscription(plugin_manager, contract_fake):
            pytest.skip(f"{self.platform} does not implement shelfsync_subscribe_webhooks")

    def test_stock_changes_found_by_polling(self, plugin_manager: ShelfsyncPluginManager,
                                            contract_fake: RunningFake,
                                            info: PlatformInfo) -> None:
        self._role(info, Role.STORE)
        if not check_stock_changes(plugin_manager, contract_fake):
            pytest.skip(f"{self.platform} does not implement shelfsync_poll_stock_changes "
                        "(it sends stock webhooks)")

    def test_create_order_idempotent(self, plugin_manager: ShelfsyncPluginManager,
                                     contract_fake: RunningFake, info: PlatformInfo) -> None:
        self._role(info, Role.STORE)
        checks.check_create_order(plugin_manager, contract_fake)

    def test_store_aftersale_writes_survive_a_lost_answer(
        self, plugin_manager: ShelfsyncPluginManager, contract_fake: RunningFake,
        info: PlatformInfo,
    ) -> None:
        self._role(info, Role.STORE)
        if not checks.check_store_aftersale_writes(plugin_manager, contract_fake):
            pytest.skip(f"{self.platform} implements neither cancel_store_order nor "
                        "refund_store_order")

    def test_order_writes_survive_a_lost_answer(
        self, plugin_manager: ShelfsyncPluginManager, contract_fake: RunningFake,
        info: PlatformInfo,
    ) -> None:
        self._role(info, Role.CHANNEL)
        if not checks.check_order_writes(plugin_manager, contract_fake):
            pytest.skip(f"{self.platform} implements neither push_fulfillment nor "
                        "push_cancellation")

    def test_push_inventory_per_sku(self, plugin_manager: ShelfsyncPluginManager,
                                    contract_fake: RunningFake, info: PlatformInfo) -> None:
        self._role(info, Role.CHANNEL)
        checks.check_push_inventory(plugin_manager, contract_fake)
