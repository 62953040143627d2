"""Where tests run: in CI a missing service or reference file fails, elsewhere it skips.

One rule for every test that needs something outside the process (PostgreSQL, Redis,
RabbitMQ, the reference schemas beside the checkout), so none of them can skip silently in CI.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Whether the `CI` environment variable says this is a CI run (`true`, `1`, `yes`)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Fail the test in CI, where everything must be there; skip it with `reason` elsewhere."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)
