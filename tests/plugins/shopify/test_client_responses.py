"""The client and mapping against odd answers, served over real HTTP by a scripted WSGI app.

The Shopify fake answers correctly by design; these cases need answers that a broken proxy, a
schema change or a bug on Shopify's side could produce, so a tiny local app returns exactly
the JSON each test scripts, and records what the client sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.server import serving
from shelfsync.core.types import Connection, StockLevel
from shelfsync.plugins.shopify.client import ShopifyClient, forget_budget
from shelfsync.plugins.shopify.queries import CATALOG, SHOP

LOC = "gid://shopify/Location/1"


class Scripted:
    """Answers each POST with the next scripted (status, body) and records the requests."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.requests: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append({"path": request.path, "headers": dict(request.headers),
                              "json": request.get_json(silent=True)})
        status, body = self.answers.pop(0) if self.answers else (500, {"errors": "unscripted"})
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return Response(raw, status=status, mimetype="application/json")(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Scripted, str]]:
    """One server for the module (stopping one costs half a second); tests reset its script."""
    scripted = Scripted()
    with serving(scripted) as running:
        yield scripted, running.base_url


@pytest.fixture
def app(server: tuple[Scripted, str], monkeypatch: pytest.MonkeyPatch
        ) -> tuple[Scripted, Connection]:
    scripted, base_url = server
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")  # the scripted server is on loopback
    scripted.answers, scripted.requests = [], []
    # Each test starts from an unknown bucket, as a fresh process would.
    forget_budget(base_url)
    return scripted, Connection(
            platform="shopify", base_url=base_url,
            credentials={"access_token": "shpat_test", "client_secret": "s"},
            # Paged reads: the scripted answers are pages (bulk reads: test_plugin_bulk.py).
            settings={"retry_backoff": 0.01, "retry_attempts": 2, "api_version": "2025-01",
                      "bulk_reads": False},
            timeout=2.0,
        )


def _cost(requested: int = 10, available: int = 990, rate: float = 100.0) -> dict[str, Any]:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": requested,
                     "throttleStatus": {"maximumAvailable": 1000.0,
                                        "currentlyAvailable": available, "restoreRate": rate}}}


def _locations(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"locations": {"pageInfo": {"hasNextPage": False, "endCursor": None},
                                   "nodes": list(nodes)}}, "extensions": _cost()}


def _variants(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"productVariants": {"pageInfo": {"hasNextPage": False, "endCursor": None},
                                         "nodes": list(nodes)}}, "extensions": _cost()}


def _variant(available: Any = 5, **overrides: Any) -> dict[str, Any]:
    node = {
        "id": "gid://shopify/ProductVariant/7", "sku": "A-1", "inventoryPolicy": "DENY",
        "inventoryItem": {
            "id": "gid://shopify/InventoryItem/8", "tracked": True,
            "inventoryLevels": {
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "nodes": [{"location": {"id": LOC},
                           "quantities": [{"name": "available", "quantity": available}]}],
            },
        },
    }
    node.update(overrides)
    return node


def _stock(pm: ShelfsyncPluginManager, conn: Connection) -> list[StockLevel]:
    return [level for page in pm.call(conn, "shelfsync_fetch_stock_levels", skus=None)
            for level in page]


def test_version_path_token_and_variables_are_sent(app: tuple[Scripted, Connection]) -> None:
    scripted, conn = app
    scripted.answers = [(200, {"data": {"shop": {"currencyCode": "EUR"}}, "extensions": _cost()})]
    with ShopifyClient(conn) as client:
        assert client.query(SHOP)["shop"]["currencyCode"] == "EUR"
    sent = scripted.requests[0]
    assert sent["path"] == "/admin/api/2025-01/graphql.json"
    assert sent["headers"]["X-Shopify-Access-Token"] == "shpat_test"
    assert sent["json"]["query"] == SHOP and sent["json"]["variables"] == {}


def test_extra_fields_are_ignored(app: tuple[Scripted, Connection],
                                  plugin_manager: ShelfsyncPluginManager) -> None:
    scripted, conn = app
    scripted.answers = [
        (200, _locations({"id": LOC, "name": "Main", "isActive": True, "newField": [1]})),
        (200, _variants(_variant(available=-2, somethingNew={"x": 1}))),
    ]
    assert _stock(plugin_manager, conn) == [StockLevel(sku="A-1", location_id=LOC, available=-2)]


@pytest.mark.parametrize(
    ("variant", "named"),
    [
        (_variant(available="5"), "available"),
        (_variant(available=10**12), "impossible quantity"),
        (_variant(available=None), "available"),
        (_variant(inventoryPolicy="MAYBE"), "inventoryPolicy"),
        (_variant(id="gid://shopify/Product/7"), "ProductVariant id"),
        ({k: v for k, v in _variant().items() if k != "inventoryItem"}, "inventoryItem"),
        ({k: v for k, v in _variant().items() if k != "sku"}, "sku is missing"),
    ],
)
def test_wrong_or_missing_fields_are_bad_responses(
    app: tuple[Scripted, Connection], plugin_manager: ShelfsyncPluginManager,
    variant: dict[str, Any], named: str,
) -> None:
    scripted, conn = app
    scripted.answers = [(200, _locations({"id": LOC, "name": "Main", "isActive": True})),
                        (200, _variants(variant))]
    with pytest.raises(BadResponse, match=named):
        _stock(plugin_manager, conn)


def test_missing_page_info_is_a_bad_response(app: tuple[Scripted, Connection],
                                             plugin_manager: ShelfsyncPluginManager) -> None:
    scripted, conn = app
    scripted.answers = [(200, {"data": {"locations": {"nodes": []}}, "extensions": _cost()})]
    with pytest.raises(BadResponse, match="pageInfo"):
        plugin_manager.call(conn, "shelfsync_fetch_locations")


def test_next_page_without_cursor_is_a_bad_response(app: tuple[Scripted, Connection],
                                                    plugin_manager: ShelfsyncPluginManager
                                                    ) -> None:
    scripted, conn = app
    page = _locations({"id": LOC, "name": "Main", "isActive": True})
    page["data"]["locations"]["pageInfo"] = {"hasNextPage": True, "endCursor": None}
    scripted.answers = [(200, page)]
    with pytest.raises(BadResponse, match="cursor"):
        plugin_manager.call(conn, "shelfsync_fetch_locations")


def test_body_that_is_not_a_json_object(app: tuple[Scripted, Connection]) -> None:
    scripted, conn = app
    scripted.answers = [(200, b"[1, 2]"), (200, b"<html>gateway</html>")]
    with ShopifyClient(conn) as client, pytest.raises(BadResponse, match="not JSON"):
        client.query(SHOP)  # the first answer is refused, the retry gets HTML
    assert len(scripted.requests) == 2


def test_graphql_errors_carry_their_message(app: tuple[Scripted, Connection]) -> None:
    scripted, conn = app
    scripted.answers = [(200, {"errors": [{"message": "Field 'nope' doesn't exist on type",
                                           "extensions": {"code": "undefinedField"}}]})]
    with ShopifyClient(conn) as client, pytest.raises(BadRequest, match="nope"):
        client.query(SHOP)


def test_partial_data_with_errors_is_not_trusted(app: tuple[Scripted, Connection]) -> None:
    scripted, conn = app
    partial = {"data": {"shop": None}, "errors": [{"message": "Internal error looking up shop"}]}
    scripted.answers = [(200, partial), (200, partial)]
    with ShopifyClient(conn) as client, pytest.raises(BadResponse, match="partial"):
        client.query(SHOP)


def test_throttled_is_rate_limited_with_the_bucket_wait(app: tuple[Scripted, Connection]
                                                        ) -> None:
    scripted, conn = app
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                 "extensions": {"cost": {"requestedQueryCost": 500, "actualQueryCost": None,
                                         "throttleStatus": {"maximumAvailable": 1000.0,
                                                            "currentlyAvailable": 100,
                                                            "restoreRate": 50.0}}}}
    scripted.answers = [(200, throttled)]
    one_try = Connection(platform="shopify", base_url=conn.base_url,
                         credentials=conn.credentials, settings={"retry_attempts": 1})
    with ShopifyClient(one_try) as client, pytest.raises(RateLimited) as caught:
        client.query(SHOP)
    assert caught.value.retry_after == pytest.approx((500 - 100) / 50.0)


@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (403, PermissionDenied),
                                               (503, TransientError), (429, RateLimited)])
def test_http_statuses_become_typed_errors(app: tuple[Scripted, Connection], status: int,
                                           error: type[Exception]) -> None:
    scripted, conn = app
    scripted.answers = [(status, {"errors": "nope"})] * 2
    with ShopifyClient(conn) as client, pytest.raises(error):
        client.query(SHOP)


def test_user_errors_surface_as_bad_request(app: tuple[Scripted, Connection]) -> None:
    scripted, conn = app
    scripted.answers = [(200, {"data": {"orderCreate": {"order": None, "userErrors": [
        {"field": ["order", "lineItems", "0", "quantity"], "message": "must be positive",
         "code": "INVALID"}]}}, "extensions": _cost()})]
    with ShopifyClient(conn) as client, pytest.raises(BadRequest) as caught:
        client.mutate("mutation M { orderCreate(order: {}) { userErrors { message } } }", {},
                      "orderCreate")
    assert "order.lineItems.0.quantity: must be positive" in caught.value.message
    assert caught.value.code == "INVALID"


def test_max_cost_exceeded_shrinks_the_page(app: tuple[Scripted, Connection]) -> None:
    scripted, conn = app
    refused = {"errors": [{"message": "Query cost is 1352, which exceeds the single query max "
                                      "cost limit (1000).",
                           "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 1352}}]}
    scripted.answers = [(200, refused), (200, _variants(_variant()))]
    with ShopifyClient(conn) as client:
        pages = list(client.paginate(CATALOG, {"query": None}, "productVariants"))
    assert len(pages) == 1 and pages[0][0]["sku"] == "A-1"
    firsts = [sent["json"]["variables"]["first"] for sent in scripted.requests]
    assert firsts[0] == 250 and 0 < firsts[1] < firsts[0]
