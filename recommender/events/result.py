"""A solved schedule as people read it: meetings with their table, the figures of
`summary.json`, and the agenda of each participant.

Tables are interchangeable (the model counts meetings per slot, not tables), so they are
numbered after solving: in each slot, a kept meeting keeps its previous table when it can,
the others take the free numbers 1..k in order of priority (mutual, request, suggestion),
then fit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recommender.events.model import EVENT_TIMEZONE, Event
from recommender.events.problem import MeetingKey, ScheduleProblem
from recommender.events.solver import Solution
from recommender.text.persian import format_jalali

_KIND_ORDER = {"pinned": 0, "kept": 1, "mutual": 2, "request": 3, "suggestion": 4}
#: The fairness rule, stated where organisers read the summary.
FAIRNESS_RULE_FA = (
    "پس از بیشترین درخواست‌های دوطرفه و سپس یک‌طرفهٔ برآورده، بیشترین شمار استارتاپ‌ها "
    "دست‌کم یک جلسه می‌گیرند؛ سپس بیشترین تناسب پیشنهادها"
)


@dataclass(frozen=True)
class Meeting:
    """One meeting: where, when, who (a < b) and why."""

    slot_id: str
    table: int
    participant_a: str
    participant_b: str
    kind: str
    score: float
    kept: bool = False
    pinned: bool = False

    def other(self, participant: str) -> str:
        return self.participant_b if participant == self.participant_a else self.participant_a


@dataclass(frozen=True)
class Schedule:
    """The meetings of an event, ordered by slot then table, and the solver's figures."""

    event: Event
    meetings: list[Meeting]
    solution: Solution
    problem: ScheduleProblem
    seconds: float

    def agenda(self, participant: str) -> list[Meeting]:
        """The participant's meetings in slot order."""
        return [m for m in self.meetings if participant in (m.participant_a, m.participant_b)]

    def per_participant(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for m in self.meetings:
            counts[m.participant_a] += 1
            counts[m.participant_b] += 1
        return {pid: counts.get(pid, 0) for pid in self.problem.participants}


def assemble(
    problem: ScheduleProblem,
    solution: Solution,
    *,
    previous_tables: Mapping[MeetingKey, int] | None = None,
    seconds: float = 0.0,
) -> Schedule:
    """Number the tables of a solution (module docstring) and order its meetings."""
    by_slot: dict[str, list[Meeting]] = defaultdict(list)
    for e, slot in solution.chosen:
        cand = problem.candidates[e]
        key = (cand.a, cand.b, slot)
        by_slot[slot].append(
            Meeting(
                slot, 0, cand.a, cand.b, cand.kind, round(cand.score, 4),
                kept=key in problem.keep, pinned=key in problem.pins,
            )
        )
    previous = dict(previous_tables or {})
    order = {s.id: i for i, s in enumerate(problem.event.slots)}
    meetings: list[Meeting] = []
    for slot in sorted(by_slot, key=order.__getitem__):
        taken: set[int] = set()
        numbered: list[Meeting] = []
        rest: list[Meeting] = []
        for m in by_slot[slot]:
            table = previous.get((m.participant_a, m.participant_b, slot))
            if m.kept and table and 1 <= table <= problem.event.tables and table not in taken:
                taken.add(table)
                numbered.append(_with_table(m, table))
            else:
                rest.append(m)
        rest.sort(key=lambda m: (_KIND_ORDER.get(m.kind, 9), -m.score, m.participant_a))
        free = (t for t in range(1, problem.event.tables + 1) if t not in taken)
        numbered += [_with_table(m, next(free)) for m in rest]
        meetings += sorted(numbered, key=lambda m: m.table)
    return Schedule(problem.event, meetings, solution, problem, seconds)


def _with_table(m: Meeting, table: int) -> Meeting:
    from dataclasses import replace

    return replace(m, table=table)


def _met(problem: ScheduleProblem, meetings: list[Meeting], kind: str) -> dict[str, int]:
    total = sum(1 for c in problem.candidates if c.kind == kind)
    met = sum(1 for m in meetings if m.kind == kind)
    return {"met": met, "total": total}


def summary(schedule: Schedule, *, generated_at: dt.datetime | None = None) -> dict[str, Any]:
    """The figures of summary.json (`optimal`, `gap`, requests met by kind, meetings per
    participant, the levels of the lexicographic solve, the fairness rule)."""
    problem, solution, event = schedule.problem, schedule.solution, schedule.event
    per = schedule.per_participant()
    startups = problem.startups
    kept_total = len(problem.keep) + len(problem.lost)
    return {
        "event": {
            "id": event.id,
            "name": event.name,
            "org_id": event.org_id,
            "date": event.date.isoformat(),
            "date_jalali": format_jalali(event.date),
            "timezone": EVENT_TIMEZONE,
            "slots": len(event.slots),
            "tables": event.tables,
            "max_meetings_per_participant": event.max_meetings_per_participant,
        },
        "optimal": solution.optimal,
        "gap": round(solution.gap, 6),
        "status": "optimal" if solution.optimal else "time_limit",
        "seconds": round(schedule.seconds, 3),
        "n_variables": solution.n_variables,
        "meetings": len(schedule.meetings),
        "requests_met": {
            kind: _met(problem, schedule.meetings, kind)
            for kind in ("mutual", "request", "suggestion")
        },
        "kept": {
            "met": sum(1 for m in schedule.meetings if m.kept),
            "total": kept_total,
            "lost": [list(k) for k in problem.lost],
        },
        "pinned": len(problem.pins),
        "startups_with_meeting": sum(1 for p in startups if per.get(p, 0) > 0),
        "startups": len(startups),
        "startups_without_meeting": [p for p in startups if per.get(p, 0) == 0],
        "meetings_per_participant": per,
        "levels": [
            {
                "name": lv.name,
                "value": round(lv.value, 6),
                "bound": round(lv.bound, 6),
                "status": lv.status,
                "seconds": lv.seconds,
            }
            for lv in solution.levels
        ],
        "fairness_rule": FAIRNESS_RULE_FA,
        "generated_at": (generated_at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
    }
