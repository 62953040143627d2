"""Shared set-up of the Magento tests: the fakes listen on loopback."""

from __future__ import annotations

import os

import pytest

from shelfsync.core.http import ALLOW_PRIVATE_ENV


@pytest.fixture(autouse=True)
def _allow_loopback_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SSRF guard refuses loopback hosts unless allowed."""
    if os.environ.get(ALLOW_PRIVATE_ENV) is None:
        monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
