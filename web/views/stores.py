"""Connected store and sales channels: each with its state (ok, needs re-auth and how to
reconnect, errors, last sync, link problems), disconnect with confirmation."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request
from flask import url_for as url

from shelfsync.core.errors import InvalidInput, ShelfsyncError
from shelfsync.core.models import ChannelConnection, StoreConnection
from shelfsync.core.services import activity, connections
from shelfsync.core.sync.status import channel_status
from shelfsync.web import access
from shelfsync.web.app import plugin_manager_of
from shelfsync.web.connect_form import describe

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


def _reconnect(row: StoreConnection | ChannelConnection, title: str) -> Any:
    """The reconnect form: only the credentials that changed, checked live before saving;
    the same connection (id, links, history) is kept."""
    pm = plugin_manager_of(current_app)
    try:
        info = connections.platform_info(pm, row.platform)
    except InvalidInput:
        abort(404)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        given = {spec.name: request.form.get(f"credentials.{spec.name}", "")
                 for spec in info.credential_fields}
        given = {name: value for name, value in given.items() if value}
        session = access.db()
        try:
            if not given:
                raise InvalidInput("credentials", "give the credentials that changed")
            connections.reconnect(session, pm, row, given)
            session.commit()
            flash(f"Reconnected {title}.")
            return redirect(url("stores.index"))
        except InvalidInput as exc:
            session.rollback()
            errors[exc.field] = exc.detail
            status = 400
        except ShelfsyncError as exc:
            session.rollback()
            errors["form"] = exc.message
            status = 400
    fields = [describe(spec) for spec in info.credential_fields]
    return render_template("reconnect.html", row=row, title=title, fields=fields,
                           errors=errors), status


@bp.route("/channels/<int:channel_id>/reconnect", methods=["GET", "POST"])
def reconnect_channel(channel_id: int) -> Any:
    """Re-authorize a shop (after TikTok refused its token, or a deauthorization)."""
    channel = access.own_channel(channel_id)
    return _reconnect(channel, channel.shop_name or channel.shop_id or f"channel {channel_id}")


@bp.route("/store/reconnect", methods=["GET", "POST"])
def reconnect_store() -> Any:
    """Re-authorize the store."""
    store = access.own_store()
    if store is None:
        abort(404)
    return _reconnect(store, store.store_name or store.store_id or "the store")
