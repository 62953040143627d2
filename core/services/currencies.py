"""The currency check when a shop is connected: a shop selling in another currency than the
store prices in needs an exchange rate before it is connected, not after its first order
failed for want of one.

The rate means what `ChannelSettings.currency_rate` means everywhere: shop price = store
price × rate, i.e. how many units of the shop's currency one unit of the store's buys (a USD
store and a GBP shop: about 0.79). The order path (`core/sync/orders.py`) converts a shop's
amounts back with it and treats a rate of 1 between two currencies as "no rate"
(`currency_mismatch`), so a rate of 1 is refused here for two currencies as well: what is
accepted at connect time is what orders accept later.

What each side's currency is:
- the shop's, from the plugin (`AuthorizedShop.currency` of a multi-shop app, otherwise the
  channel's own `AccountInfo.currency`); "" or None when the plugin does not know it;
- the store's, from its live connection check (`AccountInfo.currency`), falling back to the
  currency of the catalog already read (`sync_settings.store_currency`) when the check says
  none or the store cannot be reached.

When either is unknown nothing is compared: the shop connects as it did before, with the rate
saved when one was given (the merchant may know what the plugin does not).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from shelfsync.core.errors import ConfigurationError, InvalidInput, PluginError
from shelfsync.core.models import Organization
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.services.sync_settings import parse_rate, store_currency
from shelfsync.core.sync import context
from shelfsync.core.types import AccountInfo

log = logging.getLogger(__name__)

FIELD = "currency_rate"


@dataclass(frozen=True)
class CurrencyCheck:
    """The two currencies compared when a shop was connected ("" when unknown) and the rate
    to save in the channel's settings (None: keep the default of 1)."""

    shop: str
    store: str
    rate: Decimal | None


def parse_given_rate(raw: str | Decimal | None) -> Decimal | None:
    """The rate as typed (text from a form or a flag), or None when left empty."""
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        if not raw.is_finite() or raw <= 0:
            raise InvalidInput(FIELD, f"must be a positive number, got {raw}")
        return parse_rate(FIELD, f"{raw.normalize():f}")
    if not raw.strip():
        return None
    return parse_rate(FIELD, raw)


def live_store_currency(session: Session, pm: ShelfsyncPluginManager,
                        organization: Organization) -> str:
    """The currency the organization's store prices in: its live check's, else its read
    catalog's; "" when it has no store or neither says.

    A store that cannot be reached right now does not block connecting a shop (the catalog's
    currency, when read, still counts); the order path still refuses an order in another
    currency without a rate.
    """
    assert organization.id is not None
    try:
        store = context.store_of(session, organization.id)
    except ConfigurationError:
        return ""
    account: AccountInfo | None = None
    try:
        account = pm.call(context.store_connection(store), "shelfsync_check_connection")
    except (PluginError, ConfigurationError) as exc:
        log.warning("store %s: its currency could not be read (%s); using the catalog's",
                    store.id, exc)
    if account is not None and account.currency:
        return account.currency.strip().upper()
    return (store_currency(session, store.id) or "").upper()


def check_currencies(shop_currency: str | None, store_currency_code: str | None,
                     given: str | Decimal | None) -> CurrencyCheck:
    """Compare the shop's and the store's currency with the rate given.

    - Different currencies: a rate is required, and it must not be 1 (the order path reads a
      rate of 1 as "no rate" and would refuse every order).
    - The same currency: a rate other than 1 is refused, since it would claim a conversion
      that does not exist (the order path ignores it; a merchant who typed one expected it
      to do something). A rate of 1 is accepted and nothing is saved.
    - Either unknown: nothing is compared; a given rate is saved as given.
    """
    shop = (shop_currency or "").strip().upper()
    store = (store_currency_code or "").strip().upper()
    rate = parse_given_rate(given)
    if not shop or not store:
        return CurrencyCheck(shop, store, rate)
    if shop != store:
        if rate is None or rate == 1:
            why = " (a rate of 1 would leave prices unconverted)" if rate == 1 else ""
            raise InvalidInput(FIELD, f"This shop sells in {shop} and your store prices in "
                                      f"{store}: enter how many {shop} one {store} buys{why}")
        return CurrencyCheck(shop, store, rate)
    if rate is not None and rate != 1:
        raise InvalidInput(FIELD, f"This shop sells in {shop}, as your store does: leave the "
                                  "exchange rate empty (there is nothing to convert)")
    return CurrencyCheck(shop, store, None)
