"""Signing in and out. Failed attempts are slowed (`web.throttle`); a success starts a fresh
session (no fixation) and only a path on this site is followed after it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session
from flask import url_for as url
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from shelfsync.core.services import users
from shelfsync.web import access

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """Email and password (and the CSRF token Flask-WTF adds)."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path of this site (never `//evil.example` or a scheme)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url("stores.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form."""
    from shelfsync.web.ui import throttle_of

    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        throttle = throttle_of(current_app)
        email = (form.email.data or "").strip().lower()
        keys = (f"email:{email}", f"addr:{request.remote_addr or '-'}")
        wait = throttle.wait(*keys)
        if wait:
            error = (f"Too many failed sign-ins: try again in {wait} second"
                     f"{'s' if wait != 1 else ''}.")
            status = 429
        else:
            found = users.authenticate(access.db(), email, form.password.data or "")
            if found is None:
                throttle.failed(*keys)
                error = "Wrong email or password."
                status = 401
            else:
                throttle.succeeded(*keys)
                session.clear()
                session[access.USER_KEY] = found.id
                session.permanent = False
                return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Any:
    """Sign out (a POST, so another site cannot sign the user out with a link)."""
    session.clear()
    flash("Signed out.")
    return redirect(url("auth.login"))


@bp.get("/")
def home() -> Any:
    """Onboarding until a store is connected, the connected stores after."""
    if access.current_user() is None:
        return redirect(url("auth.login"))
    if access.own_store() is None:
        return redirect(url("onboarding.index"))
    return redirect(url("stores.index"))
