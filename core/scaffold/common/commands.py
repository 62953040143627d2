"""`shelfsync fake acme`: serve the acme fake until interrupted.

With `--json` the first stdout line is Shelfsync's standard one: a JSON object with
`platform`, `base_url` and `connections` (each `{"name", "credentials", …}`).
"""

from __future__ import annotations

import threading

import click

from shelfsync.core.testing.fakes import fake_banner
from shelfsync.core.testing.server import start_server


@click.command("acme")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--products", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--variants", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print connection details as JSON.")
def fake_command(host: str, port: int, products: int, variants: int, seed: int,
                 as_json: bool) -> None:
    """Run the acme fake."""
    from acme_shelfsync.fake import AcmeFake

    fake = AcmeFake(products=products, variants=variants, seed=seed)
    running = start_server(fake, host, port)
    base_url = f"http://{host}:{running.server.server_port}"
    if as_json:
        click.echo(fake_banner("acme", base_url, fake))
    else:
        click.echo(f"acme fake on {base_url} (Ctrl+C to stop); connections: "
                   f"GET {base_url}/_fake/connections")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
