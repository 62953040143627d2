"""docs/plugin_hooks.md documents every hook, with the spec's own arguments and an example."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from shelfsync.core import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"
HEADING = re.compile(r"^### (shelfsync_\w+)\(([^)]*)\)\s*$", re.MULTILINE)


def spec_arguments() -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(function).parameters)
        for name, function in vars(hookspecs).items()
        if name.startswith("shelfsync_") and callable(function)
    }


def documented_sections() -> dict[str, tuple[list[str], str]]:
    text = DOC.read_text(encoding="utf-8")
    matches = list(HEADING.finditer(text))
    sections = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        arguments = [a.strip() for a in match.group(2).split(",") if a.strip()]
        sections[match.group(1)] = (arguments, text[match.end() : end])
    return sections


def test_every_hook_is_documented() -> None:
    missing = sorted(set(spec_arguments()) - set(documented_sections()))
    assert not missing, f"hooks missing from docs/plugin_hooks.md: {missing}"


def test_no_documented_hook_is_gone() -> None:
    stale = sorted(set(documented_sections()) - set(spec_arguments()))
    assert not stale, f"docs/plugin_hooks.md documents hooks that no longer exist: {stale}"


@pytest.mark.parametrize("name", sorted(spec_arguments()))
def test_documented_arguments_match_the_spec(name: str) -> None:
    documented, _ = documented_sections().get(name, (None, ""))
    assert documented == spec_arguments()[name]


@pytest.mark.parametrize("name", sorted(spec_arguments()))
def test_each_hook_has_an_example(name: str) -> None:
    _, body = documented_sections().get(name, ([], ""))
    assert "```python" in body, f"{name} has no example"
    assert f"def {name}(" in body, f"{name}'s example does not implement it"


@pytest.mark.parametrize("name", sorted(spec_arguments()))
def test_each_spec_has_a_docstring_saying_returns_and_firstresult(name: str) -> None:
    function = getattr(hookspecs, name)
    doc = inspect.getdoc(function) or ""
    assert "Returns" in doc and "Receives" in doc, f"{name}'s docstring must say both"
    marker = getattr(function, "shelfsync_spec", {})
    kind = "firstresult" if marker.get("firstresult") else "Collect-all"
    assert kind in doc, f"{name}'s docstring must say it is {kind}"
