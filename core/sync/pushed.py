"""What each channel SKU was last pushed, versioned by the stock observation it came from.

A push goes through three short statements, none of them open across the network:

1. `claim`: before the call, the SKU's row is set to "in flight" (quantity NULL) with the
   decision's version, only where no newer version is stored. A SKU whose newer decision is
   already pushed (or in flight) is not pushed at all: an older decision never goes out after
   a newer one was recorded. The claim is committed before the call, so a push whose recording
   is lost (worker killed, timeout on an applied update) leaves "unknown", pushed again next
   time, never a stale quantity.
2. the call itself, with no transaction open;
3. `record`: the accepted quantity is written only where the stored version is still ours. If
   a newer pass claimed the SKU while our call was on its way, the two calls' order at the
   channel is unknown: the newer row is set back to unknown and the SKU is returned to the
   pending queue, so the next pass pushes the newest decision again.

Rows without a version (written before versions existed) give way to any push.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from shelfsync.core.models import PushedQuantity, utcnow
from shelfsync.core.models_ops import Prebuilt
from shelfsync.core.sync.context import CHUNK, chunks


def _table():  # type: ignore[no-untyped-def]
    return PushedQuantity.__table__  # type: ignore[attr-defined]


def load(session: Session, channel_id: int,
         sku_ids: Sequence[str]) -> dict[str, tuple[int | None, datetime | None]]:
    """sku_id -> (last pushed quantity or None when unknown, its version)."""
    table = _table()
    found: dict[str, tuple[int | None, datetime | None]] = {}
    for part in chunks(sorted(set(sku_ids))):
        rows = session.execute(select(table.c.sku_id, table.c.quantity, table.c.version).where(
            table.c.channel_id == channel_id, table.c.sku_id.in_(part)))
        found.update({sku_id: (quantity, version) for sku_id, quantity, version in rows})
    return found


def newer(stored: datetime | None, version: datetime) -> bool:
    """Whether a stored version is newer than `version` (an unversioned row never is)."""
    return stored is not None and stored > version


def _upsert(session: Session, channel_id: int, quantities: Mapping[str, int | None],
            version: datetime, *, only_same_version: bool) -> set[str]:
    """Write (quantity, version) per SKU where the stored version allows; returns the SKU ids
    written. One INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING, executed for all rows
    at once (the driver batches them): the database decides against a racing pass, not the
    caller."""
    if not quantities:
        return set()
    now = utcnow()
    statement = (_RECORD if only_same_version else _CLAIM)(session)
    rows = [{"channel_id": channel_id, "sku_id": sku_id, "quantity": quantity,
             "pushed_at": now, "version": version}
            for sku_id, quantity in sorted(quantities.items())]
    written: set[str] = set()
    for part in chunks(rows, CHUNK):
        written.update(session.execute(statement, list(part)).scalars())
    return written


def _upsert_statement(insert_into: Callable[[type[Any]], Any], *,
                      only_same_version: bool) -> Any:
    table = _table()
    insert = insert_into(PushedQuantity)
    if only_same_version:
        allowed = or_(table.c.version.is_(None), table.c.version == insert.excluded.version)
    else:
        allowed = or_(table.c.version.is_(None), table.c.version <= insert.excluded.version)
    return insert.on_conflict_do_update(
        index_elements=["channel_id", "sku_id"],
        set_={"quantity": insert.excluded.quantity, "pushed_at": insert.excluded.pushed_at,
              "version": insert.excluded.version},
        where=allowed,
    ).returning(table.c.sku_id)


#: A claim writes where nothing newer is stored; a record only where its claim still stands.
_CLAIM = Prebuilt(lambda insert_into: _upsert_statement(insert_into, only_same_version=False))
_RECORD = Prebuilt(lambda insert_into: _upsert_statement(insert_into, only_same_version=True))


def claim(session: Session, channel_id: int, sku_ids: Sequence[str],
          version: datetime) -> set[str]:
    """Mark these SKUs in flight at `version` where nothing newer is stored; returns those
    claimed (the caller pushes only them, after committing)."""
    return _upsert(session, channel_id, dict.fromkeys(sku_ids), version,
                   only_same_version=False)


def shown_already(session: Session, channel_id: int, sku_id: str, quantity: int,
                  version: datetime) -> None:
    """The channel already shows the decided quantity (a reconcile read it): record it, unless
    a newer version is stored."""
    _upsert(session, channel_id, {sku_id: quantity}, version, only_same_version=False)


def record(session: Session, channel_id: int, accepted: Mapping[str, int],
           version: datetime) -> set[str]:
    """Write the quantities the channel accepted where our claim still stands; returns the SKU
    ids a newer pass claimed meanwhile, now set back to unknown (the caller queues them)."""
    if not accepted:
        return set()
    written = _upsert(session, channel_id, accepted, version, only_same_version=True)
    overtaken = set(accepted) - written
    table = _table()
    for part in chunks(sorted(overtaken)):
        session.execute(update(table).where(
            and_(table.c.channel_id == channel_id, table.c.sku_id.in_(part),
                 table.c.version > version)).values(quantity=None))
    return overtaken
