"""Onboarding, four steps with a progress bar: connect the store, connect one or more
TikTok shops, sync settings, done. Each connection is checked with a live call before it is
saved (`services.connections`); an organization connects one store only. A shop selling in
another currency than the store's is refused until the exchange rate is given (the message
next to the rate's input says which currencies and which way round)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request
from flask import url_for as url

from shelfsync.core import tasks
from shelfsync.core.errors import InvalidInput, ShelfsyncError
from shelfsync.core.models import Organization
from shelfsync.core.services import channel_settings as rules
from shelfsync.core.services import connections
from shelfsync.core.services import sync_settings as sync
from shelfsync.core.types import PlatformInfo, Role
from shelfsync.web import access
from shelfsync.web.app import plugin_manager_of
from shelfsync.web.connect_form import describe, plugin_settings, read_connect_form

log = logging.getLogger(__name__)
bp = Blueprint("onboarding", __name__, url_prefix="/onboarding")
bp.before_request(access.require_login)

STEPS = ("Connect your store", "Connect TikTok shops", "Sync settings", "Done")


def platforms(role: Role) -> list[PlatformInfo]:
    """The installed platforms of `role`, by name."""
    found = plugin_manager_of(current_app).platforms().values()
    return sorted((info for info in found if info.role is role), key=lambda info: info.name)


def chosen(role: Role) -> PlatformInfo | None:
    """The platform picked in the query or form (the first installed one by default)."""
    options = platforms(role)
    name = request.values.get("platform") or (options[0].name if options else "")
    for info in options:
        if info.name == name:
            return info
    return None


def organization() -> Organization:
    found = access.db().get(Organization, access.organization_id())
    if found is None:
        abort(404)
    return found


def form_view(template: str, role: Role, step: int, **extra: Any) -> Any:
    """Render a connect step; a POST connects through `connect` (given in `extra`)."""
    info = chosen(role)
    errors: dict[str, str] = {}
    kept: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if info is None:
            errors["platform"] = "choose an installed platform"
            status = 400
        else:
            given = read_connect_form(info, request.form)
            kept = given.kept
            session = access.db()
            try:
                extra["connect"](session, info, given)
                session.commit()
                _refresh_catalog()
                return redirect(extra["next"])
            except InvalidInput as exc:
                session.rollback()
                errors[exc.field] = exc.detail
                status = 400
            except ShelfsyncError as exc:
                session.rollback()
                errors["form"] = exc.message
                status = 400
    extra.pop("connect", None)
    return render_template(
        template, steps=STEPS, step=step, platforms=platforms(role), info=info,
        credential_fields=[describe(s) for s in info.credential_fields] if info else [],
        setting_fields=[describe(s) for s in plugin_settings(info)] if info else [],
        errors=errors, kept=kept, **extra), status


def _refresh_catalog() -> None:
    """Ask the workers to read the catalog, listings and links of the new connection (the
    products page and the preview fill in as they do); a broker outage only delays it to
    the scheduler's next refresh."""
    try:
        tasks.refresh_catalog.send(access.organization_id())
    except Exception as exc:  # the connection is saved: nothing to undo
        log.warning("could not ask for organization %s's catalog refresh: %s",
                    access.organization_id(), exc)


@bp.get("/")
def index() -> Any:
    """Continue where the organization is."""
    if access.own_store() is None:
        return redirect(url("onboarding.store"))
    if not connections.channels_of(access.db(), organization()):
        return redirect(url("onboarding.shops"))
    return redirect(url("onboarding.sync_settings"))


@bp.route("/store", methods=["GET", "POST"])
def store() -> Any:
    """Step 1: the store, from the installed store plugins' declared fields."""
    pm = plugin_manager_of(current_app)

    def connect(session: Any, info: PlatformInfo, given: Any) -> None:
        connections.connect_store(session, pm, organization(), info.name, given.credentials,
                                  given.api_base_url, given.settings)

    return form_view("onboarding/store.html", Role.STORE, 0, connect=connect,
                     next=url("onboarding.shops"), store=access.own_store())


@bp.route("/shops", methods=["GET", "POST"])
def shops() -> Any:
    """Step 2: one or more TikTok shops ("connect more TikTok Shop stores")."""
    pm = plugin_manager_of(current_app)

    def connect(session: Any, info: PlatformInfo, given: Any) -> None:
        channel = connections.connect_channel(session, pm, organization(), info.name,
                                              given.credentials, given.api_base_url,
                                              given.shop_id, given.settings,
                                              currency_rate=given.currency_rate)
        flash(f"Connected {channel.shop_name or channel.shop_id or info.title}.")

    store = access.own_store()
    if store is None:
        flash("Connect your store first.")
        return redirect(url("onboarding.store"))
    return form_view("onboarding/shops.html", Role.CHANNEL, 1, connect=connect,
                     next=url("onboarding.shops"),
                     channels=connections.channels_of(access.db(), organization()),
                     currency=sync.store_currency(access.db(), store.id))


@bp.route("/settings", methods=["GET", "POST"])
def sync_settings() -> Any:
    """Step 3, per shop: auto-link by SKU, order sync, the currency rate and carriers."""
    session = access.db()
    channels = connections.channels_of(session, organization())
    if not channels:
        return redirect(url("onboarding.shops"))
    errors: dict[str, str] = {}
    values = {}
    for channel in channels:
        stored = rules.channel_settings(session, channel.id or 0)
        values[channel.id] = {
            "auto_link": stored.auto_link, "order_sync": stored.order_sync,
            "currency_rate": f"{Decimal(str(stored.currency_rate)).normalize():f}",
            "carrier_mapping": sync.format_carrier_mapping(stored.carrier_mapping)}
    session.commit()
    if request.method == "POST":
        parsed: dict[int, dict[str, Any]] = {}
        for channel in channels:
            key = channel.id or 0
            form = {"auto_link": bool(request.form.get(f"auto_link.{key}")),
                    "order_sync": bool(request.form.get(f"order_sync.{key}")),
                    "currency_rate": request.form.get(f"currency_rate.{key}", "1"),
                    "carrier_mapping": request.form.get(f"carrier_mapping.{key}", "")}
            values[key] = form
            parsed[key] = {"auto_link": form["auto_link"], "order_sync": form["order_sync"]}
            for name, parse in (("currency_rate", sync.parse_rate),
                                ("carrier_mapping", sync.parse_carrier_mapping)):
                try:
                    parsed[key][name] = parse(f"{name}.{key}", str(form[name]))
                except InvalidInput as exc:
                    errors[exc.field] = exc.detail
        if not errors:
            for channel in channels:
                sync.update_sync_settings(session, channel, parsed[channel.id or 0])
            session.commit()
            return redirect(url("onboarding.done"))
    store = access.own_store()
    return render_template("onboarding/settings.html", steps=STEPS, step=2, channels=channels,
                           values=values, errors=errors,
                           currency=sync.store_currency(session, store.id if store else None),
                           ), 400 if errors else 200


@bp.get("/done")
def done() -> Any:
    """Step 4: done; on to the connected stores."""
    return render_template("onboarding/done.html", steps=STEPS, step=3)
