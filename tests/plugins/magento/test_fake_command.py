"""`shelfsync fake magento` as a real subprocess: the first stdout line is JSON with the base
URL and the token, the fake serves the seeded SKUs, Ctrl+C stops it; `connect store` works
against it through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from shelfsync.core.testing.catalog import seed_catalog


def _shelfsync(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shelfsync.core", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_fake_command_prints_json_serves_the_seed_and_connects(tmp_path: Path) -> None:
    env = {**os.environ, "SHELFSYNC_ALLOW_PRIVATE_URLS": "1",
           "SHELFSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
           "SHELFSYNC_SECRET_KEY": Fernet.generate_key().decode()}
    process = subprocess.Popen(
        [sys.executable, "-m", "shelfsync.core", "fake", "magento", "--port", "0",
         "--products", "3", "--variants", "2", "--sources", "2", "--seed", "4",
         "--input-limits", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A suite started in the background (`cmd &`) ignores SIGINT, and a child inherits
        # that: the fake could not be stopped the way this test stops it (Ctrl+C).
        preexec_fn=_default_sigint, env=env)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        token = info["credentials"]["access_token"]
        assert info["base_url"].startswith("http://127.0.0.1:") and token
        assert info["connections"][0]["settings"] == {"store_code": "default", "stock_id": 1,
                                                   "poll_seconds": 5}
        answer = httpx.get(f"{info['base_url']}/rest/default/V1/products",
                           params={"searchCriteria[pageSize]": "50"},
                           headers={"Authorization": f"Bearer {token}"}).json()
        seeded = {v.sku for p in seed_catalog(4, 3, 2) for v in p.variants}
        assert {i["sku"] for i in answer["items"] if i["type_id"] == "simple"} == seeded
        state = httpx.get(f"{info['base_url']}/_fake/state").json()
        assert state["input_limits"] is True and len(state["sources"]) == 2

        assert _shelfsync("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
        org = _shelfsync("org", "create", "Acme", env=env, cwd=tmp_path)
        assert org.returncode == 0, org.stderr
        connected = _shelfsync("connect", "store", "magento", "--org", "Acme",
                               "--credential", f"access_token={token}",
                               "--api-base-url", info["base_url"],
                               "--setting", "store_code=default", env=env, cwd=tmp_path)
        assert connected.returncode == 0, connected.stderr
        assert token not in connected.stdout + connected.stderr
        refused = _shelfsync("connect", "store", "magento", "--org", "Acme",
                             "--credential", "access_token=wrong",
                             "--api-base-url", info["base_url"], env=env, cwd=tmp_path)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
