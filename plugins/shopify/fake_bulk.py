"""Bulk query operations in the Shopify fake, run as Shopify runs them (Admin API 2025-04).

`bulkOperationRunQuery(query:)` checks the query (fake_bulk_rules), refuses a second query
while one is CREATED/RUNNING/CANCELING (`OPERATION_IN_PROGRESS`: one bulk query at a time per
shop and app before 2026-01), then reads the shop once and processes it over time: CREATED for
`startup` seconds, RUNNING with `objectCount` rising at `rate` objects a second, then COMPLETED
with `url`, `fileSize` and `completedAt` (or FAILED with an `errorCode` and, when something
was read, a `partialDataUrl`). The file is JSON Lines: one line per connection node, a nested
connection's nodes on their own lines after their parent, carrying `__parentId`. The URL is
served from a separate storage address (`/storage/bulk/…`, like Shopify's Google Cloud Storage
signed links: no access token, a signature and an expiry in the query) and expires seven days
after completion, when the operation turns EXPIRED. `bulkOperationCancel` moves a running
operation to CANCELING, then CANCELED. Finishing (completed, failed, canceled) sends the
`bulk_operations/finish` webhook.

Time comes from an injected clock (`clock()`, seconds), so tests move it instead of waiting.
The objects of a shop of up to `BACKGROUND_VARIANTS` variants are read when the operation is
created (a snapshot, inside the mutation's answer), so tests see the same states for the same
clock readings. A bigger shop is read on a thread of its own without the shop's lock, as
Shopify answers the mutation at once and reads while RUNNING: reading 1,000,000 variants takes
the fake minutes, which a client would otherwise spend waiting for the mutation's answer
(and time out). Such an operation completes when both its processing time has passed and its
file is built.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
    get_named_type,
)
from werkzeug.wrappers import Request, Response

from shelfsync.plugins.shopify.fake_bulk_rules import (
    bulk_query_errors,
    fields_of,
    is_connection,
    node_selection,
    node_type,
)
from shelfsync.plugins.shopify.fake_paging import BULK_READ
from shelfsync.plugins.shopify.fake_store import parse_gid

if TYPE_CHECKING:
    from shelfsync.plugins.shopify.fake import ShopifyFake

#: Objects a second a bulk query processes. Shopify publishes no rate; reports of real runs
#: range from ~460 objects/s (500,000 inventory records in 18 minutes, tenten.co 2026) down to
#: hours for 10,000+ products with heavy nested queries (Shopify/shopify-api-ruby#876). We
#: take the measured 460/s; `ShopifyFake(bulk_rate=…)` sets another.
BULK_OBJECTS_PER_SECOND = 460.0
#: Seconds an operation stays CREATED before it runs (queueing on Shopify's side).
BULK_STARTUP_SECONDS = 1.0
#: Seconds from bulkOperationCancel to CANCELED.
CANCEL_SECONDS = 1.0
#: `url` and `partialDataUrl` expire 7 days after the operation finishes.
URL_LIFETIME = 7 * 24 * 3600.0
#: Above this many variants, an operation's file is built in the background (see above).
BACKGROUND_VARIANTS = 50_000
STORAGE_PREFIX = "/storage/bulk/"
_ID_ALIAS = "bulkParentId_"
RUNNING_STATES = ("CREATED", "RUNNING", "CANCELING")
FAULTS = ("fail", "lose_file", "truncate", "expire", "expire_url")
ERROR_CODES = ("ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT")


@dataclass(eq=False)
class BulkOperation:
    """One bulk query operation and its result file."""

    num: int
    query: str
    created: float
    duration: float
    objects: int
    roots: int
    lines: list[bytes]
    status: str = "CREATED"
    error_code: str | None = None
    finished: float | None = None
    cancel_at: float | None = None
    fault: dict[str, Any] = field(default_factory=dict)
    object_count: int = 0
    file: bytes | None = None
    partial: bytes | None = None
    url_expires: float | None = None
    #: When the signature of the links handed out expires (the `expire_url` fault: before
    #: anyone downloads); the operation itself stays COMPLETED until `url_expires`.
    link_expires: float | None = None
    lost: bool = False
    #: The file is still being built in the background: the operation cannot finish yet.
    building: bool = False


class BulkOperations:
    """The shop's bulk operations, their clock, and the storage that serves their files."""

    def __init__(self, fake: ShopifyFake, clock: Callable[[], float],
                 rate: float = BULK_OBJECTS_PER_SECOND,
                 startup: float = BULK_STARTUP_SECONDS) -> None:
        self.fake, self.clock, self.rate, self.startup = fake, clock, rate, startup
        self.operations: list[BulkOperation] = []
        #: Shops bigger than this are read in the background (a test may lower it).
        self.background_variants = BACKGROUND_VARIANTS
        self.armed: list[dict[str, Any]] = []
        self._epoch = (datetime.now(UTC), clock())
        self._key = hashlib.sha256(f"bulk:{fake.client_secret}".encode()).digest()
        # The fake's own lock: one lock, so no order between two locks to get wrong (the
        # finish webhook and the bulk read both need the shop's).
        self._lock = fake.state_lock

    # --- time -----------------------------------------------------------------------------

    def iso(self, moment: float) -> str:
        """A clock reading as Shopify's DateTime."""
        wall, start = self._epoch
        return (wall + timedelta(seconds=moment - start)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def refresh(self) -> None:
        """Move every operation to the state the clock says it is in."""
        now = self.clock()
        with self._lock:
            for op in self.operations:
                self._advance(op, now)

    def _advance(self, op: BulkOperation, now: float) -> None:
        if op.status in ("CANCELED", "FAILED", "EXPIRED"):
            return
        if op.status == "COMPLETED":
            if op.url_expires is not None and now >= op.url_expires:
                op.status, op.file = "EXPIRED", None
            return
        if op.cancel_at is not None:
            op.status = "CANCELING"
            if now >= op.cancel_at:
                self._finish(op, "CANCELED", op.cancel_at)
            return
        elapsed = now - op.created
        if elapsed < self.startup:
            return
        if op.building or elapsed < op.duration:
            op.status = "RUNNING"
            op.object_count = min(op.objects, int((elapsed - self.startup) * self.rate))
            return
        self._complete(op, op.created + op.duration)

    def _complete(self, op: BulkOperation, at: float) -> None:
        fault = op.fault.get("fault")
        if fault == "fail":
            op.error_code = str(op.fault.get("error_code") or "INTERNAL_SERVER_ERROR")
            if op.fault.get("partial") and op.lines:
                half = op.lines[: max(1, len(op.lines) // 2)]
                op.partial, op.object_count = b"".join(half), len(half)
            self._finish(op, "FAILED", at)
            op.lines = []
            return
        op.object_count = op.objects
        op.file = b"".join(op.lines) or None  # no objects: Shopify gives no file (url null)
        op.lines = []
        op.url_expires = at + URL_LIFETIME
        op.link_expires = at if fault == "expire_url" else op.url_expires
        op.lost = fault == "lose_file"
        self._finish(op, "COMPLETED", at)
        if fault == "expire":
            op.status, op.file = "EXPIRED", None

    def _finish(self, op: BulkOperation, status: str, at: float) -> None:
        op.status, op.finished = status, at
        payload = {
            "admin_graphql_api_id": self.gid(op),
            "completed_at": self.iso(at) if status == "COMPLETED" else None,
            "created_at": self.iso(op.created),
            "error_code": op.error_code.lower() if op.error_code else None,
            "status": status.lower(),
            "type": "query",
        }
        self.fake.deliver("bulk_operations/finish", payload)

    # --- the API --------------------------------------------------------------------------

    @staticmethod
    def gid(op: BulkOperation) -> str:
        """The operation's global id."""
        return f"gid://shopify/BulkOperation/{op.num}"

    def run_query(self, schema: GraphQLSchema, query: str) -> dict[str, Any]:
        """`bulkOperationRunQuery`: the payload (`bulkOperation`, `userErrors`)."""
        document, errors = bulk_query_errors(schema, query)
        if errors:
            return {"bulkOperation": None, "userErrors": errors}
        assert document is not None
        self.refresh()
        with self._lock:
            running = next((op for op in self.operations if op.status in RUNNING_STATES), None)
            if running is not None:
                message = (f"A bulk query operation for this app and shop is already in "
                           f"progress: {self.gid(running)}.")
                error = {"__typename": "BulkOperationUserError", "field": None,
                         "message": message, "code": "OPERATION_IN_PROGRESS"}
                return {"bulkOperation": None, "userErrors": [error]}
            now = self.clock()  # reading the shop is part of the processing time
            num, fault = 1000 + len(self.operations) + 1, self.armed.pop(0) if self.armed else {}
            if len(self.fake.store.variants) > self.background_variants:
                op = BulkOperation(num=num, query=query, created=now, duration=self.startup,
                                   objects=0, roots=0, lines=[], fault=fault, building=True)
                threading.Thread(target=self._build, args=(op, schema, document),
                                 name=f"shopify-fake-bulk-{num}", daemon=True).start()
            else:
                lines, roots = _jsonl(schema, document, self.fake)
                op = BulkOperation(
                    num=num, query=query, created=now,
                    duration=self.startup + len(lines) / self.rate, objects=len(lines),
                    roots=roots, lines=lines, fault=fault)
            self.operations.append(op)
        return {"bulkOperation": op, "userErrors": []}

    def _build(self, op: BulkOperation, schema: GraphQLSchema, document: DocumentNode) -> None:
        """Read a big shop for `op` without holding the shop's lock, then let it finish."""
        lines: list[bytes] = []
        roots = 0
        try:
            lines, roots = _jsonl(schema, document, self.fake, locked=False)
        finally:  # whatever happened, the operation must be able to finish
            with self._lock:
                built = self.clock() - op.created
                op.lines, op.objects, op.roots = lines, len(lines), roots
                op.duration = max(self.startup + len(lines) / self.rate, built)
                op.building = False

    def cancel(self, op_id: str) -> dict[str, Any]:
        """`bulkOperationCancel`: CANCELING now, CANCELED a moment later."""
        self.refresh()
        op = self.find(op_id)
        if op is None:
            error = {"field": ["id"], "message": "Bulk operation does not exist"}
            return {"bulkOperation": None, "userErrors": [error]}
        if op.status not in ("CREATED", "RUNNING"):
            error = {"field": None, "message": f"A bulk operation cannot be canceled when it "
                                               f"is {op.status.lower()}"}
            return {"bulkOperation": op, "userErrors": [error]}
        with self._lock:
            op.cancel_at = self.clock() + CANCEL_SECONDS
            op.status = "CANCELING"
        return {"bulkOperation": op, "userErrors": []}

    def current(self, kind: str = "QUERY") -> BulkOperation | None:
        """`currentBulkOperation`: the app's most recent operation of `kind`."""
        self.refresh()
        if kind != "QUERY":
            return None
        return self.operations[-1] if self.operations else None

    def find(self, value: str | None) -> BulkOperation | None:
        """The operation a global id names, or None."""
        parsed = parse_gid(value or "")
        if parsed is None or parsed[0] != "BulkOperation":
            return None
        self.refresh()
        return next((op for op in self.operations if op.num == parsed[1]), None)

    def fields(self, op: BulkOperation) -> dict[str, Any]:
        """The BulkOperation object's fields (UnsignedInt64 as strings, as Shopify sends)."""
        finished = op.status in ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
        size = len(op.file) if op.file is not None else None
        return {
            "id": self.gid(op),
            "status": op.status,
            "type": "QUERY",
            "query": op.query,
            "errorCode": op.error_code,
            "createdAt": self.iso(op.created),
            "completedAt": self.iso(op.finished) if op.status == "COMPLETED" and op.finished
            is not None else None,
            "objectCount": str(op.object_count),
            "rootObjectCount": str(min(op.roots, op.object_count)),
            "fileSize": str(size) if size is not None and finished else None,
            "url": (self._signed(op, "result") if op.status == "COMPLETED"
                    and op.file is not None else None),
            "partialDataUrl": self._signed(op, "partial") if op.partial is not None else None,
        }

    # --- storage --------------------------------------------------------------------------

    def _signed(self, op: BulkOperation, kind: str) -> str:
        expires = op.link_expires if op.link_expires is not None else (
            (op.finished or self.clock()) + URL_LIFETIME)
        path = f"{STORAGE_PREFIX}{op.num}/{kind}.jsonl"
        stamp = f"{expires:.3f}"
        query = urlencode({"X-Goog-Expires": stamp, "X-Goog-Signature": self._sign(path, stamp)})
        return f"{self.fake.public_url}{path}?{query}"

    def _sign(self, path: str, stamp: str) -> str:
        return hmac.new(self._key, f"{path}\n{stamp}".encode(), hashlib.sha256).hexdigest()

    def serve(self, request: Request) -> Response:
        """GET a result file by its signed link, answered as Cloud Storage answers."""
        self.refresh()
        stamp = request.args.get("X-Goog-Expires", "")
        signature = request.args.get("X-Goog-Signature", "")
        if not hmac.compare_digest(signature, self._sign(request.path, stamp)):
            return _storage_error(403, "SignatureDoesNotMatch", "The request signature we "
                                  "calculated does not match the signature you provided.")
        try:
            expired = float(stamp) <= self.clock()
        except ValueError:
            expired = True
        if expired:
            return _storage_error(400, "ExpiredToken", "The provided token has expired.")
        parts = request.path.removeprefix(STORAGE_PREFIX).split("/")
        op = next((o for o in self.operations if str(o.num) == parts[0]), None)
        body = None
        if op is not None and not op.lost:
            body = op.partial if parts[-1].startswith("partial") else op.file
        if body is None:
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        if op is not None and op.fault.get("fault") == "truncate":
            body = body[: len(body) // 2]
        return Response(body, 200, mimetype="application/jsonl",
                        headers={"Content-Length": str(len(body))})

    # --- control --------------------------------------------------------------------------

    def control(self, body: Mapping[str, Any], schema: GraphQLSchema) -> dict[str, Any]:
        """`POST /_fake/bulk`: arm a fault for the next operation, finish or start one."""
        action = str(body.get("action", "arm"))
        if action == "arm":
            fault = str(body.get("fault", ""))
            code = str(body.get("error_code") or "INTERNAL_SERVER_ERROR")
            if fault not in FAULTS or code not in ERROR_CODES:
                raise ValueError(f"fault must be one of {FAULTS}, error_code one of "
                                 f"{ERROR_CODES}")
            self.armed.append({"fault": fault, "error_code": code,
                               "partial": bool(body.get("partial"))})
        elif action == "start":  # as another process using the same app would
            query = str(body.get("query") or "{ products { edges { node { id } } } }")
            answer = self.run_query(schema, query)
            if answer["userErrors"]:
                raise ValueError(answer["userErrors"][0]["message"])
        elif action == "finish":  # the running operation reaches its end now
            self.refresh()
            with self._lock:
                for op in self.operations:  # one still building finishes once built
                    if op.status in ("CREATED", "RUNNING") and not op.building:
                        op.created = self.clock() - op.duration
            self.refresh()
        else:
            raise ValueError("action must be arm, start or finish")
        return self.state()

    def state(self) -> dict[str, Any]:
        """Every operation's fields, oldest first, and the faults still armed."""
        self.refresh()
        return {"operations": [self.fields(op) for op in self.operations],
                "armed": list(self.armed)}


def _storage_error(status: int, code: str, message: str) -> Response:
    xml = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
           f"<Message>{message}</Message></Error>")
    return Response(xml, status, mimetype="application/xml")


# --- running the query into JSON Lines ----------------------------------------------------


def _with_ids(selection: SelectionSetNode | None, parent: GraphQLObjectType,
              fragments: Mapping[str, FragmentDefinitionNode], is_node: bool
              ) -> SelectionSetNode | None:
    """The selection with an aliased `id` added to every connection node (for `__parentId`),
    recursing into nested objects."""
    if selection is None:
        return None
    out: list[Any] = []
    for field_node in fields_of(selection, fragments):
        definition = parent.fields.get(field_node.name.value)
        named = get_named_type(definition.type) if definition else None
        if definition is not None and is_connection(definition.type):
            inner = node_type(definition.type)
            nodes = _with_ids(SelectionSetNode(selections=tuple(
                node_selection(field_node, fragments))), inner, fragments, True)
            wrapped = SelectionSetNode(selections=(FieldNode(
                name=NameNode(value="nodes"), arguments=(), directives=(),
                selection_set=nodes),))
            out.append(FieldNode(alias=field_node.alias, name=field_node.name,
                                 arguments=field_node.arguments, directives=(),
                                 selection_set=wrapped))
        elif isinstance(named, GraphQLObjectType) and field_node.selection_set is not None:
            out.append(FieldNode(alias=field_node.alias, name=field_node.name,
                                 arguments=field_node.arguments, directives=(),
                                 selection_set=_with_ids(field_node.selection_set, named,
                                                         fragments, False)))
        else:
            out.append(field_node)
    if is_node and "id" in parent.fields:
        out.append(FieldNode(alias=NameNode(value=_ID_ALIAS), name=NameNode(value="id"),
                             arguments=(), directives=()))
    return SelectionSetNode(selections=tuple(out))


def _lines_of(value: Any, selection: SelectionSetNode | None, parent: GraphQLObjectType,
              parent_id: str | None, out: list[bytes]) -> None:
    """Emit the nodes of every connection in `value` (a result object), parents first."""
    deferred: list[tuple[Any, Any, GraphQLObjectType]] = []
    _strip(value, selection, parent, deferred)
    for nodes, node_fields, inner in deferred:
        for node in nodes:
            _emit(node, node_fields, inner, parent_id, out)


def _strip(value: dict[str, Any], selection: SelectionSetNode | None,
           parent: GraphQLObjectType, deferred: list[Any]) -> None:
    """Take nested connections out of `value` (into `deferred`), through plain objects."""
    for field_node in fields_of(selection, {}):
        key = field_node.alias.value if field_node.alias else field_node.name.value
        definition = parent.fields.get(field_node.name.value)
        if definition is None or key not in value:
            continue
        if is_connection(definition.type):
            connection = value.pop(key) or {}
            node_fields = connection_nodes(field_node)
            deferred.append((connection.get("nodes") or [], node_fields,
                             node_type(definition.type)))
            continue
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLObjectType) and isinstance(value[key], dict):
            _strip(value[key], field_node.selection_set, named, deferred)


def connection_nodes(field_node: FieldNode) -> SelectionSetNode | None:
    """The `nodes { … }` selection _with_ids built under a connection field."""
    assert field_node.selection_set is not None
    return field_node.selection_set.selections[0].selection_set  # type: ignore[union-attr]


def _emit(node: dict[str, Any], selection: SelectionSetNode | None, node_type_: Any,
          parent_id: str | None, out: list[bytes]) -> None:
    own_id = node.pop(_ID_ALIAS, None)
    nested: list[Any] = []
    _strip(node, selection, node_type_, nested)
    if parent_id is not None:
        node["__parentId"] = parent_id
    out.append(json.dumps(node, separators=(",", ":")).encode() + b"\n")
    for nodes, node_fields, inner in nested:
        for child in nodes:
            _emit(child, node_fields, inner, own_id, out)


def _jsonl(schema: GraphQLSchema, document: DocumentNode, fake: ShopifyFake,
           locked: bool = True) -> tuple[list[bytes], int]:
    """Run the bulk query over the whole shop; its JSON Lines and the root object count.
    `locked`: hold the shop's lock while reading (a snapshot)."""
    from shelfsync.plugins.shopify.fake_resolvers import Context

    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    assert schema.query_type is not None
    selection = _with_ids(operation.selection_set, schema.query_type, fragments, False)
    runnable = DocumentNode(definitions=(OperationDefinitionNode(
        operation=operation.operation, name=None, variable_definitions=(), directives=(),
        selection_set=selection),))
    token = BULK_READ.set(True)
    try:
        with fake.state_lock if locked else contextlib.nullcontext():
            result = execute_sync(schema, runnable, context_value=Context(fake.store))
    finally:
        BULK_READ.reset(token)
    if result.errors or result.data is None:
        return [], 0
    out: list[bytes] = []
    data = dict(result.data)
    _lines_of(data, selection, schema.query_type, None, out)
    roots = sum(1 for line in out if b'"__parentId"' not in line)
    return out, roots


# --- binding to the schema ----------------------------------------------------------------

_FIELDS = ("completedAt", "createdAt", "errorCode", "fileSize", "id", "objectCount",
           "partialDataUrl", "query", "rootObjectCount", "status", "type", "url")


def install(schema: GraphQLSchema, bulk: BulkOperations) -> None:
    """Attach the bulk resolvers to a freshly built fake schema (one per fake)."""
    assert schema.query_type is not None and schema.mutation_type is not None
    query, mutation = schema.query_type.fields, schema.mutation_type.fields
    query["currentBulkOperation"].resolve = lambda _, info, type="QUERY": bulk.current(type)
    mutation["bulkOperationRunQuery"].resolve = (
        lambda _, info, query: bulk.run_query(schema, query))
    mutation["bulkOperationCancel"].resolve = lambda _, info, id: bulk.cancel(id)
    node = query["node"].resolve
    query["node"].resolve = lambda root, info, id: (
        bulk.find(id) if id.startswith("gid://shopify/BulkOperation/") else node(root, info, id))
    fields = schema.get_type("BulkOperation").fields  # type: ignore[union-attr]
    for name in _FIELDS:
        fields[name].resolve = (lambda key: lambda op, _: bulk.fields(op)[key])(name)
    interface = schema.get_type("Node")
    resolve_type = interface.resolve_type  # type: ignore[union-attr]
    interface.resolve_type = (  # type: ignore[union-attr]
        lambda obj, *rest: "BulkOperation" if isinstance(obj, BulkOperation)
        else resolve_type(obj, *rest))
