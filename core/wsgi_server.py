"""The production WSGI server of `shelfsync run` and `shelfsync demo`: waitress.

Pure Python and cross-platform, so the embedded default still needs nothing else installed.
Werkzeug's development server is left to the fakes and tests. The body-size limit is enforced
by waitress itself, before the app runs: a request body (declared, or chunked and still
arriving) larger than the app's `MAX_CONTENT_LENGTH` is answered 413 without being buffered
to the end, and the app's own limit still applies to what gets through.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

#: Body limit when the app declares none (webhook bodies are small).
DEFAULT_MAX_BODY = 1024 * 1024
#: The Server header: no product version for a scanner to match.
SERVER_IDENT = "shelfsync"
#: How long the server loop's select() waits for a socket before it looks again (seconds).
#: Waitress reads this setting as an int, so a fraction (0.2) became 0: a select() that never
#: waited, one busy thread spinning at most of a core and taking the GIL from the workers and
#: the receiver (measured: `shelfsync run` idle used 0.54 s of CPU a second). Stopping does
#: not wait for it: the stop is run inside the loop through its trigger, which wakes select().
LOOP_TIMEOUT_SECONDS = 1


def server_options(threads: int, max_body: int) -> dict[str, Any]:
    """Waitress's settings for `serving_production` (tests check what waitress makes of
    them)."""
    return {
        "threads": threads,
        "max_request_body_size": max_body + 1,  # waitress refuses a body of this size or more
        "ident": SERVER_IDENT,
        "expose_tracebacks": False,
        "asyncore_loop_timeout": LOOP_TIMEOUT_SECONDS,
    }


@contextmanager
def serving_production(app: Any, host: str, port: int, *, threads: int = 8,
                       max_body: int | None = None) -> Iterator[str]:
    """Serve `app` with waitress in a background thread; yields `http://host:port` (the port
    actually bound, when 0 asked for any) and stops the server when the block ends.

    `max_body` defaults to the Flask app's `MAX_CONTENT_LENGTH`.
    """
    if max_body is None:
        max_body = int(getattr(app, "config", {}).get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BODY)
    server = create_server(app, host=host, port=port, **server_options(threads, max_body))
    effective_port = server.effective_port  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, name="shelfsync-web", daemon=True)
    thread.start()
    display_host = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{display_host}:{effective_port}"
    finally:
        # Closed from inside the server's own loop (a thunk its trigger runs there): closing
        # sockets under a running select() from this thread is a race.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:  # the trigger is gone already: nothing runs the loop; close here
            wasyncore.close_all(server._map, ignore_all=True)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
