"""`assert_declared_types` catches values a frozen dataclass would silently accept."""

from __future__ import annotations

import pytest

from shelfsync.core.testing.kit_types import assert_declared_types
from shelfsync.core.types import (
    ChannelOrder,
    Listing,
    Location,
    Money,
    OrderLine,
    StockLevel,
    WebhookEvent,
)


def test_well_typed_values_pass() -> None:
    assert_declared_types(StockLevel(sku="A", location_id="L", available=-3))
    assert_declared_types(Listing(product_id="p", sku_id="s", seller_sku="A",
                                  quantities={"w1": 4}))
    assert_declared_types(WebhookEvent(platform="x", topic="t", dedup_key="d",
                                       payload={"any": ["thing"]}, skus=("A", "B")))
    line = OrderLine(line_id="1", sku_id="s", seller_sku="A", quantity=2,
                     unit_price=Money("1.00", "USD"))
    assert_declared_types(ChannelOrder(id="o", status="s", lines=(line,)))


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (StockLevel(sku="A", location_id="L", available="5"), "StockLevel.available"),  # type: ignore[arg-type]
        (StockLevel(sku="A", location_id="L", available=True), "StockLevel.available"),
        (Location(id=1, name="x"), "Location.id"),  # type: ignore[arg-type]
        (Listing(product_id="p", sku_id="s", seller_sku="A", quantities={"w": "4"}),  # type: ignore[dict-item]
         "Listing.quantities"),
        (WebhookEvent(platform="x", topic="t", dedup_key="d", payload={}, skus=["A"]),  # type: ignore[arg-type]
         "WebhookEvent.skus"),
    ],
)
def test_wrong_types_are_named(value: object, field: str) -> None:
    with pytest.raises(AssertionError, match=field.replace(".", r"\.")):
        assert_declared_types(value)


def test_nested_dataclasses_are_checked() -> None:
    line = OrderLine(line_id="1", sku_id="s", seller_sku="A", quantity=1.5)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match=r"OrderLine\.quantity"):
        assert_declared_types(ChannelOrder(id="o", status="s", lines=(line,)))
