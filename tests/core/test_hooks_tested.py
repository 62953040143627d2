"""Every hook an installed plugin implements is exercised by some test (datasette's rule).

A hook nobody implements yet is listed in NOT_IMPLEMENTED_YET; the list must stay exact, so
implementing one without a test, or leaving a stale entry, fails here.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from shelfsync.core import hookspecs
from shelfsync.core.plugins import get_plugin_manager

TESTS = Path(__file__).resolve().parents[1]
META_TESTS = {"test_docs.py", "test_hooks_tested.py"}
NOT_IMPLEMENTED_YET: set[str] = set()


def hook_names() -> list[str]:
    return sorted(
        name
        for name, obj in vars(hookspecs).items()
        if name.startswith("shelfsync_") and inspect.isfunction(obj)
    )


def all_test_source() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in TESTS.rglob("test_*.py")
        if path.name not in META_TESTS
    )


def test_not_implemented_list_is_exact() -> None:
    pm = get_plugin_manager()
    unimplemented = {name for name in hook_names() if not getattr(pm.hook, name).get_hookimpls()}
    assert unimplemented <= NOT_IMPLEMENTED_YET | {"shelfsync_adjust_decision"}
    assert unimplemented >= NOT_IMPLEMENTED_YET, "implemented now: remove from the list and test it"


def test_every_implemented_hook_has_a_test() -> None:
    source = all_test_source()
    untested = [
        name for name in hook_names() if name not in NOT_IMPLEMENTED_YET and name not in source
    ]
    assert not untested, f"hooks no test exercises: {untested}"
