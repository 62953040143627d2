"""Who is signed in, what they may do, and rows looked up inside their organization only.

Every look-up by id goes through `own_*`: a row of another organization answers 404, exactly
like a row that does not exist, so ids cannot be probed across organizations.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlmodel import Session, select

from shelfsync.core.models import ChannelConnection, OrderBinding, StoreConnection, User
from shelfsync.core.services import users
from shelfsync.web.app import engine_of

USER_KEY = "user_id"


def db() -> Session:
    """This request's database session (closed when the request ends)."""
    if "db" not in g:
        g.db = Session(engine_of(current_app), expire_on_commit=False)
    found: Session = g.db
    return found


def close_db(_exc: BaseException | None = None) -> None:
    """Teardown: close the request's session (rolling back what was not committed)."""
    found = g.pop("db", None)
    if found is not None:
        found.close()


def current_user() -> User | None:
    """The signed-in user, or None (a deleted user's old session signs nobody in)."""
    if "user" not in g:
        ident = session.get(USER_KEY)
        g.user = db().get(User, ident) if isinstance(ident, int) else None
    found: User | None = g.user
    return found


def user() -> User:
    """The signed-in user (in views behind `require_login`)."""
    found = current_user()
    if found is None:
        abort(401)
    return found


def organization_id() -> int:
    """The signed-in user's organization."""
    return user().organization_id


def require_login() -> Any:
    """A blueprint's `before_request`: anonymous requests go to the sign-in page (JSON
    requests get 401), and a member's POST gets 403 (members read, admins change)."""
    if current_user() is None:
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if request.method == "POST" and not users.may_change(user()):
        abort(403)
    return None


def may_change() -> bool:
    """Whether the signed-in user may change things (for templates: hide what they cannot)."""
    found = current_user()
    return found is not None and users.may_change(found)


def own_channel(channel_id: int) -> ChannelConnection:
    """A channel of the user's organization, else 404."""
    channel = db().get(ChannelConnection, channel_id)
    if channel is None or channel.organization_id != organization_id():
        abort(404)
    return channel


def own_store() -> StoreConnection | None:
    """The user's organization's store, or None."""
    return db().exec(select(StoreConnection).where(
        StoreConnection.organization_id == organization_id())).first()


def own_order(binding_id: int) -> OrderBinding:
    """An order of one of the user's organization's channels, else 404."""
    binding = db().get(OrderBinding, binding_id)
    if binding is None:
        abort(404)
    own_channel(binding.channel_id)
    return binding
