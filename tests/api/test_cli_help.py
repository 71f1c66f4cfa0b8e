"""`peyvand --help` speaks Persian: every command's summary, every option's help and typer's
panel titles. Only typer's own "Usage:" line and its `--help` line stay English (hard-coded
in its copy of click)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.cli import main

PERSIAN = re.compile(r"[\u0600-\u06FF]")
# three English words in a row: a sentence, not a name (option names, ids, file names and
# example commands are single tokens or start with `peyvand`)
ENGLISH_RUN = re.compile(r"(?<![\w.-])[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}(?![\w-])")
COMMAND_ROW = re.compile(r"^│ (\S+)\s{2,}(\S.*?)\s*│$")
TYPER_OWN = ("Usage:", "Show this message and exit.")


def _help(args: list[str], home: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--home", str(home), *args, "--help"]) == 0
    return capsys.readouterr().out


def _commands(text: str) -> dict[str, str]:
    """The rows of the commands panel: name -> summary."""
    rows: dict[str, str] = {}
    panel = text.split("─ فرمان‌ها ", 1)
    if len(panel) == 1:
        return rows
    for line in panel[1].splitlines()[1:]:
        if line.startswith("╰"):
            break
        found = COMMAND_ROW.match(line)
        if found:
            rows[found.group(1)] = found.group(2)
    return rows


def _english_sentences(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not any(own in line for own in TYPER_OWN)]
    runs = ENGLISH_RUN.findall("\n".join(lines))
    return [run for run in runs if not run.startswith("peyvand ")]


def test_every_help_page_is_persian(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")  # one row per command: no wrapped summaries
    home = tmp_path / "h"
    pending: list[list[str]] = [[]]
    seen = 0
    while pending:
        args = pending.pop()
        text = _help(args, home, capsys)
        seen += 1
        where = " ".join(["peyvand", *args, "--help"])
        assert "گزینه‌ها" in text and "Options" not in text, where
        assert "Commands" not in text and "Arguments" not in text, where
        assert _english_sentences(text) == [], where
        for name, summary in _commands(text).items():
            assert PERSIAN.search(summary), f"{where}: {name}: {summary}"
            pending.append([*args, name])
    # the root, its 17 entries and the commands of its groups
    assert seen >= 38


def test_the_root_lists_its_groups_with_persian_summaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    text = _help([], tmp_path / "h", capsys)
    commands = _commands(text)
    assert {"init", "recommend", "programs", "round", "users", "events"} <= set(commands)
    assert commands["recommend"].startswith("رتبه‌بندی برنامه‌ها")
    assert "[متغیر محیطی: PEYVAND_HOME]" in text  # typer's label, in Persian
