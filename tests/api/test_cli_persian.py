"""The command line speaks Persian: errors keep their detail, messages already Persian pass
through, usage errors name what was typed (api/cli/say.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main
from api.cli.say import error_line, wording
from api.messages import persian
from recommender.errors import (
    ImportValidationError,
    InvalidInputError,
    NotFoundError,
    RowError,
    bilingual,
)


def test_an_error_without_persian_wording_keeps_its_detail() -> None:
    line = error_line(InvalidInputError("frobnicator jammed at step 3"))
    assert line.startswith("خطا: داده‌های فرستاده‌شده درست نیستند.")
    assert "frobnicator jammed at step 3" in line


def test_bilingual_and_persian_messages_are_said_as_written() -> None:
    assert error_line(InvalidInputError(bilingual("bad thing", "چیز بدی شد"))) == "خطا: چیز بدی شد"
    # a Persian sentence holding a path or an option name is still Persian
    said = "پروندهٔ /tmp/plans/a-plan.txt نیست"
    assert persian(said) == said and wording(said) == said
    assert error_line(NotFoundError("no application with id 'x1'")) == (
        "خطا: درخواستی با شناسهٔ «\u2068x1\u2069» پیدا نشد."
    )


def test_import_errors_list_every_row_in_persian() -> None:
    exc = ImportValidationError(
        [RowError(2, "funding_min", "must not be negative"), RowError(5, "id", "is required")]
    )
    lines = error_line(exc).splitlines()
    assert lines[0] == "خطا: ۲ ردیف نادرست است؛ هیچ ردیفی وارد نشد."
    assert lines[1] == "  ردیف ۲، ستون «\u2068funding_min\u2069»: نباید منفی باشد."
    assert lines[2].startswith("  ردیف ۵، ستون «\u2068id\u2069»:")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["programs", "imprt"],
            "فرمانی به نام «\u2068imprt\u2069» نیست. شاید «\u2068import\u2069»؟",
        ),
        (["--bogus", "init"], "گزینهٔ «\u2068--bogus\u2069» وجود ندارد."),
        (["recommend", "--top", "many"], "مقدار «\u2068--top\u2069» درست نیست: یک عدد درست"),
        (["programs", "import"], "ورودی «\u2068file\u2069» را بدهید."),
    ],
)
def test_usage_errors_in_persian(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(tmp_path / "h"), *args]) == 2
    assert said in capsys.readouterr().err


def test_success_lines_use_persian_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(tmp_path / "h"), "init"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("پوشهٔ پیوند: ") and "پایگاه داده: " in out
