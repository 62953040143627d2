"""`shelfsync fake woocommerce`: serve the WooCommerce fake on a local port until interrupted.

The plugin registers `fake_command` into the `fake` group. With `--json` the first line of
stdout is one JSON object: `base_url` (the site root, what `--api-base-url` takes),
`credentials` (`consumer_key`, `consumer_secret`, `webhook_secret`), `platform` and
`connections`, so scripts and the demo can start it with `--port 0` and read how to connect.
"""

from __future__ import annotations

import sys

import click
from werkzeug.serving import make_server

from shelfsync.core.testing.fakes import fake_banner
from shelfsync.plugins.woocommerce.fake import WooCommerceFake


@click.command("woocommerce")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--products", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--variants", type=click.IntRange(min=1), default=3, show_default=True,
              help="Variations per product (1: simple products).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--currency", default="USD", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print connection details as JSON first.")
def fake_command(host: str, port: int, products: int, variants: int, seed: int, currency: str,
                 as_json: bool) -> None:
    """Serve a faithful fake of the WooCommerce REST API v3."""
    fake = WooCommerceFake(products=products, variants=variants, seed=seed, currency=currency)
    server = make_server(host, port, fake, threaded=True)
    base_url = f"http://{host}:{server.server_port}"
    credentials = {"consumer_key": fake.consumer_key, "consumer_secret": fake.consumer_secret,
                   "webhook_secret": fake.webhook_secret}
    if as_json:
        click.echo(fake_banner("woocommerce", base_url, fake, credentials=credentials))
    else:
        click.echo(f"WooCommerce fake at {base_url}")
        click.echo(f"  REST API:        {base_url}/wp-json/wc/v3/")
        click.echo(f"  consumer key:    {fake.consumer_key}")
        click.echo(f"  consumer secret: {fake.consumer_secret}")
        click.echo(f"  webhook secret:  {fake.webhook_secret}")
        click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
