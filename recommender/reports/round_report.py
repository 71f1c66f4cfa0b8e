"""`RoundReport`: everything the committee files of a round are made from, and the few
readings of it that more than one file shows (shortlists, top programs, placements,
provinces)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recommender.allocation.capacity import Capacity, WhatIf
from recommender.allocation.result import AllocationResult
from recommender.eligibility import NO_RESIDENCY_FA, offers_residency
from recommender.schemas import Application, IntakeRound, Program
from recommender.scoring.round_scores import RoundScores

UNKNOWN_PROVINCE = "نامشخص"
SOURCE_FA = {"round": "تعیین‌شده در دوره", "program": "ظرفیت خود برنامه"}


@dataclass
class RoundReport:
    """Everything the committee files are made from.

    Attributes:
        intake: the round.
        programs: the round's programs by id.
        applications: the round's applications by id.
        scores: every score of the round.
        capacity: each program's seats/budget in this round (round order).
        scoring: `ScoringRun.to_dict()` (counts, timings, run status).
        allocation: the allocation, if one was made.
        what_if: a what-if re-solve, if one was asked for.
        top: shortlist / top-list length.
        embedding_model: the embedding model id.
        generated_at: when the report was made.
        notes: remarks to show (English, for operators).
    """

    intake: IntakeRound
    programs: Mapping[str, Program]
    applications: Mapping[str, Application]
    scores: RoundScores
    capacity: Sequence[Capacity]
    scoring: Mapping[str, Any] = field(default_factory=dict)
    allocation: AllocationResult | None = None
    what_if: WhatIf | None = None
    top: int = 10
    embedding_model: str = ""
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    notes: list[str] = field(default_factory=list)


def province(app: Application) -> str:
    """The application's province, or "unknown" in Persian."""
    return app.province.strip() or UNKNOWN_PROVINCE


def yes_no(value: bool | None) -> str:
    """"بله" / "خیر", or a dash for no value."""
    return "—" if value is None else ("بله" if value else "خیر")


def placements(report: RoundReport) -> dict[str, dict[str, Any]]:
    """application id -> {"programs": set, "residency": program or None, "funding": int}."""
    out: dict[str, dict[str, Any]] = {}
    if report.allocation is None:
        return out
    for d in report.allocation.decisions:
        entry = out.setdefault(d.application_id, {"programs": set(), "residency": None,
                                                  "funding": 0})
        entry["programs"].add(d.program_id)
        if d.residency:
            entry["residency"] = d.program_id
        entry["funding"] += d.funding_amount
    return out


def shortlist_rows(report: RoundReport) -> list[tuple[Any, ...]]:
    """(program_id, position, application_id, score) of each program's shortlist."""
    s = report.scores
    rows = []
    for j, members in enumerate(s.shortlist(report.top)):
        for position, i in enumerate(members, start=1):
            rows.append((s.program_ids[j], position, s.application_ids[i], round(s.score[i, j], 6)))
    return rows


def _residency(report: RoundReport, program_id: str, chance: float | None) -> Any:
    if not offers_residency(report.programs[program_id]):
        return NO_RESIDENCY_FA
    return "" if chance is None else chance


def top_rows(report: RoundReport) -> list[tuple[Any, ...]]:
    """(application_id, position, program_id, score, p_residency, p_funding) of each
    application's best programs ("" where a probability is unknown, «اقامت ندارد» for the
    residency chance of a program without seats, as the suggestions say it)."""
    s = report.scores
    rows = []
    for i, members in enumerate(s.top_for_application(report.top)):
        for position, j in enumerate(members, start=1):
            rows.append(
                (
                    s.application_ids[i],
                    position,
                    s.program_ids[j],
                    round(s.score[i, j], 6),
                    _residency(report, s.program_ids[j], None if s.p_residency is None
                               else round(s.p_residency[i, j], 6)),
                    "" if s.p_funding is None else round(s.p_funding[i, j], 6),
                )
            )
    return rows
