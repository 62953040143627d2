"""`shelfsync demo` end to end, as a user runs it: a subprocess printing the pushes it makes."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel

from shelfsync.core.crypto import SECRET_KEY_ENV, decrypt_credentials, generate_key
from shelfsync.core.db import session_scope
from shelfsync.core.demo import Fakes, connect_organization, running_fakes
from shelfsync.core.models import ChannelConnection, Organization, StoreConnection
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.services.channel_settings import channel_settings
from shelfsync.core.services.currencies import check_currencies, live_store_currency
from shelfsync.core.services.sync_settings import store_currency
from shelfsync.core.testing.environment import unavailable

PUSH = re.compile(r"^push\s+(?P<sku>\S+)\s+(?P<shop>.+?)\s+(?P<before>\S+) → (?P<after>\d+)\s+"
                  r"(?P<reason>\S+)$")


ORDER = re.compile(r"^order  (?P<id>\d+)  (?P<shop>.+?)  → store order (?P<name>#\d+)$")
REDIS_URL = "redis://127.0.0.1:6379/0"


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith("SHELFSYNC_") or k == "SHELFSYNC_PLUGINS"}


def run_demo(cwd: Path, env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shelfsync.core", "demo", "--port", "0", *options],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_demo_prints_pushes_to_both_shops_and_stops(tmp_path: Path) -> None:
    result = run_demo(tmp_path, clean_env(), "--duration", "20", "--interval", "1",
                      "--products", "6", "--variants", "2", "--order-interval", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    pushes = [m for line in lines if (m := PUSH.match(line))]
    assert lines[-1] == "demo: stopped"
    assert any(line.startswith("store ") for line in lines), result.stdout
    shops = {m["shop"] for m in pushes}
    assert len(shops) == 2, result.stdout
    # Each sync pushes shop 1 then shop 2: shop 2 shows 80 % of shop 1's figure (which is the
    # store's whole stock), or 0 at 5 units or fewer.
    first_shop, second_shop = sorted(shops)
    compared = 0
    for one, two in pairwise(pushes):
        if (one["shop"], two["shop"]) == (first_shop, second_shop) and one["sku"] == two["sku"]:
            total = int(one["after"])
            if total < 99_999:
                assert int(two["after"]) == (0 if total <= 5 else total * 80 // 100), one["sku"]
                compared += 1
    assert compared > 0, result.stdout
    # Buyers' orders on the shops, each created once in the store, with its own name.
    orders = [m for line in lines if (m := ORDER.match(line))]
    assert orders, result.stdout
    assert len({m["id"] for m in orders}) == len(orders) == len({m["name"] for m in orders})
    assert not list(tmp_path.iterdir()), "the demo left files behind in the working directory"


# --- the demo never touches a real deployment -----------------------------------------------


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with Session(engine) as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


@pytest.fixture
def real_customer(engine: Engine, migrated_url: str,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Fakes, str]]:
    """A real deployment's database: another organization, connected to live fakes (so a
    reconciliation of its channels would show in its audit), its credentials under key K."""
    key = generate_key()
    monkeypatch.setenv(SECRET_KEY_ENV, key)
    with running_fakes(get_plugin_manager(), products=3, variants=2, seed=3) as fakes:
        with session_scope(engine) as session:
            connect_organization(session, fakes, name="Real customer")
        yield fakes, key


def test_demo_leaves_a_configured_database_key_and_broker_alone(
        tmp_path: Path, engine: Engine, migrated_url: str,
        real_customer: tuple[Fakes, str]) -> None:
    _, key = real_customer
    namespace = f"shelfsync-demo-test-{secrets.token_hex(4)}"
    try:
        queue = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        queue.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    before = snapshot(engine)
    env = {**clean_env(), "SHELFSYNC_DATABASE_URL": migrated_url, SECRET_KEY_ENV: key,
           "SHELFSYNC_BROKER_URL": REDIS_URL, "SHELFSYNC_BROKER_NAMESPACE": namespace}
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = run_demo(workdir, env, "--duration", "3", "--interval", "0.5",
                      "--products", "3", "--variants", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    # Not one row added, changed or removed: no demo organization, no reconciliation audit.
    assert snapshot(engine) == before
    # The real key still opens every stored credential.
    with Session(engine) as session:
        tokens = [c.credentials_token for c in session.execute(select(StoreConnection)).scalars()]
        tokens += [c.credentials_token
                   for c in session.execute(select(ChannelConnection)).scalars()]
    assert len(tokens) == 3
    assert all(decrypt_credentials(token, key) for token in tokens)
    # Nothing was enqueued on the fleet's broker either.
    assert queue.keys(f"{namespace}*") == []
    assert "demo: ignoring SHELFSYNC_DATABASE_URL, SHELFSYNC_SECRET_KEY, SHELFSYNC_BROKER_URL" \
        in result.stdout
    assert result.stdout.splitlines()[-1] == "demo: stopped"
    assert not list(workdir.iterdir())


def test_demo_refuses_a_store_it_cannot_fake_in_one_line(tmp_path: Path) -> None:
    result = run_demo(tmp_path, clean_env(), "--store", "nosuchstore", "--duration", "1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = (result.stderr + result.stdout).strip().splitlines()
    assert len(message) == 1, message
    assert message[0].startswith("error: demo: --store 'nosuchstore' is not an installed "
                                 "store plugin with a fake (choose from: "), message
    assert "shopify" in message[0]


def test_the_demo_prints_a_sign_in_that_opens_its_settings_ui(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "shelfsync.core", "demo", "--port", "0", "--duration", "60",
         "--products", "3", "--variants", "1", "--order-interval", "0"],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert demo.stdout is not None
        line = ""
        for line in demo.stdout:
            if line.startswith("demo: settings UI "):
                break
        found = re.match(r"demo: settings UI (?P<url>\S+)/ — sign in as (?P<email>\S+) with "
                         r"password (?P<password>\S+)$", line.strip())
        assert found, line
        with httpx.Client(base_url=found["url"], timeout=10) as browser:
            form = browser.get("/login").text
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
            assert token, form[:500]
            signed_in = browser.post("/login", data={
                "csrf_token": token.group(1), "email": found["email"],
                "password": found["password"]}, follow_redirects=True)
            assert signed_in.status_code == 200
            assert "Sign out" in signed_in.text or "sign out" in signed_in.text.lower()
            stores = browser.get("/stores/", follow_redirects=True)
            assert stores.status_code == 200 and "shopify" in stores.text.lower()
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def test_the_demos_shops_carry_the_rate_connecting_them_would_ask_for(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """`connect_organization` writes its rows directly (tests reuse it); each shop's rate is
    the one `connect channel` would have required for it: a GBP or EUR shop on the USD store
    has one, and it is what the order path converts with."""
    monkeypatch.setenv(SECRET_KEY_ENV, generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    pm = get_plugin_manager()
    with running_fakes(pm, products=2, variants=1, seed=3) as fakes:
        demo = connect_organization(session, fakes, name="Demo")
        organization = session.get(Organization, demo.organization_id)
        assert organization is not None
        assert store_currency(session, demo.store_id) is None  # no catalog read: live check
        store = live_store_currency(session, pm, organization)
        assert store == "USD"
        seen = []
        for channel_id in demo.channel_ids:
            channel = session.get(ChannelConnection, channel_id)
            assert channel is not None
            shops = pm.call(channel.as_connection(), "shelfsync_fetch_authorized_shops")
            (shop,) = [s for s in shops if s.id == channel.shop_id]
            rate = channel_settings(session, channel_id).currency_rate
            given = None if rate == 1 else Decimal(str(rate))
            check_currencies(shop.currency, store, given)  # raises if it would be refused
            seen.append((shop.currency, f"{Decimal(str(rate)).normalize():f}"))
    assert seen == [("GBP", "0.79"), ("USD", "1")]
