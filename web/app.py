"""The Flask application factory (Flask tutorial style): configuration, extensions, blueprints.

`create_app()` keeps one plugin manager and one SQLAlchemy engine on `app.extensions`, so a
request never rebuilds either. The database is `SHELFSYNC_DATABASE_URL` unless the test
configuration names another (`DATABASE_URL`); `PLUGIN_MANAGER` lets a test pass its own, and
`CLOCK` (a function returning an aware UTC datetime) the clock the login throttle reads.

For a WSGI server: `gunicorn 'shelfsync.web.app:create_app()'` (set `SHELFSYNC_WEB_SECRET`
so sign-ins survive restarts and are shared by every worker process;
`SHELFSYNC_WEB_SECURE_COOKIES=0` only when served over plain HTTP, as the demo is).

Every POST carries a CSRF token (Flask-WTF), except the webhook receivers': platforms cannot
send one, and their signature is their authentication.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine

from shelfsync.core.db import database_url, make_engine
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager

PM_KEY = "shelfsync.plugin_manager"
ENGINE_KEY = "shelfsync.engine"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Shelfsync web app."""
    app = Flask(__name__)
    app.config.from_mapping(
        # Sessions are signed with this; a random one per process is safe until the UI lands
        # (nothing yet depends on a session surviving a restart).
        SECRET_KEY=os.environ.get("SHELFSYNC_WEB_SECRET") or secrets.token_hex(32),
        DATABASE_URL=database_url(),
        # Webhook bodies are small; anything bigger is not a platform's webhook.
        MAX_CONTENT_LENGTH=1024 * 1024,
        # The session cookie: never readable by scripts, not sent on cross-site requests,
        # and only over HTTPS unless told the UI is served over plain HTTP (the demo).
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("SHELFSYNC_WEB_SECURE_COOKIES", "1") != "0",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if test_config is not None:
        app.config.from_mapping(test_config)

    pm = app.config.get("PLUGIN_MANAGER") or get_plugin_manager()
    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"])
    app.extensions[PM_KEY] = pm
    app.extensions[ENGINE_KEY] = engine

    from shelfsync.web import webhooks
    from shelfsync.web.ui import install_ui

    csrf = CSRFProtect(app)
    csrf.exempt(webhooks.bp)
    app.register_blueprint(webhooks.bp)
    install_ui(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def plugin_manager_of(app: Flask) -> ShelfsyncPluginManager:
    """The app's plugin manager."""
    pm: ShelfsyncPluginManager = app.extensions[PM_KEY]
    return pm


def engine_of(app: Flask) -> Engine:
    """The app's database engine."""
    engine: Engine = app.extensions[ENGINE_KEY]
    return engine
