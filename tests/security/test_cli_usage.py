"""CLI usage errors: one Persian line naming the problem and the usage, exit 2, never a
traceback.

typer ships its own copy of click, so these are recognised by behaviour, not by class."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main

CASES = [
    (["nosuchcommand"], "nosuchcommand"),
    (["programs", "imprt", "x.json"], "imprt"),
    (["--bogus", "init"], "--bogus"),
    (["recommend", "--top", "notanumber", "plan.txt"], "--top"),
    (["programs", "import"], "file"),  # a missing argument
]


@pytest.mark.parametrize(("args", "named"), CASES)
def test_usage_error_is_one_line_and_exit_2(
    args: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code = main(["--home", str(tmp_path / "home"), *args])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert named in lines[0]
    assert lines[0].startswith("خطا: ") and "شکل درست: \u2068peyvand" in lines[0]
    assert not re.search(r"\b(Error|Usage|No such|Missing|Invalid)\b", lines[0])


def test_console_script_usage_error_has_no_traceback(tmp_path: Path):
    # The installed entry point goes through the same main().
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())",
         "--home", str(tmp_path / "home"), "programs", "imprt", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_arguments_prints_help_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.chdir(tmp_path)
    code = main([])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Usage: peyvand" in out + err
    assert "Traceback" not in err and "error:" not in err


def test_options_without_a_command_is_one_usage_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code = main(["--home", str(tmp_path / "home")])
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "فرمانی نام نبردید" in err
