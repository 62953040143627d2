"""A WSGI wrapper that records every exchange with the Magento fake, and helpers to serve a
fake and connect the plugin to it (used by the Magento tests)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.kit_runner import TEST_SETTINGS
from shelfsync.core.testing.server import serving
from shelfsync.core.types import Connection
from shelfsync.plugins.magento.fake import MagentoFake


@dataclass
class Exchange:
    """One request and its answer."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    status: int
    answer: Any
    content_type: str


class Recorder:
    """Forwards to `app` and keeps every API exchange (not the `/_fake/` controls)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        request = Request(dict(environ))
        response = Response.from_app(self.app, environ)
        if not request.path.startswith("/_fake/"):
            self.exchanges.append(Exchange(
                request.method, request.path, parse_qsl(request.query_string.decode(),
                                                        keep_blank_values=True),
                _json(raw), response.status_code, _json(response.get_data()),
                request.headers.get("Content-Type", "")))
        return response(environ, start_response)


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def connection(fake: MagentoFake, base_url: str, **settings: Any) -> Connection:
    """A plugin connection to `fake` served at `base_url`."""
    return Connection(platform="magento", base_url=base_url,
                      credentials={"access_token": fake.access_token},
                      settings={**TEST_SETTINGS, **settings}, id=1, timeout=5.0)


@contextmanager
def served(fake: MagentoFake) -> Iterator[tuple[Recorder, str]]:
    """Serve `fake` behind a recorder; yields (recorder, base URL)."""
    recorder = Recorder(fake)
    with serving(recorder) as running:
        yield recorder, running.base_url
