"""The currency each TikTok Shop market sells in, from the region code of Get Authorized Shops.

`GET /authorization/202309/shops` answers each shop's `region` (its market: "US", "GB" …) but
no currency. A market has one selling currency (a local shop's prices, a cross-border shop's
listings in that market), so the region is enough to tell core what a shop sells in and let it
ask for an exchange rate when the store prices in another currency.

A region not listed here (a market TikTok opens later) maps to "" — "not known" — and core
then connects the shop without comparing currencies, as for a plugin that knows none; the
order path still refuses an order in another currency without a rate.
"""

from __future__ import annotations

#: Market region (ISO 3166-1 alpha-2, as TikTok answers it) → ISO 4217 selling currency.
MARKET_CURRENCY: dict[str, str] = {
    "US": "USD",
    "GB": "GBP",
    "ID": "IDR",
    "MY": "MYR",
    "PH": "PHP",
    "SG": "SGD",
    "TH": "THB",
    "VN": "VND",
    "MX": "MXN",
    "ES": "EUR",
    "DE": "EUR",
    "FR": "EUR",
    "IT": "EUR",
    "IE": "EUR",
    "JP": "JPY",
    "BR": "BRL",
}


def currency_of(region: str) -> str:
    """The selling currency of a market region ("gb" reads as "GB"); "" when unknown."""
    return MARKET_CURRENCY.get(region.strip().upper(), "")
