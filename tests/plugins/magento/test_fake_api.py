"""The Magento fake answers like Magento: searchCriteria in both spellings with every
condition type, sorting, paging (the last page again past the end), input limits, bearer
auth, routes, strict bodies, effective stock items, legacy stores and its control API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.testing.server import serving
from shelfsync.plugins.magento.fake import MagentoFake


@pytest.fixture
def fake() -> MagentoFake:
    return MagentoFake(products=5, variants=2, sources=3, seed=0)


@pytest.fixture
def http(fake: MagentoFake) -> Iterator[httpx.Client]:
    with serving(fake) as running, httpx.Client(
            base_url=running.base_url,
            headers={"Authorization": f"Bearer {fake.access_token}"}) as client:
        yield client


def _criteria(spelling: str, field: str, value: str, condition: str, **extra: Any
              ) -> dict[str, str]:
    group, cond = (("filterGroups", "conditionType") if spelling == "camel"
                   else ("filter_groups", "condition_type"))
    params = {f"searchCriteria[{group}][0][filters][0][field]": field,
              f"searchCriteria[{group}][0][filters][0][value]": value,
              f"searchCriteria[{group}][0][filters][0][{cond}]": condition}
    for key, val in extra.items():
        params[f"searchCriteria[{key}]"] = str(val)
    return params


def _skus(answer: dict[str, Any]) -> list[str]:
    return [item["sku"] for item in answer["items"]]


@pytest.mark.parametrize(("condition", "value", "expected"), [
    ("eq", "SKU-0-00002-01", ["SKU-0-00002-01"]),
    ("neq", "simple", ["CFG-0-00001", "CFG-0-00002", "CFG-0-00003", "CFG-0-00004",
                       "CFG-0-00005"]),
    ("in", "SKU-0-00001-02,SKU-0-00003-01", ["SKU-0-00001-02", "SKU-0-00003-01"]),
    ("nin", "simple,virtual", ["CFG-0-00001", "CFG-0-00002", "CFG-0-00003", "CFG-0-00004",
                               "CFG-0-00005"]),
    ("like", "SKU-0-0000_-02", ["SKU-0-00001-02", "SKU-0-00002-02", "SKU-0-00003-02",
                                "SKU-0-00004-02", "SKU-0-00005-02"]),
])
@pytest.mark.parametrize("spelling", ["camel", "snake"])
def test_conditions_in_both_spellings(http: httpx.Client, spelling: str, condition: str,
                                      value: str, expected: list[str]) -> None:
    field = "type_id" if condition in ("neq", "nin") else "sku"
    answer = http.get("/rest/default/V1/products",
                      params=_criteria(spelling, field, value, condition)).json()
    assert sorted(_skus(answer)) == expected
    assert answer["total_count"] == len(expected)
    assert answer["search_criteria"]["filter_groups"][0]["filters"][0]["condition_type"] == \
        condition


def test_numeric_and_null_conditions(http: httpx.Client, fake: MagentoFake) -> None:
    def count(condition: str, value: str = "") -> int:
        return http.get("/rest/V1/inventory/source-items", params=_criteria(
            "camel", "quantity", value, condition)).json()["total_count"]

    quantities = [i.quantity for i in fake.store.source_items.values()]
    assert count("gt", "10") == sum(q > 10 for q in quantities)
    assert count("gteq", "10") == sum(q >= 10 for q in quantities)
    assert count("lt", "10") == sum(q < 10 for q in quantities)
    assert count("lteq", "10") == sum(q <= 10 for q in quantities)
    assert count("notnull") == len(quantities) and count("null") == 0


def test_groups_and_filters_or_sort_and_last_page_repeat(http: httpx.Client) -> None:
    params = {
        "searchCriteria[filterGroups][0][filters][0][field]": "sku",
        "searchCriteria[filterGroups][0][filters][0][value]": "SKU-0-00001-01",
        "searchCriteria[filterGroups][0][filters][1][field]": "sku",
        "searchCriteria[filterGroups][0][filters][1][value]": "SKU-0-00002-01",
        "searchCriteria[filterGroups][1][filters][0][field]": "type_id",
        "searchCriteria[filterGroups][1][filters][0][value]": "simple",
        "searchCriteria[sortOrders][0][field]": "sku",
        "searchCriteria[sortOrders][0][direction]": "DESC",
    }
    assert _skus(http.get("/rest/V1/products", params=params).json()) == [
        "SKU-0-00002-01", "SKU-0-00001-01"]
    page = {"searchCriteria[pageSize]": "4", "searchCriteria[sortOrders][0][field]": "sku"}
    last = http.get("/rest/V1/products", params={**page, "searchCriteria[currentPage]": "4"})
    past = http.get("/rest/V1/products", params={**page, "searchCriteria[currentPage]": "40"})
    assert last.json()["total_count"] == 15
    assert _skus(past.json()) == _skus(last.json()) != []
    everything = http.get("/rest/V1/products", params={"searchCriteria": ""}).json()
    assert len(everything["items"]) == 15  # no pageSize, limits off: every match


def test_input_limits_cap_page_size_and_lists(fake: MagentoFake, http: httpx.Client) -> None:
    httpx.post(f"{http.base_url}/_fake/limits", json={"input_limits": True})
    refused = http.get("/rest/V1/products", params={"searchCriteria[pageSize]": "301"})
    assert refused.status_code == 400
    assert refused.json() == {"message": "Maximum SearchCriteria pageSize is %max",
                              "parameters": {"max": "300"}}
    default = http.get("/rest/V1/source-items".replace("source", "inventory/source"),
                       params={"searchCriteria[currentPage]": "1"}).json()
    assert len(default["items"]) == 20 and default["search_criteria"]["page_size"] == 20
    items = [{"sku": "SKU-0-00001-01", "source_code": "default", "quantity": n, "status": 1}
             for n in range(21)]
    too_many = http.post("/rest/V1/inventory/source-items", json={"sourceItems": items})
    assert too_many.status_code == 400
    assert too_many.json()["message"] == 'Maximum items of type "%type" is %max'
    assert http.post("/rest/V1/inventory/source-items",
                     json={"sourceItems": items[:20]}).status_code == 200
    httpx.post(f"{http.base_url}/_fake/limits", json={"input_limits": False})
    assert http.post("/rest/V1/inventory/source-items",
                     json={"sourceItems": items}).status_code == 200
    assert fake.store.source_items[("SKU-0-00001-01", "default")].quantity == 20


def test_auth_routes_and_store_codes(fake: MagentoFake, http: httpx.Client) -> None:
    base = str(http.base_url)
    for headers in ({}, {"Authorization": "Bearer nope"},
                    {"Authorization": f"Basic {fake.access_token}"}):
        answer = httpx.get(f"{base}/rest/V1/orders", params={"searchCriteria": ""},
                           headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"message": "The consumer isn't authorized to access "
                                 "%resources.", "parameters": {
                                     "resources": "Magento_Sales::actions_view"}}
    assert httpx.post(f"{base}/rest/V1/guest-carts", json={}).status_code == 200  # anonymous
    assert http.get("/rest/V1/nothing").json() == {"message":
                                                   "Request does not match any route."}
    assert http.get("/rest/all/V1/store/storeConfigs").status_code == 200
    assert http.get("/rest/nowhere/V1/store/storeConfigs").status_code == 400
    assert http.delete("/rest/V1/products").status_code == 404


@pytest.mark.parametrize(("body", "headers", "message"), [
    ({"cartItem": {"sku": "SKU-0-00001-01", "qty": 1, "quote_id": "Q", "color": "red"}}, None,
     '"%fieldName" is not supported. Correct the field name and try again.'),
    ({"cartItem": {"sku": "SKU-0-00001-01", "qty": 1, "quote_id": "Q",
                   "extension_attributes": {"gift": True}}}, None,
     '"%fieldName" is not supported. Correct the field name and try again.'),
    ({"cartItem": {"sku": "SKU-0-00001-01", "quote_id": "Q"}}, None,
     '"%fieldName" is required. Enter and try again.'),
    ({"cartItem": {"sku": "SKU-0-00001-01", "qty": "many", "quote_id": "Q"}}, None,
     'The "%1" value\'s type is invalid. The "%2" type was expected. Verify and try again.'),
    ("sku=1", {"Content-Type": "application/x-www-form-urlencoded"},
     "Server cannot understand Content-Type HTTP header media type %1"),
    ("{nope", {"Content-Type": "application/json"}, "Decoding error."),
    ("", {"Content-Type": ""}, "Content-Type header is empty."),
])
def test_bad_bodies_are_refused_like_magento(http: httpx.Client, body: Any,
                                             headers: dict[str, str] | None,
                                             message: str) -> None:
    cart = http.post("/rest/V1/guest-carts", json={}).json()
    if isinstance(body, dict):
        body["cartItem"]["quote_id"] = cart
        answer = http.post(f"/rest/V1/guest-carts/{cart}/items", json=body)
    else:
        answer = http.post(f"/rest/V1/guest-carts/{cart}/items", content=body.encode(),
                           headers=headers)
    assert answer.status_code == 400
    assert answer.json()["message"] == message


def test_stock_items_answer_effective_values(fake: MagentoFake, http: httpx.Client) -> None:
    sku = "SKU-0-00001-01"
    httpx.post(f"{http.base_url}/_fake/product", json={
        "sku": sku, "use_config_backorders": True, "backorders": 0,
        "use_config_manage_stock": False, "manage_stock": True})
    httpx.post(f"{http.base_url}/_fake/config", json={"backorders": 2, "manage_stock": False})
    item = http.get(f"/rest/V1/stockItems/{sku}").json()
    assert (item["use_config_backorders"], item["backorders"]) == (True, 2)
    assert (item["use_config_manage_stock"], item["manage_stock"]) == (False, True)
    listed = http.get("/rest/V1/products", params=_criteria("camel", "sku", sku, "eq")).json()
    assert listed["items"][0]["extension_attributes"]["stock_item"] == item
    assert http.get("/rest/V1/stockItems/NOPE").status_code == 404


def test_legacy_store_has_no_msi_routes() -> None:
    fake = MagentoFake(products=2, variants=1, legacy=True)
    with serving(fake) as running:
        auth = {"Authorization": f"Bearer {fake.access_token}"}
        for path in ("inventory/sources", "inventory/source-items",
                     "inventory/get-product-salable-quantity/SKU-0-00001-01/1"):
            answer = httpx.get(f"{running.base_url}/rest/V1/{path}",
                               params={"searchCriteria": ""}, headers=auth)
            assert answer.status_code == 404, path
        assert httpx.get(f"{running.base_url}/rest/V1/stockItems/SKU-0-00001-01",
                         headers=auth).status_code == 200


def test_salable_quantity_refuses_configurables_and_unknown_stocks(http: httpx.Client) -> None:
    assert http.get("/rest/V1/inventory/get-product-salable-quantity/CFG-0-00001/1"
                    ).status_code == 400
    assert http.get("/rest/V1/inventory/get-product-salable-quantity/SKU-0-00001-01/9"
                    ).status_code == 404


def test_control_endpoints_refuse_bad_input(http: httpx.Client) -> None:
    base = str(http.base_url)
    assert httpx.post(f"{base}/_fake/stock", json={"sku": "NOPE", "delta": 1}
                      ).status_code == 404
    assert httpx.post(f"{base}/_fake/stock", json={"sku": "SKU-0-00001-01", "delta": "x"}
                      ).status_code == 400
    assert httpx.post(f"{base}/_fake/stock", json={"sku": "SKU-0-00001-01", "delta": 1,
                                                   "source_code": "moon"}).status_code == 404
    assert httpx.post(f"{base}/_fake/config", json={"backorders": 5}).status_code == 400
    moved = httpx.post(f"{base}/_fake/stock", json={"sku": "SKU-0-00001-01", "delta": -1000})
    assert moved.json()["status"] == 0  # saved out of stock, as the admin does
