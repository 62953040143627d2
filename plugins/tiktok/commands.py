"""`shelfsync fake tiktok`: serve the TikTok Shop fake until interrupted.

With `--json` the first stdout line is one JSON object, `{"platform", "base_url", "connections",
"shops": [{"id", "name", "region",
"credentials": {app_key, app_secret, access_token, refresh_token, shop_cipher}}]}`, so a
script or a benchmark can start the fake as a subprocess and read how to connect.
"""

from __future__ import annotations

import threading

import click

from shelfsync.core.testing.fakes import fake_banner
from shelfsync.core.testing.server import start_server
from shelfsync.plugins.tiktok.fake import ON_HOLD_SECONDS, TikTokFake


@click.command("tiktok")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--shops", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--products", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--variants", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--qps", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Per-shop requests per second (default: no limit).")
@click.option("--on-hold-seconds", type=click.IntRange(min=0), default=ON_HOLD_SECONDS,
              show_default=True,
              help="How long a paid ON_HOLD order waits before AWAITING_SHIPMENT.")
@click.option("--json", "as_json", is_flag=True, help="Print connection details as JSON.")
def fake_command(
    host: str, port: int, shops: int, products: int, variants: int, seed: int,
    qps: float | None, on_hold_seconds: int, as_json: bool,
) -> None:
    """Run a fake TikTok Shop Open API with SHOPS shops of one app."""
    app = TikTokFake(shops=shops, products=products, variants=variants, seed=seed, qps=qps,
                     on_hold_seconds=on_hold_seconds)
    running = start_server(app, host, port)
    base_url = f"http://{host}:{running.server.server_port}"
    shops_info = [
        {"id": c["id"], "name": c["name"], "region": c["region"], "credentials": c["credentials"]}
        for c in app.connections()
    ]
    if as_json:
        click.echo(fake_banner("tiktok", base_url, app, shops=shops_info))
    else:
        click.echo(f"TikTok Shop fake on {base_url} (Ctrl+C to stop)")
        for shop in shops_info:
            click.echo(f"  {shop['name']}  id={shop['id']}  "
                       f"shop_cipher={shop['credentials']['shop_cipher']}")
        click.echo(f"  app_key={app.creds.app_key}  (secrets and tokens: GET "
                   f"{base_url}/_fake/connections)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
