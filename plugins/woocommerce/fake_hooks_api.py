"""The fake's `/webhooks` routes, as WooCommerce's webhooks controller answers them.

`POST /webhooks` needs `topic` and `delivery_url`; a topic is `resource.event` (coupon,
customer, order or product; created, updated, deleted or restored) or `action.<name>`. The
status defaults to `active`, the secret to a hash of the user. The answer is a 201 with a
`Location` header, and then the webhook is pinged (`fake_webhooks.ping`). A list is
`GET /webhooks` (paged like every collection, `status` filter); `PUT /webhooks/{id}` edits;
`DELETE /webhooks/{id}?force=true` deletes (without `force` WooCommerce refuses: webhooks
have no trash).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.woocommerce import fake_fields as fields
from shelfsync.plugins.woocommerce import fake_json as render
from shelfsync.plugins.woocommerce import fake_webhooks as signing
from shelfsync.plugins.woocommerce.fake_query import ordered, page_of
from shelfsync.plugins.woocommerce.fake_store import Webhook

if TYPE_CHECKING:
    from shelfsync.plugins.woocommerce.fake import WooCommerceFake

_TOPIC = re.compile(r"(coupon|customer|order|product)\.(created|updated|deleted|restored)"
                    r"|action\.[A-Za-z0-9_\-]+")
_STATUSES = ("active", "paused", "disabled")
_ORDER_KEYS: dict[str, Any] = {"date": lambda w: w.created, "id": lambda w: w.id,
                               "title": lambda w: w.name, "include": lambda w: w.id}
_INVALID = ("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")


def webhook_route(fake: WooCommerceFake, request: Request, route: str) -> Response | None:
    """Answer `/webhooks[/{id}]`; None for another method or path."""
    match = re.fullmatch(r"webhooks(?:/(\d+))?", route)
    if match is None:
        return None
    webhook_id = int(match.group(1)) if match.group(1) else None
    edit = request.args.get("context") == "edit"
    if webhook_id is None and request.method == "GET":
        status = request.args.get("status") or "all"
        items = [w for w in fake.store.webhooks.values() if status in ("all", w.status)]
        items = ordered(items, request.args, _ORDER_KEYS)
        return page_of(items, request.args, fake.api_url(request, "webhooks"),
                       lambda w: render.webhook(w, edit=edit))
    if webhook_id is None and request.method == "POST":
        return _create(fake, request)
    if webhook_id is None:
        return None
    hook = fake.store.webhooks.get(webhook_id)
    if hook is None:
        return render.error(*_INVALID, 404)
    if request.method == "GET":
        return json_response(render.webhook(hook, edit=edit))
    if request.method in ("PUT", "POST", "PATCH"):
        return _update(fake, request, hook)
    if request.method == "DELETE":
        if request.args.get("force") not in ("true", "1"):
            return render.error("woocommerce_rest_trash_not_supported",
                                "Webhooks do not support trashing.", 501)
        del fake.store.webhooks[webhook_id]
        return json_response(render.webhook(hook, edit=True))
    return None


def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _check(body: dict[str, Any]) -> Response | None:
    if "topic" in body and not (isinstance(body["topic"], str)
                                and _TOPIC.fullmatch(body["topic"])):
        return render.error("woocommerce_rest_shop_webhook_invalid_topic",
                            "Webhook topic is required and must be valid.", 400)
    url = body.get("delivery_url")
    if "delivery_url" in body and not (isinstance(url, str)
                                       and url.startswith(("http://", "https://"))):
        return render.error("woocommerce_rest_shop_webhook_invalid_delivery_url",
                            "Webhook delivery URL must be a valid URL starting with http:// "
                            "or https://.", 400)
    if "status" in body and body["status"] not in _STATUSES:
        return render.error("rest_invalid_param", "Invalid parameter(s): status", 400,
                            params={"status": "status is not one of active, paused, and "
                                              "disabled."})
    return None


def _create(fake: WooCommerceFake, request: Request) -> Response:
    body = _body(request)
    if body is None:
        return render.error("rest_invalid_json", "Invalid JSON body passed.", 400)
    missing = [name for name in ("topic", "delivery_url") if not body.get(name)]
    if missing:
        return render.error("rest_missing_callback_param",
                            f"Missing parameter(s): {', '.join(missing)}", 400, params=missing)
    problem = _check(body)
    if problem is not None:
        return problem
    fake.record_dropped(request, fields.dropped(body, fields.WEBHOOK))
    store = fake.store
    now = store.now()
    hook = Webhook(
        id=store.next_webhook_id(), name=str(body.get("name") or f"Webhook created on {now}"),
        status=str(body.get("status") or "active"), topic=str(body["topic"]),
        delivery_url=str(body["delivery_url"]),
        secret=str(body.get("secret") or hashlib.md5(b"1|admin").hexdigest()),
        created=now, modified=now,
    )
    store.webhooks[hook.id] = hook
    if hook.status == "active":
        headers, ping = signing.ping(hook.id)
        fake.webhooks.send(hook.delivery_url, headers, ping)
    return json_response(render.webhook(hook, edit=True), 201,
                         {"Location": fake.api_url(request, f"webhooks/{hook.id}")})


def _update(fake: WooCommerceFake, request: Request, hook: Webhook) -> Response:
    body = _body(request)
    if body is None:
        return render.error("rest_invalid_json", "Invalid JSON body passed.", 400)
    problem = _check(body)
    if problem is not None:
        return problem
    fake.record_dropped(request, fields.dropped(body, fields.WEBHOOK))
    for name in ("name", "status", "topic", "delivery_url", "secret"):
        if name in body and body[name] is not None:
            setattr(hook, name, str(body[name]))
    hook.modified = fake.store.now()
    return json_response(render.webhook(hook, edit=True))
