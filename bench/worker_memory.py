"""Benchmark: peak memory of the process that reconciles N SKUs × S TikTok shops.

The fakes run in processes of their own (`shelfsync fake shopify|tiktok`), so what is measured
is only the syncing process: `shelfsync sync inventory --org 1`, the same engine a worker runs
for a reconciliation. Its peak resident set size comes from `wait4`'s rusage. The Shopify
fake's cost budget is lifted and its bulk operations process a million objects a second
instead of Shopify's ~460 (memory, not pacing, is measured here: at 460/s the 4,000,000
objects of a 1,000,000-SKU store would take 2.4 hours of waiting; bench/inventory_sync.py and
bench/shopify_fetch.py measure pacing).

    .venv/bin/python bench/worker_memory.py --skus 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from shelfsync.core.demo import DEMO_RATES
from shelfsync.plugins.tiktok.markets import currency_of

SHELFSYNC = [sys.executable, "-m", "shelfsync.core"]


def start_fake(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], dict]:
    """Start a fake and read the connection JSON its first line prints."""
    process = subprocess.Popen(
        [*SHELFSYNC, "fake", *args, "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def run(args: list[str], env: dict[str, str]) -> str:
    """Run a shelfsync command to completion; its stdout."""
    done = subprocess.run([*SHELFSYNC, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"shelfsync {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout


def credential_args(credentials: dict[str, str]) -> list[str]:
    return [
        part for key, value in credentials.items() for part in ("--credential", f"{key}={value}")
    ]


def rate_args(shop: dict) -> list[str]:
    """`--currency-rate` for a fake shop whose market sells in another currency than the
    Shopify fake's USD (the fake's GB shops): the demo's rate, as a merchant would give."""
    currency = currency_of(str(shop.get("region", "")))
    rate = DEMO_RATES.get(("USD", currency))
    return ["--currency-rate", rate] if rate else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=5)
    parser.add_argument("--shops", type=int, default=3)
    options = parser.parse_args()
    products = max(1, options.skus // options.variants)

    workdir = Path(tempfile.mkdtemp(prefix="shelfsync-memory-"))
    env = {
        **os.environ,
        "SHELFSYNC_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "SHELFSYNC_SECRET_KEY": Fernet.generate_key().decode(),
        "SHELFSYNC_ALLOW_PRIVATE_URLS": "1",
    }
    seeded = time.monotonic()
    common = ["--products", str(products), "--variants", str(options.variants)]
    shopify, store = start_fake(["shopify", *common, "--bulk-rate", "1000000"], env)
    tiktok, channel = start_fake(["tiktok", "--shops", str(options.shops), *common], env)
    try:
        httpx.post(
            f"{store['base_url']}/_fake/budget",
            json={"restore_rate": 1_000_000, "bucket_size": 1_000_000},
            timeout=30,
        ).raise_for_status()
        print(
            f"fakes seeded       {time.monotonic() - seeded:.1f} s "
            f"({products * options.variants:,} SKUs, {options.shops} shops)"
        )
        run(["db", "upgrade"], env)
        run(["org", "create", "Bench"], env)
        run(
            [
                "connect",
                "store",
                "shopify",
                "--org",
                "Bench",
                *credential_args(store["credentials"]),
                "--api-base-url",
                store["base_url"],
            ],
            env,
        )
        for shop in channel["shops"]:
            run(
                [
                    "connect",
                    "channel",
                    "tiktok",
                    "--org",
                    "Bench",
                    *credential_args(shop["credentials"]),
                    "--api-base-url",
                    channel["base_url"],
                    "--setting",
                    f"auth_base_url={channel['base_url']}",
                    "--shop-id",
                    str(shop["id"]),
                    *rate_args(shop),
                ],
                env,
            )

        started = time.monotonic()
        output = workdir / "sync.out"
        with output.open("w") as sink:
            sync = subprocess.Popen(
                [*SHELFSYNC, "sync", "inventory", "--org", "1"],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            # wait4 reaps this one child and returns its own rusage: its peak resident set.
            _, status, usage = os.wait4(sync.pid, 0)
        elapsed = time.monotonic() - started
        lines = output.read_text().splitlines()
        # Exit 1 means "done, some SKUs failed" (the fake leaves some not live on purpose).
        if os.waitstatus_to_exitcode(status) not in (0, 1) or not lines:
            raise SystemExit("sync failed: " + "\n".join(lines[-5:]))
        print(f"reconcile          {elapsed:.1f} s")
        print(f"result             {lines[0] if lines else '(no output)'}")
        print(f"peak RSS           {usage.ru_maxrss / 1024:.1f} MiB (goal < 300 MiB)")
    finally:
        for process in (shopify, tiktok):
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
