"""`shelfsync rules preview`: right answers, JSON shape, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from shelfsync.core.cli import cli


def preview(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["rules", "preview", *args])
    return result.exit_code, result.stdout, result.stderr


def preview_json(*args: str) -> dict[str, object]:
    code, out, err = preview(*args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    ("args", "quantity", "reason"),
    [
        (["--available", "100", "--percent", "90"], 90, "percent_of_available"),
        (["--available", "7", "--percent", "90"], 6, "percent_of_available"),
        (["--available", "5", "--threshold", "5"], 0, "at_or_below_threshold"),
        (["--available", "0", "--continue-selling"], 99_999, "continue_selling"),
        (
            ["--available", "3", "--threshold", "9", "--continue-selling"],
            99_999,
            "continue_selling",
        ),
        (
            ["--available", "3", "--continue-selling", "--no-honor-continue-selling"],
            3,
            "available",
        ),
        (["--available", "-4"], 0, "no_stock"),
        (["--available", "500000"], 99_999, "capped_at_maximum"),
        (["--location", "a=10", "--location", "b=-3"], 7, "available"),
        (["--location", "a=10", "--location", "b=50:inactive"], 10, "available"),
        (["--location", "a=10", "--location", "b=5", "--use-location", "b"], 5, "available"),
        (["--location", "a=1", "--location", "b=5:inactive", "--use-location", "b"], 0, "no_stock"),
    ],
)
def test_preview_answers(args: list[str], quantity: int, reason: str) -> None:
    decision = preview_json(*args)
    assert decision["quantity"] == quantity
    assert decision["reason"] == reason
    assert set(decision) == {"quantity", "reason", "explanation"}
    assert isinstance(decision["explanation"], str) and decision["explanation"]


def test_human_output_is_one_line() -> None:
    code, out, _ = preview("--available", "10", "--percent", "50")
    assert code == 0
    assert out.strip().startswith("5 ")
    assert out.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--available", "ten"], "--available"),
        (["--available", "10", "--percent", "101"], "--percent"),
        (["--available", "10", "--percent", "-5"], "--percent"),
        (["--available", "10", "--percent", "9.5"], "--percent"),
        (["--available", "10", "--threshold", "-1"], "--threshold"),
        (["--location", "a=x"], "--location a"),
        (["--location", "nope"], "--location"),
        (["--location", "a=1", "--use-location", "b"], "--use-location"),
        ([], "--available"),
        (["--available", "1", "--platform", "no-such-platform"], "--platform"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(args: list[str], field: str) -> None:
    code, out, err = preview(*args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"error: {field}")
    assert "Traceback" not in err


def test_unknown_option_is_one_line() -> None:
    code, _, err = preview("--bogus")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: No such option")


def test_console_script_runs_in_a_subprocess() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "shelfsync.core", "rules", "preview", "--available", "8", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["quantity"] == 8
