"""The settings UI wired into the app: blueprints, the request's session, error pages.

Views are thin: they parse a form, call `shelfsync.core.services`, and render what it
returns or the field-level `InvalidInput` it raised next to the field.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shelfsync.core.db import describe_database_error, is_outage
from shelfsync.core.models import utcnow
from shelfsync.web import access
from shelfsync.web.throttle import LoginThrottle
from shelfsync.web.views import (
    activity,
    auth,
    channel_settings,
    onboarding,
    orders,
    products,
    stores,
)

log = logging.getLogger(__name__)
THROTTLE_KEY = "shelfsync.login_throttle"
TITLES = {400: "Bad request", 401: "Sign in needed", 403: "Not allowed", 404: "Not found",
          405: "Not allowed", 413: "Too large", 500: "Something went wrong"}


def install_ui(app: Flask) -> None:
    """Register the UI's blueprints, its login throttle and its error pages on `app`."""
    app.extensions[THROTTLE_KEY] = LoginThrottle(app.config.get("CLOCK") or utcnow)
    for module in (auth, onboarding, stores, channel_settings, products, orders, activity):
        app.register_blueprint(module.bp)
    app.teardown_appcontext(access.close_db)

    @app.template_filter("when")
    def when(value: Any) -> str:
        """An ISO timestamp or a datetime as `2026-12-03 09:15 UTC` (`never` for none)."""
        if not value:
            return "never"
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return str(value)
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"

    @app.context_processor
    def globals_() -> dict[str, Any]:
        try:
            return {"current_user": access.current_user(), "may_change": access.may_change()}
        except SQLAlchemyError:  # the error page itself must render with the database down
            return {"current_user": None, "may_change": False}

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return render_template("error.html", code=400, title="Form expired",
                               message="The form was not sent with a valid token; reload the "
                                       "page and send it again."), 400

    @app.errorhandler(SQLAlchemyError)
    def database_error(exc: SQLAlchemyError) -> Any:
        # One line in the log (no SQL, no password), a calm page for the merchant; nothing
        # was half-saved: the request's session is rolled back when it closes.
        log.error("%s", describe_database_error(exc, app.config["DATABASE_URL"]))
        message = ("The database did not answer; try again in a moment." if is_outage(exc)
                   else "The database is not ready for this version of Shelfsync; the "
                        "operator must run `shelfsync db upgrade`.")
        return render_template("error.html", code=503, title="Database unavailable",
                               message=message), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        if code in (401, 403, 404, 405):
            return render_template("error.html", code=code, title=TITLES.get(code, "Error"),
                                   message=_message(code)), code
        return exc


def _message(code: int) -> str:
    return {
        401: "Sign in to see this page.",
        403: "Your role may read this, not change it; ask an admin or the owner.",
        404: "There is nothing here, or it belongs to another organization.",
        405: "This address does not take that request.",
    }[code]


def throttle_of(app: Flask) -> LoginThrottle:
    """The app's login throttle."""
    found: LoginThrottle = app.extensions[THROTTLE_KEY]
    return found
