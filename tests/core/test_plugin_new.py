"""`shelfsync plugin new` writes a package that installs and passes the contract kit as is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shelfsync.core.cli import cli


@pytest.mark.parametrize("role", ["store", "channel"])
def test_generated_plugin_installs_and_passes_the_kit(role: str, tmp_path: Path) -> None:
    name = f"gen{role}"
    result = CliRunner().invoke(cli, ["plugin", "new", name, "--role", role,
                                      "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / f"{name}-shelfsync"
    assert (package / f"{name}_shelfsync" / "commands.py").is_file()
    # Installed as a user would (offline, no dependencies fetched), into a folder of its own
    # so this test's interpreter never sees the plugin's entry point.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(package)], check=True, capture_output=True, timeout=120)
    assert list(target.glob(f"{name}_shelfsync-*.dist-info/entry_points.txt"))
    env = {**os.environ, "PYTHONPATH": str(target), "SHELFSYNC_PLUGINS": name}
    env.pop("PYTEST_ADDOPTS", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:logging", str(package / "tests")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout


def test_refuses_a_bad_name_and_an_existing_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["plugin", "new", "Bad-Name", "--role", "store",
                              "--dir", str(tmp_path)])
    assert bad.exit_code != 0 and "NAME must be" in bad.output
    assert runner.invoke(cli, ["plugin", "new", "twice", "--role", "store",
                               "--dir", str(tmp_path)]).exit_code == 0
    again = runner.invoke(cli, ["plugin", "new", "twice", "--role", "store",
                                "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in again.output
