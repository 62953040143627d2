"""`shelfsync demo` end to end, as a user runs it: a subprocess printing the pushes it makes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

PUSH = re.compile(r"^push\s+(?P<sku>\S+)\s+(?P<shop>.+?)\s+(?P<before>\S+) → (?P<after>\d+)\s+"
                  r"(?P<reason>\S+)$")


def test_demo_prints_pushes_to_both_shops_and_stops(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHELFSYNC_") or k == "SHELFSYNC_PLUGINS"}
    result = subprocess.run(
        [sys.executable, "-m", "shelfsync.core", "demo", "--duration", "20", "--port", "0",
         "--interval", "1", "--products", "6", "--variants", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
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
    assert not list(tmp_path.iterdir()), "the demo left files behind in the working directory"
