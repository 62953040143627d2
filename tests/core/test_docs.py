"""docs/plugin_hooks.md documents every hook, with the spec's own arguments and an example."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import os
import re
import subprocess
import sys
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


# --- argument tables and examples -----------------------------------------------------------

TABLE_ROW = re.compile(r"^\| `(\w+)` \| `([^`]+)` \| .+ \|$", re.MULTILINE)


@pytest.mark.parametrize("name", sorted(spec_arguments()))
def test_each_hook_tabulates_its_arguments_with_their_types(name: str) -> None:
    _, body = documented_sections().get(name, ([], ""))
    rows = dict(TABLE_ROW.findall(body.split("```")[0]))
    spec = inspect.signature(getattr(hookspecs, name)).parameters
    assert rows == {arg: str(p.annotation) for arg, p in spec.items()}, (
        f"{name}: the argument table differs from core/hookspecs.py")


def _examples() -> list[ast.Module]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [ast.parse(block) for block in blocks]


def _shelfsync_names() -> set[str]:
    from shelfsync.core import errors, hookspecs, http, plugins, rest, rules, types

    return {name for module in (errors, hookspecs, http, plugins, rest, rules, types)
            for name in vars(module)}


def test_examples_call_only_functions_that_exist() -> None:
    """Every function an example calls is a builtin, a Shelfsync export, defined in the doc,
    or (for `client.x(…)`) a method of the doc's client classes or of `RestClient`."""
    from shelfsync.core.rest import RestClient

    trees = _examples()
    defined = set(dir(builtins)) | _shelfsync_names() | {"hookimpl", "replace"}
    methods = set(dir(RestClient))
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                defined.add(node.name)
            if isinstance(node, ast.ClassDef):
                methods |= {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
            if isinstance(node, ast.Import | ast.ImportFrom):
                defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
                defined |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    modules = {"json", "hmac", "base64", "time", "logging"}
    unknown = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id not in defined:
                unknown.add(func.id)
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "client" and func.attr not in methods):
                unknown.add(f"client.{func.attr}")
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id in modules):
                assert hasattr(importlib.import_module(func.value.id), func.attr), func.attr
    assert not unknown, f"docs/plugin_hooks.md examples call what does not exist: {unknown}"


# --- writing_a_plugin.md ----------------------------------------------------------------------

GUIDE = DOC.parent / "writing_a_plugin.md"


def test_try_it_end_to_end_runs_verbatim(tmp_path: Path) -> None:
    """The guide's end-to-end section, run as written: fakes, db, org, store, shop, sync."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## 5. Try it end to end", 1)[1]
    script = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert script, "the end-to-end section has no sh block"
    bin_dir = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SHELFSYNC_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script.group(1)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "organization 1: demo" in run.stdout
    assert re.search(r"pushed [1-9]\d*, .*failed 0", run.stdout), run.stdout
    assert re.search(r"channel 1 \(tiktok .*errors 0", run.stdout), run.stdout


def test_layout_in_the_guide_matches_the_scaffold_and_the_builtins() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    root = DOC.parents[1]
    for module in ("plugin.py", "client.py", "mapping.py", "fake.py", "commands.py"):
        assert module in text
        assert (root / "plugins" / "shopify" / module).is_file()
        assert (root / "plugins" / "tiktok" / module).is_file()
    for role in ("store", "channel"):
        scaffold = root / "core" / "scaffold" / role / "acme_shelfsync"
        assert {"plugin.py", "client.py", "mapping.py", "fake.py"} <= {
            p.name for p in scaffold.iterdir()}
    assert (root / "core" / "scaffold" / "common" / "commands.py").is_file()
