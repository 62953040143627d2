"""Run a WSGI app (a fake, or the Shelfsync web app) on 127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


class SwappableApp:
    """A WSGI app that forwards to whatever `app` is mounted now.

    Stopping a server costs up to a poll interval, so a test module can serve one of these
    for all its tests and mount a fresh fake in each.
    """

    def __init__(self, app: Any = None) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            raise RuntimeError("no app is mounted")
        return self.app(environ, start_response)


@dataclass
class RunningServer:
    """A server running in a background thread."""

    app: Any
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_server(app: Any, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `app` threaded on `host:port` (0 = any free port) from a daemon thread."""
    server = make_server(host, port, app, threaded=True)
    server.daemon_threads = True  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="wsgi-server", daemon=True
    )
    thread.start()
    return RunningServer(app, server, thread)


@contextmanager
def serving(app: Any) -> Iterator[RunningServer]:
    """Context manager form of `start_server`."""
    running = start_server(app)
    try:
        yield running
    finally:
        running.stop()
