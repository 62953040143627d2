"""`shelfsync fake shopify`: serve the Shopify fake on a local port until interrupted.

The plugin registers `fake_command` into the `fake` group. With `--json` the first line of
stdout is one JSON object (`platform`, `base_url`, `connections`, and `credentials`, `shop`)
so scripts and the demo can
start the fake with `--port 0` and read where it listens and how to connect.
"""

from __future__ import annotations

import sys

import click
from werkzeug.serving import make_server

from shelfsync.core.testing.fakes import fake_banner
from shelfsync.plugins.shopify.fake import DEFAULT_API_VERSION, ShopifyFake
from shelfsync.plugins.shopify.fake_bulk import BULK_OBJECTS_PER_SECOND


@click.command("shopify")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--products", type=click.IntRange(min=0), default=20, show_default=True)
@click.option(
    "--variants",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Variants per product.",
)
@click.option(
    "--locations",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Locations; the last one is inactive.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--bulk-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=BULK_OBJECTS_PER_SECOND,
    show_default=True,
    help="Objects a second a bulk query operation processes (Shopify publishes no rate).",
)
@click.option("--json", "as_json", is_flag=True, help="Print connection details as JSON first.")
def fake_command(
    host: str,
    port: int,
    products: int,
    variants: int,
    locations: int,
    seed: int,
    bulk_rate: float,
    as_json: bool,
) -> None:
    """Serve a faithful fake of Shopify's Admin GraphQL API."""
    fake = ShopifyFake(products=products, variants=variants, locations=locations, seed=seed,
                       bulk_rate=bulk_rate)
    server = make_server(host, port, fake, threaded=True)
    base_url = f"http://{host}:{server.server_port}"
    credentials = {"access_token": fake.access_token, "client_secret": fake.client_secret}
    if as_json:
        click.echo(fake_banner("shopify", base_url, fake, credentials=credentials,
                               shop=fake.shop))
    else:
        click.echo(f"Shopify fake for {fake.shop} at {base_url}")
        click.echo(f"  GraphQL:       {base_url}/admin/api/{DEFAULT_API_VERSION}/graphql.json")
        click.echo(f"  access token:  {fake.access_token}")
        click.echo(f"  client secret: {fake.client_secret}")
        click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
