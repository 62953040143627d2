"""Shelfsync's pytest plugin: fixtures for testing platform plugins against their fakes.

Installed with Shelfsync through the `pytest11` entry point, so a plugin's own test suite gets
these fixtures without importing anything:

- `plugin_manager`: a fresh `get_plugin_manager()` (entry points loaded, hooks checked).
- `run_fake`: a factory, `run_fake(platform, *, settings=None, timeout=2.0, **fake_options)`,
  that serves the platform's fake on an ephemeral port and returns a `RunningFake` (its
  `base_url`, the `fake` instance, `connections` with tiny retry backoffs and short timeouts,
  and helpers for the `/_fake/` control API). Every fake it started stops after the test.

The contract suite itself is `shelfsync.core.testing.kit.PluginContract`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.testing.kit_runner import RunningFake, start_fake


@pytest.fixture
def plugin_manager() -> ShelfsyncPluginManager:
    """A plugin manager with every installed plugin loaded."""
    return get_plugin_manager()


@pytest.fixture
def run_fake(
    plugin_manager: ShelfsyncPluginManager, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., RunningFake]]:
    """Start any platform's fake: `run_fake("shopify", products=5)`."""
    # Fakes listen on loopback, which the SSRF guard refuses unless told otherwise.
    if os.environ.get(ALLOW_PRIVATE_ENV) is None:
        monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with ExitStack() as stack:

        def start(platform: str, **options: Any) -> RunningFake:
            return stack.enter_context(start_fake(plugin_manager, platform, **options))

        yield start
