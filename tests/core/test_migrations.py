"""The packaged Alembic migrations: same scripts on SQLite and PostgreSQL, matching the models."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from shelfsync.core.db import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    upgrade,
)
from shelfsync.core.models import metadata

REPO = Path(__file__).resolve().parents[2]


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _diffs(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_downgrade_upgrade_from_empty(database_url: str) -> None:
    assert _tables(database_url) == set()
    assert current_revision(database_url) is None

    assert upgrade(database_url) == head_revision()
    assert _tables(database_url) == set(metadata.tables) | {"alembic_version"}

    assert downgrade(database_url, "base") is None
    assert _tables(database_url) <= {"alembic_version"}

    assert upgrade(database_url) == head_revision()
    assert _tables(database_url) == set(metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    upgrade(database_url)
    assert upgrade(database_url) == head_revision()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert _diffs(engine) == []


def test_models_alone_would_differ_from_an_empty_database(database_url: str) -> None:
    """The comparison above is meaningful: it does see a missing schema."""
    engine = make_engine(database_url)
    try:
        diffs = _diffs(engine)
    finally:
        engine.dispose()
    added = {diff[1].name for diff in diffs if isinstance(diff, tuple) and diff[0] == "add_table"}
    assert added == set(metadata.tables)


def test_one_linear_history_found_through_the_package() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert scripts.get_heads() == [head_revision()]
    assert scripts.get_base() == "0001_initial"
    # Found through importlib.resources, not the current directory.
    assert scripts.dir.endswith("migrations")


def test_every_constraint_and_index_is_named(engine: Engine) -> None:
    """Batch mode on SQLite can only drop or alter what it can name."""
    inspector = inspect(engine)
    for table in metadata.tables:
        for unique in inspector.get_unique_constraints(table):
            assert unique["name"], table
        for foreign in inspector.get_foreign_keys(table):
            assert foreign["name"], table
        for index in inspector.get_indexes(table):
            assert index["name"], table
        checks = inspector.get_check_constraints(table)
        assert all(check["name"] for check in checks), table


def test_upgrade_works_from_an_installed_wheel(tmp_path: Path) -> None:
    """alembic.ini, env.py and the versions travel in the wheel and are found there."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, source / name)
    for name in ("core", "plugins", "web"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("shelfsync-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    script = (
        "import shelfsync.core.db as db, sys; "
        "assert db.__file__.startswith(sys.argv[1]), db.__file__; "
        "print(db.upgrade('sqlite:///installed.db'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(site)],
        cwd=tmp_path,  # neither the checkout nor its alembic.ini is in reach
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == head_revision()
    assert _tables(f"sqlite:///{tmp_path / 'installed.db'}") >= set(metadata.tables)


def test_0004_leases_keeps_existing_data(database_url: str) -> None:
    """Pending SKUs, pushed quantities and runs written before the leases survive the upgrade:
    a pending SKU unleased, a pushed quantity without a version (any push may replace it)."""
    from sqlalchemy import text

    assert upgrade(database_url, "0002_engine") == "0002_engine"
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO organization (id, name, created_at) "
                "VALUES (1, 'Kept', '2026-01-01 00:00:00+00')"))
            connection.execute(text(
                "INSERT INTO channel_connection (id, organization_id, platform, base_url, "
                "shop_id, shop_name, credentials_token, settings, status, status_message, "
                "created_at, updated_at) VALUES (1, 1, 'tiktok', 'https://b', 's', '', '', "
                "'{}', 'ok', '', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')"))
            connection.execute(text(
                "INSERT INTO pending_sku (organization_id, sku, observed_at, created_at) "
                "VALUES (1, 'A', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')"))
            connection.execute(text(
                "INSERT INTO pushed_quantity (channel_id, sku_id, quantity, pushed_at) "
                "VALUES (1, 'S1', 7, '2026-01-01 00:00:00+00')"))
            connection.execute(text(
                "INSERT INTO sync_run (organization_id, channel_id, kind, status, started_at, "
                "counts) VALUES (1, 1, 'reconcile', 'running', '2026-01-01 00:00:00+00', '{}')"))
    finally:
        engine.dispose()

    assert upgrade(database_url) == head_revision()

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT sku, lease_owner, lease_expires_at FROM pending_sku")).all() == [
                ("A", None, None)]
            assert connection.execute(text(
                "SELECT sku_id, quantity, version FROM pushed_quantity")).all() == [
                ("S1", 7, None)]
            assert connection.execute(text(
                "SELECT status, lease_expires_at FROM sync_run")).all() == [("running", None)]
    finally:
        engine.dispose()
