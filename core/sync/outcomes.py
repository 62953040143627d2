"""Recording a channel SKU's outcome: the report's counters and, buffered, its audit row.

Audit rows are plain dicts written with one bulk INSERT per `AUDIT_BATCH` rows, not ORM
objects: a reconcile of a large catalog records one row per pushed, failed or skipped SKU per
shop, and a session holding hundreds of thousands of pending `InventoryAudit` objects (each
with its inputs dict) until the flush is most of a worker's peak memory.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from shelfsync.core.models import AuditOutcome, InventoryAudit, utcnow
from shelfsync.core.sync.decisions import Planned
from shelfsync.core.sync.inventory_types import FAILED, PUSHED, SKIPPED, SkuOutcome

AUDIT_OUTCOME = {PUSHED: AuditOutcome.OK, FAILED: AuditOutcome.ERROR,
                 SKIPPED: AuditOutcome.SKIPPED}
#: Audit rows per INSERT statement (executemany; the driver batches the VALUES).
AUDIT_BATCH = 1000


class AuditBuffer:
    """Audit rows waiting to be written in the caller's transaction, in recording order."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, channel_id: int, item: Planned, outcome: str, from_quantity: int | None,
            code: str | None, message: str | None, request_id: str | None) -> None:
        """Queue one audit row (what the rules saw, what was decided, what came of it)."""
        self.rows.append({
            "channel_id": channel_id, "sku": item.sku, "sku_id": item.sku_id,
            "inputs": {**item.inputs, "from_quantity": from_quantity},
            "quantity": item.quantity, "reason": item.reason, "explanation": item.explanation,
            "outcome": AUDIT_OUTCOME[outcome].value, "error_code": code,
            "error_message": message, "request_id": request_id, "created_at": utcnow(),
        })

    def write(self, session: Session) -> None:
        """Insert the queued rows (append-only table: INSERT only) and forget them."""
        rows, self.rows = self.rows, []
        for start in range(0, len(rows), AUDIT_BATCH):
            session.execute(insert(InventoryAudit), rows[start:start + AUDIT_BATCH])


def outcome_of(channel_id: int, item: Planned, outcome: str, from_quantity: int | None,
               code: str | None = None, message: str | None = None,
               request_id: str | None = None) -> SkuOutcome:
    """The report's record of one SKU's outcome."""
    return SkuOutcome(channel_id, item.sku, item.sku_id, item.product_id, from_quantity,
                      item.quantity, item.reason, item.explanation, outcome, code, message,
                      request_id)
