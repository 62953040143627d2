"""A missing service fails the test in CI and skips it elsewhere."""

from __future__ import annotations

import pytest

from shelfsync.core.testing.environment import in_ci, unavailable


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_in_ci_fails(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match="CI=true and Redis not reachable"):
        unavailable("Redis not reachable")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_elsewhere_skips(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="Redis not reachable"):
        unavailable("Redis not reachable")
