"""`shelfsync connect store woocommerce … --api-base-url URL` against the fake: the key is
checked with a live call before it is saved; a wrong secret or a URL past the site's root is
refused in one line, naming neither secret."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine
from sqlmodel import Session, select

from shelfsync.core.cli import build_cli
from shelfsync.core.crypto import generate_key
from shelfsync.core.models import StoreConnection
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.woocommerce.fake import WooCommerceFake


@pytest.fixture
def env(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    return migrated_url


@pytest.fixture(scope="module")
def site() -> Iterator[RunningServer]:
    with serving(WooCommerceFake(products=3, variants=2, seed=7)) as running:
        yield running


def run(*args: str) -> Result:
    return CliRunner().invoke(build_cli(), list(args))


def _connect(site: RunningServer, url: str, secret: str | None = None) -> Result:
    creds = site.app.connections()[0]["credentials"]
    return run("connect", "store", "woocommerce", "--org", "Woo", "--api-base-url", url,
               "--credential", f"consumer_key={creds['consumer_key']}",
               "--credential", f"consumer_secret={secret or creds['consumer_secret']}",
               "--credential", f"webhook_secret={creds['webhook_secret']}", "--json")


def test_connect_checks_the_key_then_saves(env: str, site: RunningServer) -> None:
    assert run("org", "create", "Woo").exit_code == 0
    refused = _connect(site, site.base_url, secret="cs_wrong_secret")
    assert refused.exit_code != 0 and "Consumer secret is invalid." in refused.output
    assert "cs_wrong_secret" not in refused.output
    too_deep = _connect(site, f"{site.base_url}/wp-json/wc/v3")
    assert too_deep.exit_code != 0 and "site's root" in too_deep.output
    done = _connect(site, site.base_url)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["platform"] == "woocommerce"
    engine = create_engine(env)
    try:
        with Session(engine) as session:
            (store,) = session.exec(select(StoreConnection)).all()
            assert store.as_connection().credentials["webhook_secret"] == \
                site.app.webhook_secret
    finally:
        engine.dispose()
