"""schedule.xlsx: the schedule in Persian for organisers: right-to-left sheets with frozen
Persian headers, a summary, one sheet per slot (who sits at which table) and one agenda sheet
per participant; the Jalali date; user text never a formula (`reports.xlsx.rtl_sheet`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recommender.events.model import (
    MEETING_KIND_LABELS_FA,
    PARTICIPANT_KIND_LABELS_FA,
    Participant,
)
from recommender.events.result import FAIRNESS_RULE_FA, Schedule
from recommender.text.persian import format_jalali

_SHEET_BAD = re.compile(r"[\[\]:*?/\\']")
_SLOT_HEADERS = ("میز", "شرکت‌کنندهٔ اول", "شرکت‌کنندهٔ دوم", "نوع دیدار", "تناسب")
_AGENDA_HEADERS = ("بازه", "ساعت", "میز", "دیدار با", "نوع طرف", "نوع دیدار", "تناسب")


def _title(text: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", text)[:28] or "sheet"
    title, n = base, 2
    while title.lower() in used:
        title = f"{base[:25]}~{n}"
        n += 1
    used.add(title.lower())
    return title


def write_schedule_xlsx(path: Path, schedule: Schedule, facts: Mapping[str, Any]) -> Path:
    """Write schedule.xlsx (atomically).

    Args:
        facts: the summary (`result.summary`).
    """
    from openpyxl import Workbook

    from recommender.reports.files import atomic_write
    from recommender.reports.xlsx import rtl_sheet

    event = schedule.event
    people: dict[str, Participant] = schedule.problem.participants
    names = {pid: p.name for pid, p in people.items()}
    wb = Workbook(write_only=True)
    used: set[str] = set()
    met = facts["requests_met"]
    info = [
        ("رویداد", event.name),
        ("تاریخ", format_jalali(event.date, long=True)),
        ("شمار بازه‌ها", len(event.slots)),
        ("میزها در هر بازه", event.tables),
        ("حداکثر جلسهٔ هر نفر", event.max_meetings_per_participant),
        ("شمار جلسه‌ها", facts["meetings"]),
        ("درخواست‌های دوطرفهٔ برآورده", f"{met['mutual']['met']} از {met['mutual']['total']}"),
        ("درخواست‌های یک‌طرفهٔ برآورده", f"{met['request']['met']} از {met['request']['total']}"),
        ("پیشنهادهای برآورده", f"{met['suggestion']['met']} از {met['suggestion']['total']}"),
        ("استارتاپ‌های دارای جلسه", f"{facts['startups_with_meeting']} از {facts['startups']}"),
        ("بهینه", "بله" if facts["optimal"] else "خیر (مهلت حل تمام شد)"),
        ("فاصله تا بهینه", facts["gap"]),
        ("قاعدهٔ انصاف", FAIRNESS_RULE_FA),
    ]
    rtl_sheet(wb, _title("خلاصه", used), ("مورد", "مقدار"), info, bold_first=True)
    for slot in event.slots:
        rows = [
            (
                m.table,
                names.get(m.participant_a, m.participant_a),
                names.get(m.participant_b, m.participant_b),
                MEETING_KIND_LABELS_FA.get(m.kind, m.kind),
                m.score,
            )
            for m in schedule.meetings
            if m.slot_id == slot.id
        ]
        when = f"{slot.start:%H:%M}-{slot.end:%H:%M}"
        rtl_sheet(wb, _title(f"بازه {slot.id} {when}", used), _SLOT_HEADERS, rows,
                  formats={4: "0.000"})
    for pid, person in people.items():
        agenda: list[tuple[Any, ...]] = []
        for m in schedule.agenda(pid):
            other = m.other(pid)
            slot = event.slot(m.slot_id)
            agenda.append(
                (
                    m.slot_id,
                    f"{slot.start:%H:%M}-{slot.end:%H:%M}",
                    m.table,
                    names.get(other, other),
                    PARTICIPANT_KIND_LABELS_FA.get(people[other].kind, ""),
                    MEETING_KIND_LABELS_FA.get(m.kind, m.kind),
                    m.score,
                )
            )
        rtl_sheet(wb, _title(f"{pid} {person.name}", used), _AGENDA_HEADERS, agenda,
                  formats={6: "0.000"})
    return atomic_write(path, lambda tmp: wb.save(tmp))
