"""Whole-store reads as one Shopify bulk query operation instead of thousands of paged ones.

A paged whole-store read costs ~13–20 points per variant, so on the Standard plan (100
points/s) 10,000 variants take 20+ minutes of paced sleeping. A bulk query costs one mutation
(10 points) and a few status polls; Shopify reads the shop in the background and hands back a
JSON Lines file. The flow, as Shopify's bulk operations guide describes it:

1. `currentBulkOperation`: before 2026-01 an app runs one bulk query at a time per shop. A
   running operation of ours with the same query, started moments ago, is adopted (its result
   is what we would ask for); an older one of ours is cancelled (stale: an earlier pass gave
   up on it); anyone else's (another process of the same app) is waited for.
2. `bulkOperationRunQuery`; `OPERATION_IN_PROGRESS` (a race with another process) goes back
   to 1.
3. The operation is polled (`node(id:)`) until it finishes; the `bulk_operations/finish`
   webhook arrives in the receiver's process, not here, so polling is what ends the wait.
4. The file is downloaded through the address guard (`core.http.make_client`, after
   `check_public_url`) without the access token, to a temporary file on disk, and checked
   before anything is handed on: every line JSON, `fileSize` bytes, each child line right
   after its parent (`__parentId`). Then it is read again, line by line, joining each parent
   with its children, so memory holds one variant and one page, never the file.

Anything that keeps the file from being trusted (FAILED with any `errorCode`, EXPIRED,
CANCELED, ACCESS_DENIED, an expired or lost link, a short or malformed file, no file, a wait
past `MAX_WAIT`) raises `BulkUnavailable` with a reason, always before the first page is
handed on, so the caller falls back to paged reads and loses nothing.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO, Any

import httpx

from shelfsync.core.errors import AuthError, PermissionDenied, PluginError, ShelfsyncError
from shelfsync.core.http import check_public_url, make_client
from shelfsync.core.types import Connection
from shelfsync.plugins.shopify import mapping
from shelfsync.plugins.shopify.client import ShopifyClient

log = logging.getLogger(__name__)

#: Seconds we wait for an operation (ours or another's) before reading page by page instead.
MAX_WAIT = 3600.0
#: A running operation of ours younger than this is adopted rather than cancelled.
ADOPT_SECONDS = 120.0
#: Poll interval: a twentieth of the time waited so far, between these bounds. A poll costs
#: 1–2 points (a few hundredths of a point a second against a restore rate of 50 or more);
#: the wait overshoots the operation's end by under ~5 % (a tenth and 10 s cost a 10,000-SKU
#: reconcile ~5 s of its ~150 s bound, 2026-12-03).
POLL_MIN, POLL_MAX = 0.5, 5.0
POLL_SHARE = 1 / 20
#: Variants per page handed to the engine.
PAGE = 250
_FINISHED = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
_RUNNING = ("CREATED", "RUNNING", "CANCELING")

_LEVELS = """
        inventoryLevels {
          edges { node { location { id } quantities(names: ["available"]) { name quantity } } }
        }"""
#: Stock, policy and `tracked` of every variant (2 connections, 2 levels deep).
STOCK = ("""{
  productVariants {
    edges { node {
      id
      sku
      inventoryPolicy
      inventoryItem {
        id
        tracked""" + _LEVELS + """
      }
    } }
  }
}""")
#: Policy and `tracked` only (1 connection): a flags read no stock read of the pass lent.
FLAGS = """{
  productVariants {
    edges { node { id sku inventoryPolicy inventoryItem { id tracked } } }
  }
}"""
#: The catalog, with policy and `tracked` so a refresh's flags read needs no operation of
#: its own (1 connection: a quarter of the stock query's objects).
CATALOG = """{
  productVariants {
    edges { node {
      id sku title price inventoryPolicy product { id title } inventoryItem { id tracked }
    } }
  }
}"""

_OP_FIELDS = ("id status errorCode createdAt completedAt objectCount fileSize url "
              "partialDataUrl query")
RUN = ("mutation BulkRun($query: String!) { bulkOperationRunQuery(query: $query) { "
       f"bulkOperation {{ {_OP_FIELDS} }} userErrors {{ field message code }} }} }}")
CURRENT = f"query BulkCurrent {{ currentBulkOperation {{ {_OP_FIELDS} }} }}"
BY_ID = ("query BulkById($id: ID!) { node(id: $id) { "
         f"... on BulkOperation {{ {_OP_FIELDS} }} }} }}")
CANCEL = ("mutation BulkCancel($id: ID!) { bulkOperationCancel(id: $id) { "
          "bulkOperation { id status } userErrors { field message } } }")


class BulkUnavailable(Exception):
    """The bulk read cannot be used; `reason` says why (nothing was handed on yet)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Operation:
    """What we read of a BulkOperation."""

    id: str
    status: str
    error_code: str | None
    created_at: datetime | None
    url: str | None
    file_size: int | None
    partial_url: str | None
    query: str
    object_count: int


def _operation(value: Any) -> Operation | None:
    if value is None:
        return None
    node = mapping.obj(value, "bulkOperation")
    size = node.get("fileSize")
    count = node.get("objectCount")
    created = node.get("createdAt")
    try:
        return Operation(
            id=mapping.text(node, "id", "bulkOperation"),
            status=mapping.text(node, "status", "bulkOperation"),
            error_code=node.get("errorCode"),
            created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
            url=node.get("url"), file_size=int(size) if size is not None else None,
            partial_url=node.get("partialDataUrl"), query=str(node.get("query") or ""),
            object_count=int(count or 0))
    except (TypeError, ValueError) as exc:
        raise mapping.bad(f"bulkOperation is malformed: {exc}") from None


def same_query(a: str, b: str) -> bool:
    """Whether two query texts are the same document (whitespace aside)."""
    return a.split() == b.split()


class BulkRead:
    """One bulk read: run (or adopt) the operation, wait, download and check the file."""

    def __init__(self, client: ShopifyClient, connection: Connection, document: str,
                 now: Callable[[], datetime] | None = None) -> None:
        self.client, self.connection, self.document = client, connection, document
        self.waited = 0.0
        self.polls = 0
        self.operation: Operation | None = None
        self._now = now or (lambda: datetime.now(UTC))

    # --- the operation --------------------------------------------------------------------

    def _sleep(self) -> None:
        pause = min(POLL_MAX, max(POLL_MIN, self.waited * POLL_SHARE))
        if self.waited + pause > MAX_WAIT:
            raise BulkUnavailable(f"waited {self.waited:.0f} s, over the {MAX_WAIT:.0f} s limit")
        self.client.sleep(pause)
        self.waited += pause

    def _poll(self, op_id: str) -> Operation:
        self.polls += 1
        op = _operation(self.client.query(BY_ID, {"id": op_id}).get("node"))
        if op is None:
            raise BulkUnavailable(f"bulk operation {op_id} is gone")
        return op

    def _wait(self, op: Operation) -> Operation:
        while op.status not in _FINISHED:
            self._sleep()
            op = self._poll(op.id)
        return op

    def _age(self, op: Operation) -> float:
        if op.created_at is None:
            return 0.0
        return (self._now() - op.created_at).total_seconds()

    def start(self) -> Operation:
        """Adopt, wait for, or cancel what runs, then run ours; the operation, finished."""
        for _ in range(5):
            current = _operation(self.client.query(CURRENT).get("currentBulkOperation"))
            if current is not None and current.status in _RUNNING:
                ours = same_query(current.query, self.document)
                if ours and current.status != "CANCELING" and self._age(current) <= ADOPT_SECONDS:
                    log.info("shopify: adopting running bulk operation %s", current.id)
                    return self._wait(current)
                if ours and current.status != "CANCELING":
                    log.info("shopify: cancelling stale bulk operation %s", current.id)
                    self.client.mutate(CANCEL, {"id": current.id}, "bulkOperationCancel")
                else:
                    log.info("shopify: waiting for bulk operation %s (not ours) to finish",
                             current.id)
                self._wait(current)
            payload = self.client.send_once(RUN, {"query": self.document}).get(
                "bulkOperationRunQuery")
            payload = mapping.obj(payload, "bulkOperationRunQuery")
            errors = mapping.items(payload.get("userErrors"), "bulkOperationRunQuery.userErrors")
            if any(isinstance(e, Mapping) and e.get("code") == "OPERATION_IN_PROGRESS"
                   for e in errors):
                continue  # another process started one between our look and our run
            if errors:
                message = "; ".join(str(e.get("message")) for e in errors
                                    if isinstance(e, Mapping))
                raise BulkUnavailable(f"bulkOperationRunQuery refused the query: {message}")
            op = _operation(payload.get("bulkOperation"))
            if op is None:
                raise BulkUnavailable("bulkOperationRunQuery returned no operation")
            try:
                return self._wait(op)
            except BulkUnavailable:
                self._give_up(op)
                raise
        raise BulkUnavailable("another bulk query kept starting before ours")

    def _give_up(self, op: Operation) -> None:
        """Cancel our operation we stopped waiting for: it would hold the shop's one slot."""
        try:
            self.client.mutate(CANCEL, {"id": op.id}, "bulkOperationCancel")
        except PluginError as exc:
            log.info("shopify: could not cancel bulk operation %s: %s", op.id, exc)

    def finished(self) -> Operation:
        """The finished operation whose file we can read, or BulkUnavailable with why not."""
        try:
            op = self.start()
        except PermissionDenied as exc:
            raise BulkUnavailable(f"ACCESS_DENIED: {exc}") from None
        except AuthError:
            raise  # the token itself is refused: paged reads would fail the same way
        except PluginError as exc:  # refused, malformed, throttled or failing past retries
            raise BulkUnavailable(f"{type(exc).__name__}: {exc}") from None
        self.operation = op
        if op.status == "FAILED":
            partial = " (only a partial file)" if op.partial_url else ""
            raise BulkUnavailable(f"bulk operation {op.id} FAILED with "
                                  f"{op.error_code or 'no error code'}{partial}")
        if op.status != "COMPLETED":
            raise BulkUnavailable(f"bulk operation {op.id} is {op.status}")
        if not op.url:
            raise BulkUnavailable(f"bulk operation {op.id} COMPLETED without a file "
                                  f"({op.object_count} objects)")
        return op


def download(connection: Connection, op: Operation) -> IO[bytes]:
    """The operation's result file on disk (a temporary file), checked; BulkUnavailable
    otherwise."""
    if not op.url:
        raise BulkUnavailable(f"bulk operation {op.id} has no result file")
    try:
        url = check_public_url(op.url)
    except ShelfsyncError as exc:  # not http(s), or not a public address
        raise BulkUnavailable(f"result URL refused: {exc}") from None
    # Closed by the caller, who reads it after this returns.
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        # No access token: the link is signed, and the token must not leave for storage.
        storage = replace(connection, base_url="", credentials={})
        with make_client(storage) as http, http.stream("GET", url) as response:
            if response.status_code != 200:
                raise BulkUnavailable(f"result file answered HTTP {response.status_code} "
                                      "(an expired or lost link)")
            for chunk in response.iter_bytes():
                spool.write(chunk)
        check_file(spool, op.file_size)
    except BulkUnavailable:
        spool.close()
        raise
    except (httpx.HTTPError, PluginError) as exc:
        spool.close()
        raise BulkUnavailable(f"result file download failed: {type(exc).__name__}: "
                              f"{exc}") from None
    spool.seek(0)
    return spool


def check_file(spool: IO[bytes], size: int | None) -> None:
    """Every line a JSON object, the size announced, each child right after its parent."""
    total = spool.tell()
    if size is not None and total != size:
        raise BulkUnavailable(f"result file has {total} bytes, the operation said {size} "
                              "(a partial file)")
    spool.seek(0)
    parent: str | None = None
    for number, line in enumerate(spool, start=1):
        if not line.endswith(b"\n"):
            raise BulkUnavailable(f"result file ends mid-line at line {number} (a partial file)")
        try:
            row = json.loads(line)
        except ValueError:
            raise BulkUnavailable(f"result file line {number} is not JSON") from None
        if not isinstance(row, dict):
            raise BulkUnavailable(f"result file line {number} is not an object")
        owner = row.get("__parentId")
        if owner is None:
            parent = row.get("id") if isinstance(row.get("id"), str) else None
            if parent is None:
                raise BulkUnavailable(f"result file line {number} has neither id nor parent")
        elif owner != parent:
            raise BulkUnavailable(f"result file line {number}: child of {owner} not after "
                                  "its parent")


def joined(spool: IO[bytes]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each parent line with its child lines (read one variant at a time, never the file)."""
    parent: dict[str, Any] | None = None
    children: list[dict[str, Any]] = []
    for line in spool:
        row = json.loads(line)
        if "__parentId" in row:
            children.append(row)
            continue
        if parent is not None:
            yield parent, children
        parent, children = row, []
    if parent is not None:
        yield parent, children


def with_levels(variant: dict[str, Any], levels: list[dict[str, Any]]) -> dict[str, Any]:
    """The variant node as the paged StockLevels query shapes it (levels under its item)."""
    item = dict(mapping.obj(variant.get("inventoryItem"), "productVariant.inventoryItem"))
    item["inventoryLevels"] = {"nodes": [{k: v for k, v in level.items() if k != "__parentId"}
                                         for level in levels],
                               "pageInfo": {"hasNextPage": False, "endCursor": None}}
    return {**variant, "inventoryItem": item}


def pages_of(spool: IO[bytes], shape: Callable[[dict[str, Any], list[dict[str, Any]]], Any]
             ) -> Iterator[list[Any]]:
    """The file's parents (shaped with their children) in pages of `PAGE`."""
    page: list[Any] = []
    for parent, children in joined(spool):
        page.append(shape(parent, children))
        if len(page) >= PAGE:
            yield page
            page = []
    if page:
        yield page


def read_file(client: ShopifyClient, connection: Connection, document: str,
              now: Callable[[], datetime] | None = None) -> tuple[IO[bytes], Operation]:
    """Run `document` as a bulk query and return its checked file (the caller closes it)."""
    op = BulkRead(client, connection, document, now).finished()
    return download(connection, op), op
