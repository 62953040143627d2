"""The built wheel holds one top-level package, `shelfsync`, with every module of the tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {"core": "shelfsync/core", "plugins": "shelfsync/plugins", "web": "shelfsync/web"}


@pytest.fixture(scope="module")
def wheel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("shelfsync-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel_names(wheel_path: Path) -> set[str]:
    with zipfile.ZipFile(wheel_path) as archive:
        return set(archive.namelist())


def test_only_top_level_package_is_shelfsync(wheel_names: set[str]) -> None:
    tops = {name.split("/", 1)[0] for name in wheel_names}
    tops = {top for top in tops if not top.endswith(".dist-info")}
    assert tops == {"shelfsync"}


def test_every_source_module_is_in_the_wheel(wheel_names: set[str]) -> None:
    missing = []
    for folder, installed in MAPPING.items():
        for source in (ROOT / folder).rglob("*"):
            if "__pycache__" in source.parts or not source.is_file():
                continue
            if source.suffix in {".py", ".graphql", ".mako", ".ini", ".html", ".css", ".js"}:
                relative = source.relative_to(ROOT / folder).as_posix()
                if f"{installed}/{relative}" not in wheel_names:
                    missing.append(f"{folder}/{relative}")
    assert not missing, f"not packaged (add the package to pyproject.toml): {missing}"


def test_entry_points_declare_builtin_plugins_and_pytest_kit(wheel_path: Path) -> None:
    with zipfile.ZipFile(wheel_path) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(name).decode()
    assert "[shelfsync]" in text
    assert "shopify = shelfsync.plugins.shopify.plugin" in text
    assert "tiktok = shelfsync.plugins.tiktok.plugin" in text
    assert "[pytest11]" in text and "shelfsync.core.testing.pytest_plugin" in text
    assert "shelfsync = shelfsync.core.cli:main" in text


def test_plugin_scaffold_templates_are_in_the_wheel(wheel_names: set[str]) -> None:
    """`shelfsync plugin new` reads its templates from the installed package."""
    scaffold = ROOT / "core" / "scaffold"
    expected = {f"shelfsync/core/scaffold/{p.relative_to(scaffold).as_posix()}"
                for p in scaffold.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert expected and expected <= wheel_names, sorted(expected - wheel_names)
