"""What the CLI tests of tests/core share: the environment a command runs in (a fresh
database, a secret key, loopback fakes allowed), a Shopify and a TikTok fake served for the
module, and helpers to run `shelfsync` commands in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from shelfsync.core.cli import build_cli
from shelfsync.core.crypto import generate_key
from shelfsync.core.demo import DEMO_RATES
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.shopify.fake import ShopifyFake
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.markets import currency_of


@pytest.fixture
def env(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    return migrated_url


@pytest.fixture(scope="module")
def shopify() -> Iterator[RunningServer]:
    with serving(ShopifyFake(products=3, variants=2, seed=7)) as running:
        yield running


@pytest.fixture(scope="module")
def tiktok() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=3, variants=2, seed=7)) as running:
        yield running


def run(*args: str) -> Result:
    return CliRunner().invoke(build_cli(), list(args))


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def credential_args(credentials: dict[str, str]) -> list[str]:
    return [
        part for key, value in credentials.items() for part in ("--credential", f"{key}={value}")
    ]


def rate_args(shop: dict[str, Any], store_currency: str = "USD") -> list[str]:
    """`--currency-rate` for a TikTok fake's shop (`connections()` entry) selling in another
    currency than the store fake (USD): the demo's rate; nothing for a shop in USD."""
    currency = currency_of(shop["region"])
    if currency == store_currency:
        return []
    return ["--currency-rate", DEMO_RATES[(store_currency, currency)]]
