"""Onboarding's sync settings per shop: auto-link by SKU, order sync, the currency rate
(channel price = store price × rate, for a shop selling in another currency than the store)
and the carrier mapping (store carrier name → the shop's shipping provider id).

The rate and the mapping are checked here (the switches by `channel_settings`); everything
is checked before anything is set, so a refused form changes nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import CatalogVariant, ChannelConnection, ChannelSettings
from shelfsync.core.services.channel_settings import channel_settings, update_channel_settings
from shelfsync.core.services.fields import escape_controls

#: Numeric(12, 6): six decimals, below a million; a rate is positive.
_RATE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_CARRIERS = 100
MAX_NAME = 200


def parse_rate(field: str, raw: str) -> Decimal:
    """A currency rate in ASCII digits, at most 6 decimals, above 0 and below 1,000,000."""
    text = raw.strip()
    if not _RATE.fullmatch(text) or Decimal(text) <= 0:
        raise InvalidInput(field, "must be a positive number such as 0.79 (digits 0-9, at "
                                  f"most 6 decimals, below 1,000,000), got {text[:30]!r}")
    return Decimal(text)


def parse_carrier_mapping(field: str, text: str) -> dict[str, str]:
    """Lines `Store carrier = provider id`; blank lines are skipped."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        carrier, sep, provider = line.partition("=")
        carrier, provider = carrier.strip(), provider.strip()
        if not sep or not carrier or not provider:
            raise InvalidInput(field, f"line {number}: expected `Store carrier = provider id`,"
                                      f" got {escape_controls(line)[:60]!r}")
        if _CONTROL.search(carrier + provider) or max(len(carrier), len(provider)) > MAX_NAME:
            raise InvalidInput(field, f"line {number}: names are at most {MAX_NAME} "
                                      "characters, without control characters")
        if carrier in mapping:
            raise InvalidInput(field, f"line {number}: {carrier!r} is mapped twice")
        mapping[carrier] = provider
    if len(mapping) > MAX_CARRIERS:
        raise InvalidInput(field, f"at most {MAX_CARRIERS} carriers")
    return mapping


def format_carrier_mapping(mapping: dict[str, str] | None) -> str:
    """The mapping as the form's lines."""
    return "\n".join(f"{carrier} = {provider}" for carrier, provider in (mapping or {}).items())


def store_currency(session: Session, store_id: int | None) -> str | None:
    """The currency the store's catalog is priced in, once the catalog was read."""
    if store_id is None:
        return None
    found = session.exec(select(CatalogVariant.currency).where(
        CatalogVariant.store_connection_id == store_id,
        CatalogVariant.currency.is_not(None)).limit(1)).first()  # type: ignore[union-attr]
    return str(found) if found else None


def update_sync_settings(session: Session, channel: ChannelConnection, changes: dict[str, Any]
                         ) -> ChannelSettings:
    """Set `auto_link`, `order_sync` (checked by the channel settings service), and the
    already-parsed `currency_rate` and `carrier_mapping`."""
    assert channel.id is not None
    rate = changes.get("currency_rate")
    mapping = changes.get("carrier_mapping")
    if rate is not None and (not isinstance(rate, Decimal) or rate <= 0):
        raise InvalidInput("currency_rate", "must be a positive decimal")
    if mapping is not None and not isinstance(mapping, dict):
        raise InvalidInput("carrier_mapping", "must map carrier names to provider ids")
    switches = {k: v for k, v in changes.items() if k in ("auto_link", "order_sync")}
    settings = update_channel_settings(session, channel, switches)
    if rate is not None:
        settings.currency_rate = rate
    if mapping is not None:
        settings.carrier_mapping = dict(mapping)
    session.add(settings)
    session.flush()
    return channel_settings(session, channel.id)
