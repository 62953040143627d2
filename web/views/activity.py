"""Activity: the inventory audit (SKU, channel, from → to, reason, outcome, when), filtered
and paged; per channel a server-rendered SVG chart of pushes, errors and drift per hour over
the last 24 hours (no script, no chart library)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from shelfsync.core.models import AuditOutcome, Organization, utcnow
from shelfsync.core.services import activity, connections
from shelfsync.web import access

bp = Blueprint("activity", __name__, url_prefix="/activity")
bp.before_request(access.require_login)

SERIES = (("pushes", "#2f6f4e"), ("errors", "#b23a3a"), ("drift", "#c08a1e"))
WIDTH, HEIGHT, PAD = 480, 120, 24


def _clock() -> Any:
    return (current_app.config.get("CLOCK") or utcnow)()


def _int_arg(name: str, default: int = 1) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 1_000_000 else default


@bp.get("/")
def index() -> Any:
    """The audit, newest first, with the per-channel charts."""
    session = access.db()
    organization = session.get(Organization, access.organization_id())
    assert organization is not None
    channels = connections.channels_of(session, organization)
    raw = request.args.get("channel", "")
    chosen = [access.own_channel(int(raw)).id or 0] if raw.isdigit() else [
        c.id or 0 for c in channels]
    sku = request.args.get("sku", "")
    outcome = request.args.get("outcome", "")
    page = _int_arg("page")
    rows, total = activity.audit_page(session, chosen, sku=sku, outcome=outcome, page=page)
    pages = max(1, -(-total // activity.PAGE_SIZE))
    names = {c.id: c.shop_name or c.shop_id or f"channel {c.id}" for c in channels}
    return render_template(
        "activity.html", rows=rows, total=total, page=page, pages=pages, channels=channels,
        names=names, channel=raw if raw.isdigit() else "", sku=sku, outcome=outcome,
        outcomes=[o.value for o in AuditOutcome],
        before=activity.previous_quantities(session, rows))


@bp.get("/chart/<int:channel_id>.svg")
def chart(channel_id: int) -> Response:
    """The channel's last 24 hours as an SVG line chart."""
    access.own_channel(channel_id)
    hours = activity.hourly(access.db(), channel_id, _clock())
    return Response(render_chart(hours), mimetype="image/svg+xml",
                    headers={"Cache-Control": "no-store"})


def render_chart(hours: list[activity.Hour]) -> str:
    """Three polylines over 24 hourly buckets, the peak labelled, hours on the x axis."""
    peak = max([1, *(max(h.pushes, h.errors, h.drift) for h in hours)])
    step = (WIDTH - 2 * PAD) / max(1, len(hours) - 1)

    def y(value: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / peak

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="pushes, errors and '
             f'drift per hour over the last 24 hours">',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
             'stroke="#bbb"/>',
             f'<text x="2" y="{PAD}" font-size="10" fill="#666">{peak}</text>']
    for index, hour in enumerate(hours):
        if index % 6 == 0:
            parts.append(f'<text x="{PAD + index * step:.1f}" y="{HEIGHT - 6}" font-size="10" '
                         f'fill="#666">{hour.start:%H:00}</text>')
    for offset, (name, colour) in enumerate(SERIES):
        points = " ".join(f"{PAD + i * step:.1f},{y(getattr(h, name)):.1f}"
                          for i, h in enumerate(hours))
        total = sum(getattr(h, name) for h in hours)
        parts.append(f'<polyline class="{name}" fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"><title>{name}: {total} in 24 h</title></polyline>')
        parts.append(f'<text x="{WIDTH - PAD - 170 + offset * 60}" y="12" font-size="10" '
                     f'fill="{colour}">{name} {total}</text>')
    parts.append("</svg>")
    return "".join(parts)
