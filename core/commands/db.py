"""`shelfsync db …`: create and migrate the database (SHELFSYNC_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from shelfsync.core import db as database
from shelfsync.core.commands.output import emit, fail
from shelfsync.core.errors import ShelfsyncError
from shelfsync.core.models import rotate_stored_credentials

T = TypeVar("T")

READING = "reading the schema version"


def _run(action: str, url: str, step: Callable[[], T], as_json: bool) -> T:
    """Run a database step; any failure becomes one error line (or one JSON document)."""
    try:
        return step()
    except (ShelfsyncError, SQLAlchemyError, CommandError, OSError) as exc:
        message = (
            exc.message
            if isinstance(exc, ShelfsyncError)
            else f"{action} failed on {database.redact(url)}: {database.driver_message(exc, url)}"
        )
        if as_json:
            emit({"ok": False, "error": message}, as_json=True)
        fail(message)


@click.group("db")
def db_group() -> None:
    """The database: SQLite by default, PostgreSQL via SHELFSYNC_DATABASE_URL."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def upgrade_command(revision: str, as_json: bool) -> None:
    """Create the tables, or migrate them to the newest schema."""
    url = database.database_url()
    before = _run(READING, url, lambda: database.current_revision(url), as_json)
    after = _run("migration", url, lambda: database.upgrade(url, revision), as_json)
    result = {
        "ok": True,
        "database": database.redact(url),
        "from_revision": before,
        "revision": after,
    }
    emit(result, as_json, _human)


@db_group.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def current_command(as_json: bool) -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    url = database.database_url()
    current = _run(READING, url, lambda: database.current_revision(url), as_json)
    head = database.head_revision()
    result = {
        "database": database.redact(url),
        "revision": current,
        "head": head,
        "up_to_date": current == head,
    }
    emit(result, as_json, _human_current)


@db_group.command("rotate-credentials")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rotate_command(as_json: bool) -> None:
    """Re-encrypt stored credentials with the first key of SHELFSYNC_SECRET_KEY."""
    url = database.database_url()

    def rotate() -> int:
        engine = database.make_engine(url)
        try:
            with database.session_scope(engine) as session:
                return rotate_stored_credentials(session)
        finally:
            engine.dispose()

    count = _run("rotating credentials", url, rotate, as_json)
    result = {"ok": True, "database": database.redact(url), "rotated": count}
    emit(result, as_json, lambda r: f"{r['database']}: re-encrypted {r['rotated']} connection(s)")


def _human(result: dict[str, object]) -> str:
    if result["from_revision"] == result["revision"]:
        return f"{result['database']}: already at {result['revision']}"
    start = result["from_revision"] or "empty"
    return f"{result['database']}: migrated {start} -> {result['revision']}"


def _human_current(result: dict[str, object]) -> str:
    state = "up to date" if result["up_to_date"] else f"behind (newest: {result['head']})"
    return f"{result['database']}: {result['revision'] or 'empty'}, {state}"
