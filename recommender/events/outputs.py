"""The files of a schedule (`peyvand events schedule EVENT --out DIR`), and reading a previous
one back to re-schedule after a cancellation.

- schedule.csv: `slot_id, table, participant_a, participant_b, kind, score`, one meeting a
  line (UTF-8 with BOM; cells never formulas);
- summary.json: `result.summary` (optimal, gap, requests met by kind, meetings per
  participant, the levels of the solve, the fairness rule);
- schedule.xlsx: `workbook.write_schedule_xlsx`;
- agendas/<participant id>.ics: one calendar per participant (`calendar.agenda_ics`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from recommender.errors import InvalidInputError
from recommender.events.problem import MeetingKey, pair_key
from recommender.events.result import Meeting, Schedule, summary
from recommender.text.safe_text import unneutralise_cell

CSV_COLUMNS: tuple[str, ...] = (
    "slot_id",
    "table",
    "participant_a",
    "participant_b",
    "kind",
    "score",
)


def write_outputs(schedule: Schedule, out_dir: str | Path) -> dict[str, Any]:
    """Write every file of the schedule into `out_dir` (created; files replaced atomically).

    Returns:
        The summary written to summary.json.

    Raises:
        InvalidInputError: the folder cannot be written.
    """
    from recommender.events.calendar import agenda_ics
    from recommender.events.workbook import write_schedule_xlsx
    from recommender.reports.files import ensure_writable, write_csv, write_json, write_text

    try:
        out = ensure_writable(out_dir)
    except InvalidInputError:
        raise InvalidInputError(f"در پوشهٔ «{out_dir}» نمی‌توان نوشت") from None
    rows = [
        (m.slot_id, m.table, m.participant_a, m.participant_b, m.kind, f"{m.score:.4f}")
        for m in schedule.meetings
    ]
    write_csv(out / "schedule.csv", CSV_COLUMNS, rows)
    facts = summary(schedule)
    write_json(out / "summary.json", facts)
    write_schedule_xlsx(out / "schedule.xlsx", schedule, facts)
    agendas = out / "agendas"
    agendas.mkdir(exist_ok=True)
    people = schedule.problem.participants
    names = {pid: p.name for pid, p in people.items()}
    for pid, person in people.items():
        text = agenda_ics(schedule.event, person, schedule.agenda(pid), names)
        write_text(agendas / f"{pid}.ics", text)
    return facts


def read_meetings(folder: str | Path) -> list[Meeting]:
    """The meetings of a schedule.csv written by `write_outputs`, in file order (slot, table).

    Raises:
        InvalidInputError: no readable schedule.csv in `folder` (one Persian line).
    """
    path = Path(folder) / "schedule.csv"
    if not path.is_file():
        raise InvalidInputError(f"برنامهٔ قبلی پیدا نشد: {path} وجود ندارد")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error):
        raise InvalidInputError(f"{path} خوانا نیست (CSV با کدگذاری UTF-8)") from None
    meetings: list[Meeting] = []
    for number, record in enumerate(records, start=2):
        try:
            a = unneutralise_cell(record["participant_a"].strip())
            b = unneutralise_cell(record["participant_b"].strip())
            slot = unneutralise_cell(record["slot_id"].strip())
            table = int(record["table"])
            kind = unneutralise_cell((record.get("kind") or "suggestion").strip())
            score = float(record.get("score") or 0.0)
        except (KeyError, AttributeError, TypeError, ValueError):
            raise InvalidInputError(f"{path}: ردیف {number} یک جلسهٔ خوانا نیست") from None
        x, y = pair_key(a, b)
        meetings.append(Meeting(slot, table, x, y, kind, score))
    return meetings


def read_previous(folder: str | Path) -> tuple[list[MeetingKey], dict[MeetingKey, int]]:
    """The meetings of a previous schedule.csv and their tables (`read_meetings`).

    Raises:
        InvalidInputError: no readable schedule.csv in `folder` (one Persian line).
    """
    meetings: list[MeetingKey] = []
    tables: dict[MeetingKey, int] = {}
    for m in read_meetings(folder):
        key = (m.participant_a, m.participant_b, m.slot_id)
        meetings.append(key)
        tables[key] = m.table
    return meetings, tables
