"""The after-sale documents the plugin sends (shipments, orderCancel, refundCreate) and their
variables are valid against Shopify's published 2025-04 schema, not only the fake's copy."""

from __future__ import annotations

from graphql import parse, validate
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

from shelfsync.core.types import FulfilledLine, Money, StoreRefund
from shelfsync.plugins.shopify import aftersale

from .test_fake_schema_compat import reference_schema

ORDER = "gid://shopify/Order/5000000001"


def _coerced(document: str, variables: dict[str, object]) -> dict[str, object]:
    schema = reference_schema()
    schema._validation_errors = []  # the published SDL trips graphql-core's own checks
    parsed = parse(document)
    assert validate(schema, parsed) == []
    operation = get_operation_ast(parsed)
    assert operation is not None
    result = get_variable_values(schema, operation.variable_definitions or (), variables)
    assert not isinstance(result, list), [error.message for error in result]
    return result.coerced


def test_the_read_documents_fit_shopify_s_schema() -> None:
    for document in (aftersale.ORDER_SHIPMENTS, aftersale.ORDER_CANCELLED,
                     aftersale.ORDER_REFUNDS):
        _coerced(document, {"id": ORDER})


def test_order_cancel_fits_shopify_s_schema() -> None:
    coerced = _coerced(aftersale.ORDER_CANCEL, {"orderId": ORDER, "reason": "OTHER",
                                                "restock": True, "staffNote": "TikTok"})
    assert coerced["reason"] == "OTHER"


def test_refund_create_input_fits_shopify_s_schema() -> None:
    node = {"lineItems": {"nodes": [{"id": "gid://shopify/LineItem/1", "sku": "A",
                                     "quantity": 2}]},
            "transactions": [{"id": "gid://shopify/OrderTransaction/9", "kind": "SALE",
                              "status": "SUCCESS", "gateway": "manual"}]}
    refund = StoreRefund(id="4901", lines=(FulfilledLine("A", 1),),
                         amount=Money("12.50", "USD"), restock=True, note="TikTok return")
    coerced = _coerced(aftersale.REFUND_CREATE,
                       {"input": aftersale.refund_input(node, ORDER, refund)})
    refund_input = coerced["input"]
    assert isinstance(refund_input, dict)
    assert refund_input["refundLineItems"] == [
        {"lineItemId": "gid://shopify/LineItem/1", "quantity": 1, "restockType": "RETURN"}]
    assert refund_input["transactions"][0]["parentId"] == "gid://shopify/OrderTransaction/9"
    assert "tiktok-return:4901" in refund_input["note"]
