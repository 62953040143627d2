"""`shelfsync fake shopify` serves the fake and announces how to reach it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
from click.testing import CliRunner

from shelfsync.plugins.shopify.commands import fake_command

START = "from shelfsync.plugins.shopify.commands import fake_command; fake_command()"


def test_json_first_line_then_serves_until_stopped() -> None:
    args = ["--port", "0", "--products", "2", "--variants", "2", "--seed", "5", "--json"]
    process = subprocess.Popen(
        [sys.executable, "-c", START, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        assert set(announced) >= {"base_url", "credentials"}
        assert announced["base_url"].startswith("http://127.0.0.1:")
        assert not announced["base_url"].endswith(":0")
        token = announced["credentials"]["access_token"]
        response = httpx.post(
            f"{announced['base_url']}/admin/api/2025-04/graphql.json",
            json={"query": "{ productVariants(first: 10) { nodes { sku } } }"},
            headers={"X-Shopify-Access-Token": token},
            timeout=5,
        )
        skus = [n["sku"] for n in response.json()["data"]["productVariants"]["nodes"]]
        assert skus == ["SKU-5-00001-01", "SKU-5-00001-02", "SKU-5-00002-01", "SKU-5-00002-02"]
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_help_and_option_validation() -> None:
    runner = CliRunner()
    result = runner.invoke(fake_command, ["--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--json" in result.output
    assert runner.invoke(fake_command, ["--variants", "0"]).exit_code == 2
