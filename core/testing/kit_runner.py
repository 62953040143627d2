"""Serve any plugin's fake on an ephemeral port, with connections to it and its control API.

Used by the contract kit's fixtures and by code outside pytest (benchmarks, the demo): the
fake is found through the `shelfsync_fake_factory` hook, so core names no plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.server import RunningServer, start_server
from shelfsync.core.types import Connection

#: Settings every kit connection gets: tiny backoffs keep fault tests fast.
TEST_SETTINGS: Mapping[str, Any] = {
    "retry_backoff": 0.01,
    "retry_max_backoff": 0.25,
    "retry_attempts": 4,
}
#: Seconds a kit connection waits for a response; the timeout fault sleeps past it.
TEST_TIMEOUT = 2.0
_RESERVED_KEYS = {"name", "credentials", "settings", "base_url", "platform"}


def fake_factory(pm: ShelfsyncPluginManager, platform: str) -> Callable[..., Any]:
    """The fake factory a plugin offers for `platform`, or a clear KeyError."""
    factories = dict(pm.hook.shelfsync_fake_factory())
    if platform not in factories:
        known = ", ".join(sorted(factories)) or "none"
        raise KeyError(f"no fake for platform {platform!r} (fakes: {known})")
    return factories[platform]


@dataclass
class RunningFake:
    """A fake served on 127.0.0.1, with connections to it and its `/_fake/` control API."""

    platform: str
    fake: Any
    server: RunningServer
    connections: list[Connection] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return self.server.base_url

    @property
    def connection(self) -> Connection:
        """The first connection the fake offers."""
        return self.connections[0]

    def control(self, method: str, name: str, payload: Mapping[str, Any] | None = None) -> Any:
        """Call `/_fake/<name>` over HTTP and return its JSON answer."""
        with httpx.Client(base_url=self.base_url, timeout=10.0) as client:
            response = client.request(method, f"/_fake/{name}", json=payload)
        response.raise_for_status()
        return response.json()

    def inject_fault(self, kind: str, count: int = 1, path: str = "",
                     seconds: float | None = None, after: int = 0) -> None:
        """Make the next `count` API requests (after skipping `after`) fail with `kind` (see
        core/testing/fakes.py; `lost` hits writes only, after applying them)."""
        body: dict[str, Any] = {"kind": kind, "count": count, "path": path, "after": after}
        if seconds is not None:
            body["seconds"] = seconds
        self.control("POST", "faults", body)

    def pending_faults(self) -> int:
        """Injected faults that have not fired yet."""
        return int(self.control("GET", "faults")["pending"])

    def throttled(self) -> int:
        """Requests the platform's own throttle refused since the last reset."""
        return int(self.control("GET", "requests").get("throttled", 0))

    def clear_faults(self) -> None:
        """Drop any pending fault."""
        self.control("DELETE", "faults")

    def request_count(self) -> int:
        """API requests the fake has answered since the last reset."""
        return int(self.control("GET", "requests")["count"])

    def reset_requests(self) -> None:
        """Start counting API requests from zero."""
        self.control("DELETE", "requests")

    def webhook_sample(self, options: Mapping[str, Any] | None = None) -> tuple[dict[str, str],
                                                                              bytes]:
        """A correctly signed webhook from the fake: (headers, raw body)."""
        sample = self.control("POST", "webhook-sample", dict(options or {}))
        return dict(sample["headers"]), str(sample["body"]).encode("utf-8")

    def with_settings(self, **settings: Any) -> Connection:
        """The first connection with extra settings (page size, API version …)."""
        base = self.connection
        return Connection(
            platform=base.platform, base_url=base.base_url, credentials=base.credentials,
            settings={**base.settings, **settings}, id=base.id, timeout=base.timeout,
            platform_id=base.platform_id,
        )

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()


def _connection(entry: Mapping[str, Any], platform: str, base_url: str, index: int,
                settings: Mapping[str, Any], timeout: float) -> Connection:
    """A `Connection` from one `/_fake/connections` entry.

    Keys other than name/credentials/settings/base_url (a shop id, a cipher …) are passed to
    the plugin as settings, so a fake can tell its plugin whatever it needs to connect.
    """
    extra = {k: v for k, v in entry.items() if k not in _RESERVED_KEYS}
    url = str(entry.get("base_url") or "")
    return Connection(
        platform=str(entry.get("platform") or platform),
        base_url=url if url.startswith(("http://", "https://")) else base_url + url,
        credentials={str(k): str(v) for k, v in dict(entry.get("credentials") or {}).items()},
        settings={**TEST_SETTINGS, **extra, **dict(entry.get("settings") or {}), **settings},
        id=index + 1,
        timeout=timeout,
    )


@contextmanager
def start_fake(
    pm: ShelfsyncPluginManager,
    platform: str,
    *,
    settings: Mapping[str, Any] | None = None,
    timeout: float = TEST_TIMEOUT,
    **options: Any,
) -> Iterator[RunningFake]:
    """Serve `platform`'s fake (built with `options`) until the block ends."""
    fake = fake_factory(pm, platform)(**options)
    running = RunningFake(platform, fake, start_server(fake))
    try:
        entries = running.control("GET", "connections")
        running.connections = [
            _connection(entry, platform, running.base_url, i, settings or {}, timeout)
            for i, entry in enumerate(entries)
        ]
        if not running.connections:
            raise AssertionError(f"the {platform} fake offers no connections")
        yield running
    finally:
        running.stop()
