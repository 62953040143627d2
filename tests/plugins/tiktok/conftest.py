"""Shared set-up of the TikTok tests: the fakes listen on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.testing.server import SwappableApp, serving


@pytest.fixture(autouse=True)
def _allow_loopback_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SSRF guard refuses loopback hosts (the fake as auth host, too) unless allowed;
    a test about the guard itself deletes the variable again."""
    if os.environ.get(ALLOW_PRIVATE_ENV) is None:
        monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SwappableApp, str]]:
    """One server per module (stopping one costs a poll interval) and its URL; each test
    mounts a fresh fake on it. Modules serving a fake directly define their own `server`."""
    mount = SwappableApp()
    with serving(mount) as running:
        yield mount, running.base_url
