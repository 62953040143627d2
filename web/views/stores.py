"""Connected store and sales channels: each with its state (ok, needs re-auth and how to
reconnect, errors, last sync, link problems), disconnect with confirmation."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url

from shelfsync.core.services import activity
from shelfsync.core.sync.status import channel_status
from shelfsync.web import access

bp = Blueprint("stores", __name__, url_prefix="/stores")
bp.before_request(access.require_login)


@bp.get("/")
def index() -> Any:
    """The store and every shop of the organization."""
    session = access.db()
    rows = channel_status(session, access.organization_id())
    return render_template("stores.html", store=access.own_store(), channels=rows)


@bp.post("/channels/<int:channel_id>/disconnect")
def disconnect_channel(channel_id: int) -> Any:
    """Disconnect a shop (asks for confirmation: the form's `confirm=yes`)."""
    channel = access.own_channel(channel_id)
    if request.form.get("confirm") != "yes":
        flash("Tick the confirmation to disconnect the shop.")
        return redirect(url("stores.index"))
    name = channel.shop_name or channel.shop_id or f"channel {channel_id}"
    session = access.db()
    activity.disconnect_channel(session, channel)
    session.commit()
    flash(f"Disconnected {name}; its settings, links and orders are deleted, its activity "
          "history is kept.")
    return redirect(url("stores.index"))


@bp.post("/store/disconnect")
def disconnect_store() -> Any:
    """Disconnect the store (with confirmation); a new one can be connected after."""
    store = access.own_store()
    if store is None:
        abort(404)
    if request.form.get("confirm") != "yes":
        flash("Tick the confirmation to disconnect the store.")
        return redirect(url("stores.index"))
    session = access.db()
    activity.disconnect_store(session, store)
    session.commit()
    flash("Store disconnected; connect one again in onboarding.")
    return redirect(url("onboarding.store"))
