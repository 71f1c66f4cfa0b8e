"""Writing committee files safely: the output folder checked once, every file written
through a temporary file and renamed (no half files), CSV cells never formulas."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from recommender.errors import InvalidInputError, bilingual
from recommender.text.safe_text import spreadsheet_cell


def ensure_writable(out_dir: str | Path) -> Path:
    """Create `out_dir` if needed and check that files can be written there.

    Raises:
        InvalidInputError: one line saying why the folder cannot be used.
    """
    path = Path(out_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise InvalidInputError(
            bilingual(
                f"cannot write the reports to {path}: it is a file, not a folder",
                f"گزارش‌ها در {path} نوشته نشد: این یک پرونده است، نه پوشه.",
            )
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-", delete=True):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInputError(
            bilingual(
                f"cannot write the reports to {path}: {reason}",
                f"گزارش‌ها در {path} نوشته نشد ({reason}).",
            )
        ) from exc
    return path


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename (no half files)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A UTF-8 CSV with a byte-order mark (spreadsheets then show Persian right)."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            # Ids and names come from imports and applicants: never let a cell be a formula.
            writer.writerows([spreadsheet_cell(v) for v in row] for row in rows)

    return atomic_write(path, write)


def write_json(path: Path, data: Any) -> Path:
    """`data` as indented UTF-8 JSON (Persian left readable)."""

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    return atomic_write(path, write)


def write_text(path: Path, text: str) -> Path:
    """`text` as a UTF-8 file."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)
