"""Files staff give `peyvand round score`: pins and vetoes ((application_id, program_id)
pairs), province minimum seats (JSON or CSV), and the `--what-if` capacity text.

Every problem is an `InvalidInputError` naming the file, the row and what to write instead.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from recommender.errors import InvalidInputError, bilingual

__all__ = ["parse_what_if", "read_pairs", "read_province_minimums"]


def _rows_of(path: Path, what: str) -> list[Any]:
    if not path.is_file():
        raise InvalidInputError(
            bilingual(f"{what} file {path} does not exist", f"پروندهٔ {path} ({what}) نیست.")
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            bilingual(
                f"cannot read {what} file {path}: {exc}", f"پروندهٔ {path} ({what}) خوانده نشد."
            )
        ) from exc
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                bilingual(
                    f"{what} file {path} is not valid JSON (line {exc.lineno})",
                    f"پروندهٔ {path} ({what}) JSON درست نیست (سطر {exc.lineno}).",
                )
            ) from exc
        return data if isinstance(data, list) else [data]
    if suffix == ".csv":
        return list(csv.DictReader(text.splitlines()))
    raise InvalidInputError(
        bilingual(
            f"{what} file {path} must be .json or .csv",
            f"پروندهٔ {path} ({what}) باید json یا csv باشد.",
        )
    )


def read_pairs(path: str | Path, what: str = "pins") -> list[tuple[str, str]]:
    """(application_id, program_id) pairs from a JSON or CSV file.

    JSON: a list of `{"application_id": ..., "program_id": ...}` objects or of
    `[application_id, program_id]` pairs; CSV: a header with `application_id,program_id`.

    Raises:
        InvalidInputError: a missing or unreadable file, or a row without both ids.
    """
    path = Path(path)
    out: list[tuple[str, str]] = []
    for n, row in enumerate(_rows_of(path, what), start=1):
        if isinstance(row, dict):
            a, p = row.get("application_id"), row.get("program_id")
        elif isinstance(row, list | tuple) and len(row) == 2:
            a, p = row
        else:
            a = p = None
        if a in (None, "") or p in (None, ""):
            raise InvalidInputError(
                f"{what} file {path}, row {n}: give both application_id and program_id"
            )
        out.append((str(a).strip(), str(p).strip()))
    return out


def read_province_minimums(path: str | Path) -> dict[Any, int]:
    """Province minimum seats from a JSON or CSV file.

    JSON: `{"تهران": 5}` (at least 5 residencies over all programs) or a list of
    `{"province": ..., "program_id": ... (optional), "min_seats": n}`; CSV: a header with
    `province,program_id,min_seats` (program_id may be empty).

    Returns:
        `{province: n}` and `{(province, program_id): n}` entries.

    Raises:
        InvalidInputError: a missing or unreadable file or a bad row.
    """
    path = Path(path)
    rows = _rows_of(path, "province minimums")
    if len(rows) == 1 and isinstance(rows[0], dict) and "min_seats" not in rows[0]:
        rows = [{"province": k, "min_seats": v} for k, v in rows[0].items()]
    out: dict[Any, int] = {}
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise InvalidInputError(f"province minimums file {path}, row {n}: not an object")
        province = str(row.get("province") or "").strip()
        program = str(row.get("program_id") or "").strip()
        try:
            value = int(str(row.get("min_seats", "")).strip())
        except ValueError:
            value = -1
        if not province or value < 0:
            raise InvalidInputError(
                f"province minimums file {path}, row {n}: give a province and min_seats >= 0"
            )
        out[(province, program) if program else province] = value
    return out


_WHAT_IF_ITEM = re.compile(r"^\s*([^:;]+?)\s*:\s*(.+?)\s*$")


def parse_what_if(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """`"P-12:seats=5,budget=2000000000;P-3:seats=0"` -> (seats, budget) by program id.

    Values are absolute (not changes); `_` may group digits (`2_000_000_000`).

    Raises:
        InvalidInputError: text that does not follow the form.
    """
    seats: dict[str, int] = {}
    budget: dict[str, int] = {}
    parts = [p for p in text.split(";") if p.strip()]
    if not parts:
        raise InvalidInputError(
            bilingual(
                "--what-if is empty; write e.g. 'P-12:seats=5,budget=2000000000'",
                "--what-if خالی است؛ برای نمونه بنویسید P-12:seats=5,budget=2000000000",
            )
        )
    for part in parts:
        match = _WHAT_IF_ITEM.match(part)
        if not match:
            raise InvalidInputError(
                bilingual(
                    f"cannot read what-if item '{part.strip()}'; write "
                    "PROGRAM:seats=N,budget=RIAL",
                    f"بخش «{part.strip()}» از سناریو خوانده نشد؛ به شکل "
                    "PROGRAM:seats=N,budget=RIAL بنویسید.",
                )
            )
        program, settings = match.groups()
        for setting in settings.split(","):
            key, _, value = setting.partition("=")
            key, value = key.strip().lower(), value.strip().replace("_", "")
            if key not in ("seats", "budget") or not value.isdigit():
                raise InvalidInputError(
                    bilingual(
                        f"cannot read '{setting.strip()}' for program {program}; use seats=N or "
                        "budget=RIAL with whole numbers >= 0",
                        f"«{setting.strip()}» برای برنامهٔ {program} خوانده نشد؛ seats=N یا "
                        "budget=RIAL با عدد صحیح نامنفی بنویسید.",
                    )
                )
            (seats if key == "seats" else budget)[program] = int(value)
    return seats, budget
