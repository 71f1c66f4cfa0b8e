"""An event's participant list as a spreadsheet: read from and written to .csv, .xlsx (or a
.json list), in the same columns as the contract (`Participant`'s fields); `availability`
and `requests` are ';'-separated ids in a cell.

Reading uses the project's table reader (`recommender.io.reading.table_cells`: UTF-8 with or
without BOM, our neutralised cells read back as written); every row is then checked like a
participant of a JSON event file (`validation.check_participants`). Writing neutralises cells
a spreadsheet would run as formulas (`safe_text.spreadsheet_cell`) and replaces the file
atomically.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from recommender.errors import InvalidInputError
from recommender.events.model import Event, Participant
from recommender.events.validation import CheckedParticipants, check_participants
from recommender.text.safe_text import spreadsheet_cell

COLUMNS: tuple[str, ...] = tuple(Participant.model_fields)
_LIST_COLUMNS = ("availability", "requests")
_TEXT_COLUMNS = ("profile",)
_XLSX_MAX_CELL_CHARS = 32_767


def _rows_from_table(path: Path) -> list[tuple[int, Any]]:
    from recommender.io.reading import table_cells

    cells = table_cells(path)
    if not cells:
        raise InvalidInputError(f"{path.name} خالی است؛ سطر اول باید نام ستون‌ها باشد")
    header = [h.strip() for h in cells[0]]
    names = [h for h in header if h]
    unknown = [h for h in names if h not in COLUMNS]
    if unknown:
        raise InvalidInputError(
            f"{path.name}: ستون «{unknown[0]}» شناخته نیست؛ ستون‌ها: {'، '.join(COLUMNS)}"
        )
    twice = sorted({h for h in names if names.count(h) > 1})
    if twice:
        raise InvalidInputError(f"{path.name}: ستون «{twice[0]}» دو بار آمده است")
    missing = [c for c in ("id", "kind", "name", "availability") if c not in names]
    if missing:
        raise InvalidInputError(f"{path.name}: ستون «{missing[0]}» لازم است")
    rows: list[tuple[int, Any]] = []
    for number, row in enumerate(cells[1:], start=2):
        if all(not c.strip() for c in row):
            continue
        values = {}
        for i, name in enumerate(header):
            if not name:
                continue
            text = row[i] if i < len(row) else ""
            if text.strip() or name in _TEXT_COLUMNS or name in _LIST_COLUMNS:
                values[name] = text
        rows.append((number, values))
    return rows


def read_participants(
    path: str | Path,
    event: Event,
    *,
    known_applications: Collection[str] | None = None,
    known_programs: Collection[str] | None = None,
) -> CheckedParticipants:
    """The participants of `path` (.csv, .xlsx, or a .json list), checked against `event`.

    Raises:
        InvalidInputError: the file cannot be used at all (one Persian line).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        from recommender.events.validation import read_event_json

        data = read_event_json(path)
        if not isinstance(data, list):
            raise InvalidInputError(f"{path.name} باید فهرستی JSON از شرکت‌کنندگان باشد")
        rows: list[tuple[int, Any]] = list(enumerate(data, start=1))
    elif suffix in (".csv", ".xlsx"):
        rows = _rows_from_table(path)
    else:
        raise InvalidInputError(f"{path.name}: نوع پرونده پشتیبانی نمی‌شود؛ .json، .csv یا .xlsx")
    return check_participants(
        event, rows, known_applications=known_applications, known_programs=known_programs
    )


def _flat(participant: Participant) -> list[Any]:
    values = []
    for name in COLUMNS:
        value = getattr(participant, name)
        if isinstance(value, list):
            value = ";".join(value)
        values.append("" if value is None else value)
    return values


def write_participants(path: str | Path, participants: Sequence[Participant]) -> int:
    """Write the participant list in the format of the extension (atomically).

    Returns:
        How many participants were written.

    Raises:
        InvalidInputError: another extension, or a profile too long for an Excel cell.
    """
    from recommender.reports.files import atomic_write, write_csv, write_json

    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        write_json(path, [p.model_dump(mode="json") for p in participants])
    elif suffix == ".csv":
        write_csv(path, COLUMNS, (_flat(p) for p in participants))
    elif suffix == ".xlsx":
        workbook = _workbook(participants)
        atomic_write(path, lambda tmp: workbook.save(tmp))
    else:
        raise InvalidInputError(f"{path.name}: نوع پرونده پشتیبانی نمی‌شود؛ .json، .csv یا .xlsx")
    return len(participants)


def _workbook(participants: Sequence[Participant]) -> Any:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "participants"
    sheet.sheet_view.rightToLeft = True
    sheet.append(list(COLUMNS))
    sheet.freeze_panes = "A2"
    for row, participant in enumerate(participants, start=2):
        values = [spreadsheet_cell(v) for v in _flat(participant)]
        for name, value in zip(COLUMNS, values, strict=True):
            if isinstance(value, str) and len(value) > _XLSX_MAX_CELL_CHARS:
                raise InvalidInputError(
                    f"ردیف {row}، فیلد «{name}» برای یک خانهٔ اکسل بلند است؛ .json یا .csv بگیرید"
                )
        sheet.append(values)
    return workbook
