"""The contract kit certifies a small channel plugin, and catches one that breaks the rules.

The toy platform is a real HTTP API (a `FakePlatform` served on loopback) with token auth,
cursor pages and signed webhooks; its plugin uses the shared http helpers like a real one.
Running `PluginContract` on it exercises the channel half of the kit, which the Shopify
plugin (a store) cannot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import BadResponse, WebhookSignatureError
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.http import RetryPolicy, call_with_retries, make_client, raise_for_status
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.testing import kit_checks
from shelfsync.core.testing.catalog import seed_catalog
from shelfsync.core.testing.fakes import FakePlatform, FakeTruth, json_response
from shelfsync.core.testing.kit import PluginContract, RunningFake
from shelfsync.core.types import (
    AccountInfo,
    Capabilities,
    ChannelOrder,
    Connection,
    ContinueSelling,
    Fulfillment,
    InventoryUpdate,
    Listing,
    OrderPage,
    PlatformInfo,
    PushResult,
    Role,
    WebhookEvent,
)

TOKEN = "toy-token"
SECRET = "toy-secret"


class ToyChannelFake(FakePlatform):
    """A channel API: `GET /shop`, `GET /listings`, `POST /inventory`, `GET /orders`."""

    platform = "toychannel"

    def __init__(self, products: int = 10, variants: int = 2, seed: int = 0) -> None:
        super().__init__()
        self.shipments: dict[str, int] = {}
        self.listings = [
            {"product_id": f"P{p.index}", "sku_id": f"S-{v.sku}", "seller_sku": v.sku, "qty": 0}
            for p in seed_catalog(seed, products, variants) for v in p.variants
        ]

    def truth(self) -> FakeTruth:
        return FakeTruth(listings={item["sku_id"]: (item["seller_sku"], {"default": item["qty"]})
                                   for item in self.listings},
                         shipments=dict(self.shipments))

    def connections(self) -> list[dict[str, Any]]:
        return [{"name": "toy shop", "credentials": {"token": TOKEN, "secret": SECRET},
                 "shop_id": "toy-1"}]

    def webhook_sample(self, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = json.dumps({"event": "inventory", "id": options.get("id", "evt-1")}).encode()
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Toy-Signature": signature, "X-Toy-Event": "inventory"}, body

    def handle_api(self, request: Request) -> Response:
        if request.headers.get("X-Toy-Token") != TOKEN:
            return json_response({"error": "bad token"}, 401)
        if request.path == "/shop":
            return json_response({"name": "toy"})
        if request.path == "/listings":
            start = int(request.args.get("cursor") or 0)
            size = int(request.args.get("page_size") or 50)
            page = self.listings[start:start + size]
            more = start + size < len(self.listings)
            return json_response({"items": page, "next": str(start + size) if more else None})
        if request.path == "/inventory":
            results = []
            by_sku = {item["sku_id"]: item for item in self.listings}
            for update in request.get_json()["updates"]:
                item = by_sku.get(update["sku_id"])
                if item is None:
                    results.append({"sku_id": update["sku_id"], "ok": False, "error": "NO_SKU"})
                else:
                    item["qty"] = update["quantity"]
                    results.append({"sku_id": update["sku_id"], "ok": True})
            return json_response({"results": results})
        if request.path == "/orders":
            return json_response({"orders": [], "next": None})
        if request.path.startswith("/ship/"):  # records every shipment, repeats included
            order_id = request.path.removeprefix("/ship/")
            self.shipments[order_id] = self.shipments.get(order_id, 0) + 1
            return json_response({"ok": True})
        return json_response({"error": "no such path"}, 404)


class ToyChannelPlugin:
    """A correct channel plugin for the toy API; the flags break one rule each."""

    def __init__(self, *, repeat_a_page: bool = False, trust_any_signature: bool = False,
                 swallow_errors: bool = False) -> None:
        self.repeat_a_page = repeat_a_page
        self.trust_any_signature = trust_any_signature
        self.swallow_errors = swallow_errors

    def _get(self, connection: Connection, path: str, **params: Any) -> Any:
        def call() -> Any:
            with make_client(connection, headers={"X-Toy-Token":
                                                  connection.credentials["token"]}) as client:
                response = client.get(path, params=params)
            raise_for_status(response, "toychannel")
            try:
                return response.json()
            except ValueError as exc:
                raise BadResponse("toychannel: not JSON", platform="toychannel") from exc

        return call_with_retries(call, RetryPolicy.for_connection(connection),
                                 platform="toychannel")

    @hookimpl
    def shelfsync_platform_info(self) -> PlatformInfo:
        return PlatformInfo(name="toychannel", title="Toy channel", role=Role.CHANNEL,
                            capabilities=Capabilities(continue_selling=ContinueSelling.FLAG),
                            credential_fields=("token", "secret"))

    @hookimpl
    def shelfsync_fake_factory(self) -> tuple[str, Callable[..., Any]]:
        return "toychannel", ToyChannelFake

    @hookimpl
    def shelfsync_check_connection(self, connection: Connection) -> AccountInfo:
        self._get(connection, "/shop")
        return AccountInfo(platform_id="toy-shop", name="Toy shop")

    @hookimpl
    def shelfsync_fetch_listings(self, connection: Connection) -> Iterator[list[Listing]]:
        size = int(connection.settings.get("page_size") or 50)
        cursor = ""
        while True:
            try:
                page = self._get(connection, "/listings", cursor=cursor, page_size=size)
            except BadResponse:
                if not self.swallow_errors:
                    raise
                return
            items = page["items"] + (page["items"][:1] if self.repeat_a_page else [])
            yield [Listing(product_id=i["product_id"], sku_id=i["sku_id"],
                           seller_sku=i["seller_sku"], quantities={"default": i["qty"]})
                   for i in items]
            cursor = page["next"]
            if not cursor:
                return

    @hookimpl
    def shelfsync_push_inventory(self, connection: Connection,
                                 updates: Sequence[InventoryUpdate]) -> list[PushResult]:
        with make_client(connection, headers={"X-Toy-Token":
                                              connection.credentials["token"]}) as client:
            response = client.post("/inventory", json={"updates": [
                {"sku_id": u.sku_id, "quantity": u.quantity} for u in updates]})
        raise_for_status(response, "toychannel")
        return [PushResult(sku_id=r["sku_id"], ok=r["ok"], error_code=r.get("error"))
                for r in response.json()["results"]]

    @hookimpl
    def shelfsync_fetch_orders(self, connection: Connection, updated_since: datetime | None,
                               cursor: str | None) -> OrderPage:
        self._get(connection, "/orders")
        return OrderPage(orders=())

    @hookimpl
    def shelfsync_verify_webhook(self, connection: Connection, headers: Mapping[str, str],
                                 body: bytes) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        expected = hmac.new(connection.credentials["secret"].encode(), body,
                            hashlib.sha256).hexdigest()
        given = lowered.get("x-toy-signature", "")
        if not self.trust_any_signature and not hmac.compare_digest(expected, given):
            raise WebhookSignatureError("toychannel: bad signature", platform="toychannel")
        payload = json.loads(body) if self.trust_any_signature is False else {"raw": str(body)}
        return WebhookEvent(platform="toychannel", topic=lowered.get("x-toy-event", ""),
                            dedup_key=str(payload.get("id", "x")), payload=payload)


def _manager(plugin: ToyChannelPlugin) -> ShelfsyncPluginManager:
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(plugin, name="toychannel")
    return pm


@pytest.fixture
def plugin_manager() -> ShelfsyncPluginManager:
    """Only the toy plugin: the contract must not depend on which plugins are installed."""
    return _manager(ToyChannelPlugin())


class TestToyChannelContract(PluginContract):
    platform = "toychannel"
    fake_options: ClassVar[dict[str, Any]] = {"products": 12, "variants": 2, "seed": 3}
    page_size = 5


def test_run_fake_builds_connections_with_test_settings(run_fake: Callable[..., RunningFake]
                                                        ) -> None:
    running = run_fake("toychannel", products=2)
    conn = running.connection
    assert conn.base_url == running.base_url and conn.platform == "toychannel"
    assert conn.credentials == {"token": TOKEN, "secret": SECRET}
    # Extra keys of a /_fake/connections entry reach the plugin as settings.
    assert conn.settings["shop_id"] == "toy-1"
    assert conn.settings["retry_backoff"] == 0.01 and conn.timeout == 2.0


def test_run_fake_control_api_counts_and_faults(run_fake: Callable[..., RunningFake],
                                                plugin_manager: ShelfsyncPluginManager) -> None:
    running = run_fake("toychannel", products=2)
    running.reset_requests()
    running.inject_fault("503", count=1)
    listings = [item for page in plugin_manager.call(running.connection,
                                                     "shelfsync_fetch_listings")
                for item in page]
    assert len(listings) == 4
    assert running.request_count() == 2  # the 503, then the retry


def test_unknown_platform_names_the_known_fakes(run_fake: Callable[..., RunningFake]) -> None:
    with pytest.raises(KeyError, match="toychannel"):
        run_fake("nowhere")


def test_contract_catches_a_repeated_page(run_fake: Callable[..., RunningFake]) -> None:
    pm = _manager(ToyChannelPlugin(repeat_a_page=True))
    info = pm.platform("toychannel")
    running = run_fake("toychannel", products=12, variants=2)
    with pytest.raises(AssertionError, match=r"differ|duplicate"):
        kit_checks.check_pagination(pm, running, info, {"products": 12, "variants": 2}, 5)


def test_contract_catches_an_unchecked_signature(run_fake: Callable[..., RunningFake]) -> None:
    pm = _manager(ToyChannelPlugin(trust_any_signature=True))
    running = run_fake("toychannel", products=2)
    with pytest.raises(AssertionError, match="was accepted"):
        kit_checks.check_webhooks(pm, running, None, {})


def test_contract_catches_data_returned_despite_a_fault(run_fake: Callable[..., RunningFake]
                                                        ) -> None:
    pm = _manager(ToyChannelPlugin(swallow_errors=True))
    info = pm.platform("toychannel")
    running = run_fake("toychannel", products=2)
    with pytest.raises(AssertionError, match="returned data"):
        kit_checks.check_fault_persistent(pm, running, info, "malformed")



class ShipsTwicePlugin(ToyChannelPlugin):
    """Ships an order again after a lost answer, without asking whether it already shipped."""

    @hookimpl
    def shelfsync_fetch_orders(self, connection: Connection, updated_since: datetime | None,
                               cursor: str | None) -> OrderPage:
        return OrderPage(orders=(ChannelOrder(id="O-1", status="AWAITING_SHIPMENT", lines=()),))

    @hookimpl
    def shelfsync_push_fulfillment(self, connection: Connection,
                                   fulfillment: Fulfillment) -> bool:
        with make_client(connection, headers={"X-Toy-Token":
                                              connection.credentials["token"]}) as client:
            raise_for_status(client.post(f"/ship/{fulfillment.order_id}"), "toychannel")
        return True


def test_contract_catches_a_shipment_sent_twice(run_fake: Callable[..., RunningFake]) -> None:
    pm = _manager(ShipsTwicePlugin())
    running = run_fake("toychannel", products=2)
    with pytest.raises(AssertionError, match="holds 2 shipments"):
        kit_checks.check_order_writes(pm, running)
