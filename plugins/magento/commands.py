"""`shelfsync fake magento`: serve the Magento fake on a local port until interrupted.

With `--json` the first line of stdout is one JSON object (`base_url`, `credentials`,
`platform`, `connections`) so scripts and the demo can start it with `--port 0` and read
where it listens and how to connect (`--api-base-url` is that `base_url`, the part before
`/rest/`).
"""

from __future__ import annotations

import sys

import click
from werkzeug.serving import make_server

from shelfsync.core.testing.fakes import fake_banner
from shelfsync.plugins.magento.fake import MagentoFake


@click.command("magento")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--products", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--variants", type=click.IntRange(min=1), default=3, show_default=True,
              help="Variants per product (more than one: a configurable product).")
@click.option("--sources", type=click.IntRange(min=1), default=3, show_default=True,
              help="MSI sources; the last one of several is disabled.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--legacy", is_flag=True, help="A store without MSI (legacy stock items).")
@click.option("--input-limits", is_flag=True, help="Turn the Web API input limits on.")
@click.option("--json", "as_json", is_flag=True, help="Print connection details as JSON first.")
def fake_command(host: str, port: int, products: int, variants: int, sources: int, seed: int,
                 legacy: bool, input_limits: bool, as_json: bool) -> None:
    """Serve a faithful fake of Magento 2's admin REST API."""
    fake = MagentoFake(products=products, variants=variants, sources=sources, seed=seed,
                       legacy=legacy, input_limits=input_limits)
    server = make_server(host, port, fake, threaded=True)
    base_url = f"http://{host}:{server.server_port}"
    credentials = {"access_token": fake.access_token}
    if as_json:
        click.echo(fake_banner("magento", base_url, fake, credentials=credentials))
    else:
        click.echo(f"Magento fake at {base_url} (REST: {base_url}/rest/default/V1/)")
        click.echo(f"  access token: {fake.access_token}")
        click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
