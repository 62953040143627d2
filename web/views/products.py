"""Products: the store's variants with their link per channel (auto, manual, unlinked,
conflict), search and pages, manual link and unlink."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request
from flask import url_for as url

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import Organization
from shelfsync.core.services import connections, links
from shelfsync.web import access

bp = Blueprint("products", __name__, url_prefix="/products")
bp.before_request(access.require_login)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


@bp.get("/")
def index() -> Any:
    """A page of variants with links."""
    session = access.db()
    organization = session.get(Organization, access.organization_id())
    assert organization is not None
    channels = connections.channels_of(session, organization)
    store = access.own_store()
    search = request.args.get("q", "")
    page = _page_number()
    rows, total = ([], 0) if store is None or store.id is None else links.variants_page(
        session, store.id, channels, search, page)
    pages = max(1, -(-total // links.PAGE_SIZE))
    unlinked = {c.id: links.unlinked_listings(session, c.id or 0) for c in channels}
    return render_template("products.html", rows=rows, total=total, page=page, pages=pages,
                           search=search, channels=channels, unlinked=unlinked, store=store)


@bp.post("/link")
def link() -> Any:
    """Link a channel SKU to a store SKU by hand."""
    session = access.db()
    store = access.own_store()
    channel = access.own_channel(int(request.form.get("channel_id", "0") or 0)
                                 if (request.form.get("channel_id") or "").isdigit() else 0)
    try:
        if store is None or store.id is None:
            raise InvalidInput("store_sku", "connect a store first")
        made = links.link_manually(session, channel, store.id,
                                   request.form.get("store_sku", ""),
                                   request.form.get("sku_id", ""))
        session.commit()
        flash(f"Linked {made.store_sku} to the shop's SKU {made.sku_id}.")
    except InvalidInput as exc:
        session.rollback()
        flash(f"Not linked: {exc.detail}")
    return redirect(request.referrer if _same_site(request.referrer) else url("products.index"))


@bp.post("/unlink/<int:channel_id>/<int:link_id>")
def unlink(channel_id: int, link_id: int) -> Any:
    """Remove a link."""
    session = access.db()
    channel = access.own_channel(channel_id)
    try:
        gone = links.unlink(session, channel, link_id)
        session.commit()
        flash(f"Unlinked {gone.store_sku} from the shop's SKU {gone.sku_id}.")
    except InvalidInput as exc:
        session.rollback()
        flash(f"Not unlinked: {exc.detail}")
    return redirect(request.referrer if _same_site(request.referrer) else url("products.index"))


def _same_site(target: str | None) -> bool:
    return bool(target) and str(target).startswith(request.host_url)
