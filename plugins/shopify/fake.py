"""A faithful local fake of Shopify's Admin GraphQL API, for tests, benchmarks and the demo.

`POST /admin/api/{YYYY-MM}/graphql.json` (any `YYYY-MM`, or `unstable`) runs real GraphQL
(graphql-core) over `fake_schema.graphql`, a hand-written subset of Shopify's 2025-04 Admin
schema with Shopify's own names. What it does like Shopify:

- `X-Shopify-Access-Token` checked: a missing or wrong token is a 401 with Shopify's body.
- Validation errors (unknown field, bad argument) are a 200 with `errors`, worded like
  Shopify's graphql-ruby (`Field 'x' doesn't exist on type 'Shop'`), never a 500.
- Relay connections (edges/node and nodes), opaque base64 cursors, `first`/`last` up to 250,
  `sortKey` with Shopify's defaults (`fake_sorting`), and a search syntax that never fails
  and drops unknown fields with an `extensions.search` warning (`fake_search`).
- `X-Shopify-API-Version` on every GraphQL answer, `X-Shopify-API-Deprecated-Reason` naming
  the deprecated fields a query used.
- Calculated query cost and a leaky bucket per shop (`fake_cost`): every executed response
  carries `extensions.cost`; a query costing more than is available is answered `Throttled`
  (HTTP 200, code THROTTLED, `actualQueryCost: null`, nothing consumed); one above 1000 points
  is refused with MAX_COST_EXCEEDED (no cost extension, as Shopify answers it).
- Signed webhooks (`fake_webhooks`) to URLs subscribed with `webhookSubscriptionCreate` (for
  that topic) and to every URL given to `POST /_fake/webhooks` (all topics): stock changes send
  `inventory_levels/update`, orders `orders/create`, product edits `products/update` (and
  `inventory_items/update` when `tracked` changes). Callback URLs may be `http://` here
  (Shopify itself requires HTTPS) so local receivers work.

Control endpoints beyond the shared ones of `FakePlatform`:

| method and path       | body / answer                                                       |
| --------------------- | ------------------------------------------------------------------- |
| `GET /_fake/state`    | counts, locations, throttle status, orders, subscriptions           |
| `GET /_fake/stock`    | `?sku=`: `{sku, levels: [{location_id, available, committed,        |
|                       | on_hand}]}`                                                         |
| `POST /_fake/stock`   | `{sku, location_id?, available? or delta?}`: set stock directly (the |
|                       | first active location by default); fires `inventory_levels/update`  |
| `POST /_fake/variant` | `{sku, inventory_policy?, tracked?, price?}`: a product edit; fires |
|                       | `products/update` (and `inventory_items/update` for `tracked`)       |
| `POST /_fake/budget`  | `{bucket_size?, restore_rate?, available?}`: the throttle's figures |
| `POST /_fake/fulfill` | `{order_id, tracking_number?, company?, url?, lines?}`: the merchant|
|                       | ships `lines` ([{sku, quantity}]) or all that is left (committed    |
|                       | stock leaves); fires `fulfillments/create` and `orders/updated`     |
| `POST /_fake/cancel`  | `{order_id, reason?, restock?}`: the merchant cancels an unshipped  |
|                       | order (as `orderCancel`); fires `orders/cancelled`, `orders/updated`|
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    execute_sync,
    get_operation_ast,
    parse,
)
from graphql.execution.values import get_variable_values
from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import FakePlatform, FakeTruth, Fault, json_response
from shelfsync.plugins.shopify import fake_aftersale
from shelfsync.plugins.shopify import fake_webhooks as hooks
from shelfsync.plugins.shopify.fake_bulk import (
    BULK_OBJECTS_PER_SECOND,
    BULK_STARTUP_SECONDS,
    STORAGE_PREFIX,
    BulkOperations,
)
from shelfsync.plugins.shopify.fake_bulk import install as install_bulk
from shelfsync.plugins.shopify.fake_control import handle_control
from shelfsync.plugins.shopify.fake_cost import (
    DOCS_URL,
    MAX_QUERY_COST,
    CostErrors,
    LeakyBucket,
    QueryCost,
    max_cost_error,
)
from shelfsync.plugins.shopify.fake_errors import (
    deprecated_fields,
    parse_error,
    validation_errors,
    variable_errors,
)
from shelfsync.plugins.shopify.fake_mutations import MUTATIONS
from shelfsync.plugins.shopify.fake_resolvers import Context, build_fake_schema
from shelfsync.plugins.shopify.fake_store import ShopStore, gid

#: The tag the plugin puts on an order it creates for a channel order (counted by `truth()`).
ORDER_TAG = "tiktok-order:"
API_PATH = re.compile(r"^/admin/api/(\d{4}-(?:0[1-9]|1[0-2])|unstable)/graphql\.json$")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
# Standard plan: 100 points/s restore (https://shopify.dev/docs/apps/build/apis/graphql-admin/
# rate-limits). The bucket size is not in that table; responses recorded from Standard shops
# report `maximumAvailable: 2000.0` with `restoreRate: 100.0` (and Plus 20000 / 1000), i.e. a
# bucket of 20 seconds of restore. The older 1000 / 50 figures are superseded.
STANDARD_BUCKET_SIZE = 2000.0
DEFAULT_API_VERSION = "2025-04"
_DOCUMENT_CACHE_SIZE = 256


def _derived_secret(seed: int, purpose: str, prefix: str) -> str:
    digest = hashlib.sha256(f"shelfsync-shopify-fake:{seed}:{purpose}".encode()).hexdigest()
    return prefix + digest[:32]


class ShopifyFake(FakePlatform):
    """One Shopify shop behind the Admin GraphQL API (see the module docstring)."""

    platform = "shopify"

    def __init__(
        self,
        *,
        products: int = 20,
        variants: int = 3,
        locations: int = 3,
        seed: int = 0,
        restore_rate: float = 100.0,
        bucket_size: float = STANDARD_BUCKET_SIZE,
        shop: str = "shelfsync-demo.myshopify.com",
        access_token: str | None = None,
        client_secret: str | None = None,
        currency: str = "USD",
        api_version: str = DEFAULT_API_VERSION,
        clock: Callable[[], float] = time.monotonic,
        bulk_rate: float = BULK_OBJECTS_PER_SECOND,
        bulk_startup: float = BULK_STARTUP_SECONDS,
    ) -> None:
        super().__init__()
        self.schema = build_fake_schema(MUTATIONS)
        fake_aftersale.bind(self.schema)
        currencies = self.schema.get_type("CurrencyCode").values  # type: ignore[union-attr]
        if currency not in currencies:
            raise ValueError(f"currency {currency!r} is not one of {sorted(currencies)}")
        self.shop = shop
        self.api_version = api_version
        self.access_token = access_token or _derived_secret(seed, "access-token", "shpat_")
        self.client_secret = client_secret or _derived_secret(seed, "client-secret", "shpss_")
        self.store = ShopStore(
            products=products,
            variants=variants,
            locations=locations,
            seed=seed,
            shop=shop,
            currency=currency,
        )
        self.bucket = LeakyBucket(bucket_size, restore_rate)
        self.state_lock = threading.RLock()
        #: Bulk query operations (fake_bulk), on `clock`; their files at STORAGE_PREFIX.
        self.bulk = BulkOperations(self, clock, bulk_rate, bulk_startup)
        install_bulk(self.schema, self.bulk)
        self.public_url = "http://127.0.0.1"
        self._documents: OrderedDict[str, tuple[DocumentNode | None, list[dict[str, Any]]]] = (
            OrderedDict()
        )
        #: Faults for orderCreate only, applied after the order was made: "500" (the order
        #: exists, the answer is a 500) or "lost" (the answer never arrives in time).
        self.order_faults: list[list[Any]] = []
        #: orderCreate calls and order searches answered, for the order benchmark.
        self.order_calls: dict[str, int] = {"create": 0, "search": 0}

    # --- FakePlatform ---------------------------------------------------------------------

    def connections(self) -> list[dict[str, Any]]:
        """The one shop, with the credentials the plugin connects with."""
        return [
            {
                "name": f"Shopify fake ({self.shop})",
                "platform": "shopify",
                "shop": self.shop,
                "api_version": self.api_version,
                "credentials": {
                    "access_token": self.access_token,
                    "client_secret": self.client_secret,
                },
            }
        ]

    def truth(self) -> FakeTruth:
        """What the shop holds, as the plugin must read it (gids, active locations only,
        stock of tracked SKUs; a variant that is not tracked sells on)."""
        store = self.store
        with self.state_lock:
            active = {gid("Location", loc.num): loc.active for loc in store.locations}
            stock = {
                (v.sku, gid("Location", num)): level.quantities["available"]
                for v in store.variants if v.sku and v.item.tracked
                for num, level in v.item.levels.items() if level.location.active
            }
            orders: dict[str, int] = {}
            for order in store.orders:
                for tag in order.tags:
                    if tag.startswith(ORDER_TAG):
                        key = tag.removeprefix(ORDER_TAG)
                        orders[key] = orders.get(key, 0) + 1
            refunds = {gid("Order", o.num): len(o.refunds) for o in store.orders}
            return FakeTruth(
                refunds=refunds,
                locations=active,
                stock=stock,
                backorder={v.sku: (v.policy == "CONTINUE" or not v.item.tracked, v.item.tracked)
                           for v in store.variants if v.sku},
                catalog={v.sku: gid("ProductVariant", v.num) for v in store.variants if v.sku},
                orders=orders,
            )

    def is_write(self, request: Request) -> bool:
        """GraphQL mutations are the writes (every request is a POST)."""
        return b"mutation" in request.get_data(cache=True)

    def handle_api(self, request: Request) -> Response:
        """Route, authenticate and answer one Admin API request."""
        self.public_url = request.host_url.rstrip("/")
        if request.path.startswith(STORAGE_PREFIX) and request.method == "GET":
            return self.bulk.serve(request)  # signed links: no access token
        route = API_PATH.match(request.path)
        if not route:
            return json_response({"errors": "Not Found"}, 404)
        token = request.headers.get("X-Shopify-Access-Token", "")
        if not hmac.compare_digest(token.encode(), self.access_token.encode()):
            return json_response({"errors": INVALID_TOKEN}, 401)
        if request.method != "POST":
            return json_response({"errors": "Method Not Allowed"}, 405)
        if request.mimetype == "application/graphql":
            body: Any = {"query": request.get_data(as_text=True)}
        else:
            try:
                body = json.loads(request.get_data() or b"null")
            except ValueError:
                return json_response({"errors": "Bad Request: invalid JSON body"}, 400)
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            return json_response(
                {"errors": {"query": "Required parameter missing or invalid"}}, 400
            )
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return json_response({"errors": {"variables": "must be an object"}}, 400)
        answer = self.graphql(query, variables, body.get("operationName"))
        lost = self._order_fault(query, answer)
        if lost is not None:
            return lost
        # Shopify names the version that served the request, and (as of 2025-04) the
        # deprecated fields the query used (https://shopify.dev/changelog/posts/
        # graphql-return-actual-deprecation-reasons). This fake serves its 2025-04 subset
        # under any version, so it echoes the version asked for.
        headers = {"X-Shopify-API-Version": route.group(1)}
        document = self._document(query)[0]
        if document is not None and (used := deprecated_fields(self.schema, document)):
            headers["X-Shopify-API-Deprecated-Reason"] = ", ".join(used)
        return json_response(answer, headers=headers)

    def _order_fault(self, query: str, answer: dict[str, Any]) -> Response | None:
        """Count order calls; fail an orderCreate that made its order when a fault waits."""
        created = "orderCreate(" in query
        with self.state_lock:
            if created:
                self.order_calls["create"] += 1
            elif "orders(" in query:
                self.order_calls["search"] += 1
            made = ((answer.get("data") or {}).get("orderCreate") or {}).get("order")
            if not (created and made and self.order_faults):
                return None
            fault = self.order_faults[0]
            fault[1] -= 1
            if fault[1] <= 0:
                self.order_faults.pop(0)
        if fault[0] == "lost":
            time.sleep(float(fault[2]))
            return Response(b'{"data": {"orderCreate": {"or', status=200,
                            mimetype="application/json")
        return json_response({"errors": "Internal Server Error"}, 500)

    def webhook_sample(self, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """A signed `inventory_levels/update` for a seeded level (`sku`, `available` optional)."""
        with self.state_lock:
            variant = self.store.by_sku.get(str(options.get("sku", ""))) or self.store.variants[0]
            level = next(lv for lv in variant.item.levels.values() if lv.location.active)
            payload = hooks.level_payload(level)
        if "available" in options:
            payload["available"] = int(options["available"])
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = hooks.headers(
            topic="inventory_levels/update",
            body=body,
            shop=self.shop,
            api_version=self.api_version,
            secret=str(options.get("secret") or self.client_secret),
            event_id=str(uuid.uuid4()),
        )
        return headers, body

    def handle_control(self, request: Request, name: str) -> Response | None:
        """The Shopify-specific control endpoints (see the module docstring)."""
        return handle_control(self, request, name)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """Injected failures as Shopify's edge and API produce them."""
        if fault.kind == "429":
            body = {
                "errors": "Exceeded 2 calls per second for api client. "
                "Reduce request rates to resume uninterrupted service."
            }
            return json_response(body, 429, {"Retry-After": "1.0"})
        if fault.kind == "500":
            return json_response({"errors": "Internal Server Error"}, 500)
        if fault.kind in ("502", "503"):
            # Shopify's edge answers these with an HTML page, not JSON.
            title = "Bad Gateway" if fault.kind == "502" else "Service Unavailable"
            html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
            headers = {"Retry-After": "1"} if fault.kind == "503" else None
            return Response(html, status=int(fault.kind), mimetype="text/html", headers=headers)
        return super().fault_response(fault, request)

    # --- GraphQL --------------------------------------------------------------------------

    def graphql(
        self, query: str, variables: dict[str, Any], operation_name: str | None = None
    ) -> dict[str, Any]:
        """Run one GraphQL request through cost, throttle and execution; the response body."""
        document, errors = self._document(query)
        if document is None:
            return {"errors": errors}
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f'No operation named "{operation_name}"'
                if operation_name
                else "An operation name is required"
            )
            return {"errors": [{"message": message}]}
        definitions = operation.variable_definitions or ()
        errors = variable_errors(self.schema, definitions, variables)
        coerced = get_variable_values(self.schema, definitions, variables)
        if errors or isinstance(coerced, list):
            # Nothing ran: Shopify answers variable problems without data or cost.
            return {"errors": errors or [dict(e.formatted) for e in coerced]}
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        cost = QueryCost(self.schema, operation, fragments, coerced)
        try:
            requested = cost.requested()
        except CostErrors as exc:
            return {"errors": exc.errors, "extensions": self._cost(0, 0)}
        if requested > MAX_QUERY_COST:
            return {"errors": [max_cost_error(requested)]}
        if not self.bucket.try_take(requested):
            self.note_throttled()
            error = {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": DOCS_URL},
            }
            return {"errors": [error], "extensions": self._cost(requested, None)}
        context = Context(self.store)
        with self.state_lock:
            result = execute_sync(
                self.schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
            )
        actual = min(requested, cost.actual(result.data))
        self.bucket.refund(requested - actual)
        response: dict[str, Any] = {}
        if result.errors:
            response["errors"] = [e.formatted for e in result.errors]
        response["data"] = result.data
        response["extensions"] = self._cost(requested, actual)
        if context.search:
            response["extensions"]["search"] = context.search
        for topic, payload in context.events:
            self.deliver(topic, payload)
        return response

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.bucket.status(),
            }
        }

    def _document(self, query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
        """Parsed and validated document, cached: clients send the same few queries."""
        with self._lock:
            cached = self._documents.get(query)
            if cached is not None:
                self._documents.move_to_end(query)
                return cached
        try:
            document: DocumentNode | None = parse(query)
        except GraphQLError as exc:
            entry: tuple[DocumentNode | None, list[dict[str, Any]]] = (None, [parse_error(exc)])
        else:
            assert document is not None
            problems = validation_errors(self.schema, document)
            entry = (None, problems) if problems else (document, [])
        with self._lock:
            self._documents[query] = entry
            if len(self._documents) > _DOCUMENT_CACHE_SIZE:
                self._documents.popitem(last=False)
        return entry

    # --- webhooks -------------------------------------------------------------------------

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        """Sign and queue one event to its topic's subscribers and to every fake-wide URL."""
        with self.state_lock:
            urls = [
                s.callback_url
                for s in self.store.subscriptions
                if hooks.topic_name(s.topic) == topic
            ]
        urls += [u for u in self.webhook_urls if u not in urls]
        if not urls:
            return
        body = json.dumps(payload, separators=(",", ":")).encode()
        event_id = str(uuid.uuid4())
        for url in urls:
            headers = hooks.headers(
                topic=topic,
                body=body,
                shop=self.shop,
                api_version=self.api_version,
                secret=self.client_secret,
                event_id=event_id,
            )
            self.webhooks.send(url, headers, body)
