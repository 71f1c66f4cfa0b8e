"""Write the data contracts (programs, applications, rounds, outcomes) as JSON, CSV or XLSX,
chosen by the file extension, in the form `recommender.io.reading` reads back: list fields
';'-separated in CSV/XLSX cells, a round's programs as `program_id:seats:budget`. Cells that a
spreadsheet would run as a formula are neutralised; files are replaced atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from recommender import schemas
from recommender.errors import InvalidInputError
from recommender.io.reading import detect_format, model_for
from recommender.text.safe_text import spreadsheet_cell

XLSX_MAX_CELL_CHARS = 32_767  # Excel's limit per cell

# Columns written for each kind (a round's program_ids are derived from `programs`).
_EXCLUDE: dict[str, set[str]] = {"rounds": {"program_ids"}}
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def record_to_json(kind: str, item: BaseModel) -> dict[str, Any]:
    """One record as the JSON export writes it."""
    return item.model_dump(mode="json", exclude=_EXCLUDE.get(kind))


def _columns(kind: str) -> list[str]:
    return [n for n in model_for(kind).model_fields if n not in _EXCLUDE.get(kind, set())]


def _flat(kind: str, item: BaseModel) -> dict[str, Any]:
    """One record with typed scalars and lists joined by ';' (the CSV/XLSX form)."""
    out: dict[str, Any] = {}
    for name in _columns(kind):
        value = getattr(item, name)
        if kind == "rounds" and name == "programs":
            value = ";".join(_round_program_cell(p) for p in value)
        elif isinstance(value, list):
            value = ";".join(str(v) for v in value)
        out[name] = value
    return out


def _round_program_cell(part: schemas.RoundProgram) -> str:
    if part.seats is None and part.budget is None:
        return part.program_id
    seats = "" if part.seats is None else str(part.seats)
    if part.budget is None:
        return f"{part.program_id}:{seats}"
    return f"{part.program_id}:{seats}:{part.budget}"


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return spreadsheet_cell(value) if isinstance(value, str) else str(value)


def write_records(path: str | Path, kind: str, items: Sequence[BaseModel]) -> int:
    """Write records in the format of the extension (replacing the file atomically).

    Args:
        path: a .json, .csv (UTF-8 with BOM, so Excel shows Persian) or .xlsx file.
        kind: programs, applications, rounds, outcomes or orgs (houses).
        items: the records.

    Returns:
        The number of records written.

    Raises:
        InvalidInputError: unknown extension, or a text Excel cannot hold (XLSX only).
    """
    path = Path(path)
    fmt = detect_format(path)
    model_for(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == ".json":
        payload = json.dumps([record_to_json(kind, i) for i in items], ensure_ascii=False, indent=2)
        _atomic_write(path, lambda f: f.write((payload + "\n").encode("utf-8")))
    elif fmt == ".csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(_columns(kind))
        for item in items:
            writer.writerow([_csv_text(v) for v in _flat(kind, item).values()])
        _atomic_write(path, lambda f: f.write(buffer.getvalue().encode("utf-8-sig")))
    else:
        workbook = _xlsx_workbook(kind, items)
        _atomic_write(path, workbook.save)
    return len(items)


def _xlsx_workbook(kind: str, items: Sequence[BaseModel]) -> Any:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = kind
    sheet.append(_columns(kind))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row_number, item in enumerate(items, start=2):
        values = [spreadsheet_cell(v) for v in _flat(kind, item).values()]
        for name, value in zip(_columns(kind), values, strict=True):
            if isinstance(value, str):
                if len(value) > XLSX_MAX_CELL_CHARS:
                    raise InvalidInputError(
                        f"row {row_number}, field '{name}' has {len(value)} characters; an Excel "
                        f"cell holds at most {XLSX_MAX_CELL_CHARS}: export to .json or .csv"
                    )
                if _ILLEGAL_XLSX.search(value):
                    raise InvalidInputError(
                        f"row {row_number}, field '{name}' holds control characters that Excel "
                        "cannot store: export to .json or .csv"
                    )
        sheet.append(values)
    return workbook


def _atomic_write(path: Path, write: Callable[[Any], Any]) -> None:
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
