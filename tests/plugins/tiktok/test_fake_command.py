"""`shelfsync fake tiktok` as a real subprocess: first stdout line is JSON, Ctrl+C stops it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx

from shelfsync.plugins.tiktok.signing import sign_request

_RUN = "from shelfsync.plugins.tiktok.commands import fake_command; fake_command()"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_fake_command_prints_connection_json_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN, "--port", "0", "--shops", "3", "--products", "4",
         "--variants", "2", "--seed", "9", "--qps", "20", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A suite started in the background (`cmd &`) ignores SIGINT, and a child inherits
        # that: the fake could not be stopped the way this test stops it (Ctrl+C).
        preexec_fn=_default_sigint,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert len(info["shops"]) == 3
        shop = info["shops"][2]
        # The region says which currency the shop sells in (a script gives a rate from it).
        assert set(shop) == {"id", "name", "region", "credentials"}
        assert [s["region"] for s in info["shops"]] == ["GB", "US", "DE"]
        creds = shop["credentials"]
        assert set(creds) == {"app_key", "app_secret", "access_token", "refresh_token",
                              "shop_cipher"}
        path = "/authorization/202309/shops"
        params = {"app_key": creds["app_key"], "timestamp": str(int(time.time()))}
        params["sign"] = sign_request(creds["app_secret"], path, params)
        reply = httpx.get(info["base_url"] + path, params=params,
                          headers={"x-tts-access-token": creds["access_token"]}).json()
        assert reply["data"]["shops"][0]["id"] == shop["id"]
        state = httpx.get(info["base_url"] + "/_fake/state").json()
        assert state["qps"] == 20 and state["shops"][0]["products"] == 4
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
