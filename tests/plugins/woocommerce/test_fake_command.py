"""`shelfsync fake woocommerce` serves the fake and announces how to reach it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
from click.testing import CliRunner

from shelfsync.plugins.woocommerce.commands import fake_command

START = "from shelfsync.core.cli import main; main()"


def test_json_first_line_then_serves_until_stopped() -> None:
    args = ["fake", "woocommerce", "--port", "0", "--products", "2", "--variants", "2",
            "--seed", "5", "--json"]
    process = subprocess.Popen([sys.executable, "-c", START, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        assert announced["base_url"].startswith("http://127.0.0.1:")
        assert not announced["base_url"].endswith(":0")
        creds = announced["credentials"]
        assert set(creds) == {"consumer_key", "consumer_secret", "webhook_secret"}
        answer = httpx.get(f"{announced['base_url']}/wp-json/wc/v3/products",
                           params={"sku": "SKU-5-00001-01,SKU-5-00002-02"},
                           auth=(creds["consumer_key"], creds["consumer_secret"]), timeout=5)
        # The same SKUs as the Shopify and TikTok fakes for the same seed.
        assert sorted(p["sku"] for p in answer.json()) == ["SKU-5-00001-01", "SKU-5-00002-02"]
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_help_and_option_validation() -> None:
    runner = CliRunner()
    result = runner.invoke(fake_command, ["--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--json" in result.output
    assert runner.invoke(fake_command, ["--variants", "0"]).exit_code == 2
