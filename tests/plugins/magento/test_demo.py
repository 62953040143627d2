"""End to end: `shelfsync demo --store magento` — the Magento fake → Shelfsync (polling, no
webhooks) → two TikTok shops, and TikTok orders placed once in Magento."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PUSH = re.compile(r"^push\s+(?P<sku>\S+)\s+(?P<shop>.+?)\s+(?P<before>\d+) → (?P<after>\d+)")
STORE = re.compile(r"^store\s+(?P<sku>\S+)\s+stock (?P<delta>[+-]\d+)$")
ORDER = re.compile(r"^order  (?P<id>\d+)  (?P<shop>.+?)  → store order (?P<name>\d{9})$")


def test_demo_with_a_magento_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHELFSYNC_") or k == "SHELFSYNC_PLUGINS"}
    result = subprocess.run(
        [sys.executable, "-m", "shelfsync.core", "demo", "--store", "magento", "--port", "0",
         "--duration", "30", "--interval", "1", "--products", "6", "--variants", "2",
         "--order-interval", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[-1] == "demo: stopped"
    pushes = [(n, m) for n, line in enumerate(lines) if (m := PUSH.match(line))]
    assert len({m["shop"] for _, m in pushes}) == 2, result.stdout
    # A merchant's stock move (no webhook exists) is found by a poll and pushed afterwards.
    moves = [(n, m["sku"]) for n, line in enumerate(lines) if (m := STORE.match(line))]
    assert any(any(p["sku"] == sku and k > n for k, p in pushes) for n, sku in moves), \
        result.stdout
    orders = [m for line in lines if (m := ORDER.match(line))]
    assert orders, result.stdout
    assert len({m["id"] for m in orders}) == len(orders) == len({m["name"] for m in orders})
    assert "Traceback" not in result.stderr
