"""Channel settings, a tab per shop: product, order, fulfilment, inventory, cancellation and
refund & return sync. The inventory section has a live preview (`preview` below, JSON) that
shows, before saving, what the shop would show under the values being edited.

Saving validates every field (the message next to it, the input kept), saves, then asks the
workers to reconcile the channel and says how many SKUs will change.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request
from flask import url_for as url
from sqlmodel import select

from shelfsync.core import tasks
from shelfsync.core.errors import InvalidInput, ShelfsyncError
from shelfsync.core.models import Location, Organization
from shelfsync.core.services import channel_settings as rules
from shelfsync.core.services import connections
from shelfsync.core.services.preview import preview as compute_preview
from shelfsync.core.types import ContinueSelling
from shelfsync.web import access
from shelfsync.web.app import plugin_manager_of
from shelfsync.web.settings_form import kept_values, read_settings, values_of

log = logging.getLogger(__name__)
bp = Blueprint("channel_settings", __name__, url_prefix="/channels")
bp.before_request(access.require_login)


def _page(channel_id: int, values: dict[str, Any] | None, errors: dict[str, str],
          status: int = 200) -> Any:
    session = access.db()
    channel = access.own_channel(channel_id)
    organization = session.get(Organization, channel.organization_id)
    assert organization is not None
    channels = connections.channels_of(session, organization)
    store = access.own_store()
    settings = rules.channel_settings(session, channel_id)
    session.commit()
    caps = None
    if store is not None:
        try:
            caps = plugin_manager_of(current_app).platform(store.platform).capabilities
        except KeyError:
            caps = None
    locations = []
    if store is not None and caps is not None and caps.has_locations:
        locations = list(session.exec(select(Location).where(
            Location.store_connection_id == store.id).order_by(Location.location_id)))
    return render_template(
        "channel_settings.html", channel=channel, channels=channels, store=store,
        values=values or values_of(settings), errors=errors, locations=locations,
        has_locations=bool(caps and caps.has_locations),
        no_continue_selling=bool(caps and caps.continue_selling is ContinueSelling.UNSUPPORTED),
    ), status


@bp.get("/<int:channel_id>/settings")
def edit(channel_id: int) -> Any:
    """The channel's settings form."""
    return _page(channel_id, None, {})


@bp.post("/<int:channel_id>/settings")
def save(channel_id: int) -> Any:
    """Validate all, save all or nothing, then recompute the channel in the background."""
    session = access.db()
    channel = access.own_channel(channel_id)
    changes, errors = read_settings(request.form)
    count: int | None = None
    if not errors:
        try:
            count = compute_preview(session, plugin_manager_of(current_app), channel,
                                    changes, limit=0, count_all=True).will_change
        except InvalidInput as exc:
            errors[exc.field] = exc.detail
        except ShelfsyncError:  # no store connected: nothing to count, settings still saved
            count = None
    if not errors:
        try:
            rules.update_channel_settings(session, channel, changes)
            session.commit()
        except InvalidInput as exc:
            session.rollback()
            errors[exc.field] = exc.detail
        except ShelfsyncError as exc:
            session.rollback()
            errors["form"] = exc.message
    if errors:
        return _page(channel_id, kept_values(request.form), errors, 400)
    message = "Settings saved."
    if changes.get("inventory_sync") and count is not None:
        message += (f" {count} SKU{'s' if count != 1 else ''} will change; the channel is "
                    "being recomputed in the background.")
        try:
            tasks.reconcile_channel.send(channel_id)
        except Exception as exc:  # a broker outage: saved anyway, the schedule reconciles
            log.warning("could not ask for channel %s's reconcile: %s", channel_id, exc)
            message += " (The worker queue is unreachable: the next scheduled reconcile "
            message += "applies them.)"
    flash(message)
    return redirect(url("channel_settings.edit", channel_id=channel_id))


@bp.get("/<int:channel_id>/preview")
def preview(channel_id: int) -> Any:
    """JSON: the sample (or searched) SKUs under the values in the query string."""
    session = access.db()
    channel = access.own_channel(channel_id)
    changes, errors = read_settings(request.args, only_inventory=True)
    # Refused values are an answer, not a failed request: 200, so the page's script shows
    # them next to the preview without the browser logging a failed load.
    if errors:
        return jsonify({"errors": errors})
    try:
        result = compute_preview(session, plugin_manager_of(current_app), channel, changes,
                                 search=request.args.get("q"))
    except InvalidInput as exc:
        return jsonify({"errors": {exc.field: exc.detail}})
    except ShelfsyncError as exc:
        return jsonify({"errors": {"form": exc.message}})
    finally:
        session.rollback()  # the preview writes nothing (a defaults row would wait for a save)
    return jsonify({"rows": [{
        "sku": row.sku, "title": row.title, "stock": row.stock, "shown": row.shown,
        "quantity": row.quantity, "reason": row.reason, "explanation": row.explanation,
        "changes": row.changes,
    } for row in result.rows]})
