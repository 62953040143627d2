"""The REST client base, over real HTTP against a small scripted server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import BadResponse, NotFound, PluginError, TransientError
from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.rest import RestClient, create_once
from shelfsync.core.testing.server import serving
from shelfsync.core.types import Connection


class Scripted:
    """Answers each path with the next scripted (status, body) and records requests."""

    def __init__(self, script: dict[str, list[tuple[int, Any]]]) -> None:
        self.script = script
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.created: list[Any] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append((request.method, request.path, dict(request.args)))
        if request.path == "/things" and request.method == "POST":
            self.created.append(request.get_json())
        answers = self.script[request.path]
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text, status=status, mimetype="application/json")(environ,
                                                                           start_response)


class Client(RestClient):
    platform = "scripted"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.connection.credentials['token']}"}

    def map_error(self, response: httpx.Response, payload: Any) -> PluginError | None:
        if response.status_code == 422 and payload == {"error": "unknown_sku"}:
            return NotFound("scripted: no such SKU", platform=self.platform)
        return None


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    servers: list[Any] = []

    def start(script: dict[str, list[tuple[int, Any]]]) -> tuple[Client, Scripted]:
        app = Scripted(script)
        server = serving(app)
        running = server.__enter__()
        servers.append(server)
        conn = Connection(platform="scripted", base_url=running.base_url,
                          credentials={"token": "t"},
                          settings={"retry_attempts": 3, "retry_backoff": 0.001})
        return Client(conn, sleep=lambda _: None), app

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def test_status_hook_maps_422_to_not_found_and_auth_header_is_sent(serve: Any) -> None:
    client, app = serve({"/sku": [(422, {"error": "unknown_sku"})]})
    with pytest.raises(NotFound):
        client.get("/sku")
    assert len(app.seen) == 1  # a NotFound is not retried


def test_unreadable_body_is_retried_then_bad_response(serve: Any) -> None:
    client, app = serve({"/x": [(200, '{"cut')]})
    with pytest.raises(BadResponse):
        client.get("/x")
    assert len(app.seen) == 3


def test_reads_are_retried_and_writes_are_not(serve: Any) -> None:
    client, app = serve({"/x": [(500, {}), (200, {"ok": True})],
                         "/w": [(500, {}), (200, {"ok": True})]})
    assert client.get("/x") == {"ok": True}
    with pytest.raises(TransientError):
        client.request("POST", "/w", json={})
    assert [m for m, path, _ in app.seen if path == "/w"] == ["POST"]


def test_missing_items_array_is_a_bad_answer_not_the_end(serve: Any) -> None:
    client, _ = serve({"/p": [(200, {"items": [1, 2]}), (200, {"nothing": True})]})
    pages = client.page_number_pages("/p", items="items", page_size=2)
    assert next(pages) == [1, 2]
    with pytest.raises(BadResponse, match="items"):
        next(pages)


def test_cursor_pages_follow_cursors_and_refuse_a_repeated_one(serve: Any) -> None:
    client, app = serve({"/c": [(200, {"rows": [1], "next": "a"}),
                                (200, {"rows": [2], "next": "b"}),
                                (200, {"rows": [3], "next": "a"})]})
    pages = client.cursor_pages("/c", items="rows", page_size=1, next_key="next")
    assert [next(pages), next(pages), next(pages)] == [[1], [2], [3]]
    with pytest.raises(BadResponse, match="cursor"):  # "a" again: a loop, not more data
        next(pages)
    assert [args.get("cursor") for _, _, args in app.seen] == [None, "a", "b"]


def test_create_once_finds_a_create_whose_answer_was_lost(serve: Any) -> None:
    # The create is applied but answered 502; the look-up before the retry finds it.
    client, app = serve({"/things": [(502, {})],
                         "/lookup": [(200, {"found": None}), (200, {"found": {"id": "T1"}})]})

    def find() -> Any:
        return client.get("/lookup")["found"]

    thing, created = create_once(find, lambda: client.request("POST", "/things", json={}),
                                 client.policy, sleep=lambda _: None)
    assert thing == {"id": "T1"} and created is False
    assert len(app.created) == 1


def test_create_once_after_the_callers_own_look_up_creates_at_once_then_looks_again(
        serve: Any) -> None:
    """`looked_up=True`: the caller's look-up found nothing, so the first attempt creates
    without a second look-up; the retry after a lost answer still looks first."""
    client, app = serve({"/things": [(502, {})],
                         "/lookup": [(200, {"found": {"id": "T1"}})]})
    looks: list[str] = []

    def find() -> Any:
        looks.append("look")
        return client.get("/lookup")["found"]

    thing, created = create_once(find, lambda: client.request("POST", "/things", json={}),
                                 client.policy, sleep=lambda _: None, looked_up=True)
    assert thing == {"id": "T1"} and created is False
    assert looks == ["look"] and len(app.created) == 1
