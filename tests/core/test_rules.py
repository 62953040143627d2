"""The inventory rules, by example (every rule of DESIGN.md) and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shelfsync.core.errors import InvalidInput
from shelfsync.core.rules import ABSURD_QUANTITY, LocationStock, Reason, decide
from shelfsync.core.types import CHANNEL_MAXIMUM, Capabilities, ContinueSelling

SHOPIFY_LIKE = Capabilities(has_locations=True)
NO_LOCATIONS = Capabilities(has_locations=False)
AMAZON_LIKE = Capabilities(continue_selling=ContinueSelling.UNSUPPORTED)
WIX_LIKE = Capabilities(continue_selling=ContinueSelling.REPORTED_AS_ZERO)


def one(quantity: int) -> list[LocationStock]:
    return [LocationStock("main", quantity)]


def test_percent_rounds_down() -> None:
    decision = decide(stock=one(100), percent=90)
    assert (decision.quantity, decision.reason) == (90, Reason.PERCENT)
    assert decide(stock=one(7), percent=90).quantity == 6  # 6.3 → 6, never oversell
    assert decide(stock=one(1), percent=99).quantity == 0


def test_full_percent_is_available() -> None:
    decision = decide(stock=one(42))
    assert (decision.quantity, decision.reason) == (42, Reason.AVAILABLE)
    assert "42 available" in decision.explanation


def test_threshold_shows_zero_at_or_below() -> None:
    assert decide(stock=one(5), threshold=5).reason is Reason.THRESHOLD
    assert decide(stock=one(5), threshold=5).quantity == 0
    assert decide(stock=one(6), threshold=5).quantity == 6


def test_threshold_applies_to_available_before_percent() -> None:
    # 10 available is above a threshold of 8, even though 50 % of it (5) is not.
    assert decide(stock=one(10), threshold=8, percent=50).quantity == 5


def test_continue_selling_overrides_threshold_and_stock() -> None:
    decision = decide(stock=one(-3), threshold=10, continue_selling=True)
    assert (decision.quantity, decision.reason) == (CHANNEL_MAXIMUM, Reason.CONTINUE_SELLING)
    assert "threshold overridden" in decision.explanation


def test_continue_selling_not_honoured_uses_stock() -> None:
    decision = decide(stock=one(12), continue_selling=True, honor_continue_selling=False)
    assert (decision.quantity, decision.reason) == (12, Reason.AVAILABLE)
    assert "not honoured" in decision.explanation


def test_platform_without_continue_selling_syncs_real_stock() -> None:
    decision = decide(stock=one(8), percent=50, continue_selling=True, capabilities=AMAZON_LIKE)
    assert (decision.quantity, decision.reason) == (4, Reason.PERCENT)
    assert "no continue-selling option" in decision.explanation


def test_backorders_reported_as_zero_sync_the_maximum() -> None:
    decision = decide(stock=one(0), continue_selling=True, capabilities=WIX_LIKE)
    assert decision.quantity == CHANNEL_MAXIMUM
    not_honoured = decide(
        stock=one(0), continue_selling=True, honor_continue_selling=False, capabilities=WIX_LIKE
    )
    assert (not_honoured.quantity, not_honoured.reason) == (0, Reason.NO_STOCK)


def test_negative_location_lowers_the_total() -> None:
    stock = [LocationStock("a", 10), LocationStock("b", -4)]
    assert decide(stock=stock).quantity == 6


def test_negative_total_counts_as_zero() -> None:
    decision = decide(stock=[LocationStock("a", 2), LocationStock("b", -9)])
    assert (decision.quantity, decision.reason, decision.available) == (0, Reason.NO_STOCK, 0)


def test_capped_at_channel_maximum() -> None:
    decision = decide(stock=one(250_000), percent=80)
    assert (decision.quantity, decision.reason) == (CHANNEL_MAXIMUM, Reason.CAPPED)


def test_inactive_locations_never_count() -> None:
    stock = [LocationStock("a", 5), LocationStock("b", 100, active=False)]
    assert decide(stock=stock).quantity == 5
    chosen = decide(stock=stock, use_locations={"a", "b"})
    assert chosen.quantity == 5
    assert "inactive ones not counted" in chosen.explanation


def test_specific_locations_only() -> None:
    stock = [LocationStock("a", 5), LocationStock("b", 7), LocationStock("c", 11)]
    assert decide(stock=stock, use_locations={"b", "c"}).quantity == 18
    assert decide(stock=stock, use_locations={"zzz"}).quantity == 0


def test_store_without_locations_sums_everything() -> None:
    stock = [LocationStock("x", 5, active=False), LocationStock("y", 1)]
    assert decide(stock=stock, use_locations={"y"}, capabilities=NO_LOCATIONS).quantity == 6


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"percent": 101}, "percent"),
        ({"percent": -1}, "percent"),
        ({"threshold": -1}, "threshold"),
        ({"percent": 50.5}, "percent"),
        ({"stock": one(ABSURD_QUANTITY + 1)}, "stock at main"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"stock": one(1)} | kwargs
    with pytest.raises(InvalidInput) as error:
        decide(**arguments)  # type: ignore[arg-type]
    assert error.value.field == field


locations = st.lists(
    st.builds(
        LocationStock,
        location_id=st.sampled_from(["a", "b", "c", "d"]),
        quantity=st.integers(-1000, 200_000),
        active=st.booleans(),
    ),
    max_size=4,
    unique_by=lambda level: level.location_id,
)


@given(
    stock=locations,
    percent=st.integers(0, 100),
    threshold=st.integers(0, 1000),
    continue_selling=st.booleans(),
    honor=st.booleans(),
    mode=st.sampled_from(list(ContinueSelling)),
    chosen=st.none() | st.sets(st.sampled_from(["a", "b", "c", "d"])),
)
def test_properties(
    stock: list[LocationStock],
    percent: int,
    threshold: int,
    continue_selling: bool,
    honor: bool,
    mode: ContinueSelling,
    chosen: set[str] | None,
) -> None:
    capabilities = Capabilities(has_locations=True, continue_selling=mode)
    decision = decide(
        stock=stock,
        use_locations=chosen,
        percent=percent,
        threshold=threshold,
        continue_selling=continue_selling,
        honor_continue_selling=honor,
        capabilities=capabilities,
    )
    assert isinstance(decision.quantity, int)
    assert 0 <= decision.quantity <= CHANNEL_MAXIMUM
    counted = sum(
        level.quantity
        for level in stock
        if level.active and (chosen is None or level.location_id in chosen)
    )
    assert decision.available == max(counted, 0)
    overridden = continue_selling and honor and mode is not ContinueSelling.UNSUPPORTED
    if overridden:
        assert decision.quantity == CHANNEL_MAXIMUM
    else:
        # Never more than the share of what is really available: never oversell.
        assert decision.quantity <= decision.available * percent // 100
        if decision.available <= threshold:
            assert decision.quantity == 0
        else:
            assert decision.quantity == min(decision.available * percent // 100, CHANNEL_MAXIMUM)
    assert decision.explanation and "\n" not in decision.explanation


@given(stock=locations, percent=st.integers(0, 99))
def test_more_stock_never_shows_less(stock: list[LocationStock], percent: int) -> None:
    more = [*stock, LocationStock("extra", 5)]
    assert (
        decide(stock=more, percent=percent).quantity
        >= decide(stock=stock, percent=percent).quantity
    )
