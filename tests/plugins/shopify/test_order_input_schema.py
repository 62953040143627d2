"""The `orderCreate` document and the variables the plugin sends for a full TikTok order are
valid against Shopify's published 2025-04 schema (not only the fake's copy of it)."""

from __future__ import annotations

from graphql import parse, validate
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

from shelfsync.core.types import Address, ChannelOrder, Money, OrderLine
from shelfsync.plugins.shopify import mapping, queries

from .test_fake_schema_compat import reference_schema


def _full_order() -> ChannelOrder:
    return ChannelOrder(
        id="576653688135258178", status="AWAITING_SHIPMENT",
        lines=(OrderLine("1", "sku-1", "SKU-1", 2, Money("9.00", "USD")),
               OrderLine("2", "sku-2", "SKU-2", 1, Money("12.50", "USD"))),
        total=Money("35.16", "USD"), shop_name="Fake TikTok Shop 2", buyer_name="Alex Smith",
        shipping_fee=Money("2.99", "USD"), tax=Money("2.44", "USD"),
        discount=Money("1.00", "USD"), buyer_email="alex@scs.tiktokw.us",
        recipient=Address(name="Alex Smith", phone="(+1)5551234567", lines=("1 High Street",),
                          city="Fakeville", region="CA", postal_code="90210",
                          country_code="US"))


def test_order_create_document_and_variables_fit_shopify_s_schema() -> None:
    schema = reference_schema()
    schema._validation_errors = []  # the published SDL trips graphql-core's own checks
    for lookup in (queries.ORDER_LOOKUP, queries.ORDERS_BY_TAG):
        assert validate(schema, parse(lookup)) == []
    document = parse(queries.ORDER_CREATE)
    assert validate(schema, document) == []
    variables = {
        "order": mapping.order_input(_full_order(), {"SKU-1": "gid://shopify/ProductVariant/1",
                                                     "SKU-2": "gid://shopify/ProductVariant/2"},
                                     "tiktok-order:576653688135258178", "tiktok_order_id"),
        "options": {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY", "sendReceipt": False},
    }
    operation = get_operation_ast(document)
    assert operation is not None
    result = get_variable_values(schema, operation.variable_definitions or (), variables)
    assert not isinstance(result, list), [error.message for error in result]
    order = result.coerced["order"]
    assert order["sourceName"] == "tiktok"
    assert order["sourceIdentifier"] == "576653688135258178"
    assert [line["title"] for line in order["shippingLines"]] == ["TikTok Shop shipping"]
    assert order["taxLines"][0]["priceSet"]["shopMoney"]["amount"] == "2.44"
