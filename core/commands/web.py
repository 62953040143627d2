"""`shelfsync web`: the settings UI and the webhook receiver, without a worker or scheduler
(those run in `shelfsync worker`; `shelfsync run` has all three in one process)."""

from __future__ import annotations

import logging
import os
import time

import click

from shelfsync.core.commands.run import _require_migrated, _require_secret_key, _stop_on_sigterm
from shelfsync.core.db import database_url, redact
from shelfsync.core.wsgi_server import serving_production


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=8, show_default=True,
              help="Request threads.")
def web_command(host: str, port: int, threads: int) -> None:
    """Serve the settings UI and the webhook receiver (on waitress)."""
    from shelfsync.web.app import create_app

    _require_migrated()
    _require_secret_key()
    if not os.environ.get("SHELFSYNC_WEB_SECRET"):
        click.echo("warning: SHELFSYNC_WEB_SECRET is not set: sign-ins end when the process "
                   "restarts and are not shared between processes", err=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    _stop_on_sigterm()
    try:
        with serving_production(create_app(), host, port, threads=threads) as url:
            click.echo(f"Shelfsync UI on {url} (database: {redact(database_url())}); "
                       "Ctrl-C stops it")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped")
