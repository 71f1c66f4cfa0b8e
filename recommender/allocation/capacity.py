"""Each round program's seats, budget and grant range, and a what-if re-solve with changed
capacity: the inputs and the comparison the allocation and the committee files share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recommender import schemas
from recommender.allocation.result import AllocationDiff, AllocationResult


@dataclass(frozen=True)
class Capacity:
    """Seats, budget and grant range of one program in one round, and where they came from.

    `seats_source` / `budget_source` is "round" (the round's override) or "program" (the
    program's `residency_seats`, and `funding_max x max(1, seats)` as budget).
    """

    program_id: str
    seats: int
    budget: int
    grant_min: int
    grant_max: int
    seats_source: str
    budget_source: str


def round_capacity(
    intake: schemas.IntakeRound, programs: Mapping[str, schemas.Program]
) -> list[Capacity]:
    """Each round program's seats, budget and grant range, in round order."""
    out = []
    for part in intake.programs:
        program = programs[part.program_id]
        seats = part.seats if part.seats is not None else program.residency_seats
        if part.budget is not None:
            budget, budget_source = part.budget, "round"
        else:
            budget, budget_source = program.funding_max * max(1, seats), "program"
        out.append(
            Capacity(
                program_id=program.id,
                seats=int(seats),
                budget=int(budget),
                grant_min=int(program.funding_min),
                grant_max=int(program.funding_max),
                seats_source="round" if part.seats is not None else "program",
                budget_source=budget_source,
            )
        )
    return out


@dataclass
class WhatIf:
    """A re-solve with changed capacity, compared with the saved allocation."""

    seats: dict[str, int]
    budget: dict[str, int]
    result: AllocationResult
    diff: AllocationDiff
    baseline_stale: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "seat_changes": dict(self.seats),
            "budget_changes": dict(self.budget),
            "baseline_stale": self.baseline_stale,
            "diff": self.diff.to_dict(),
            "result": self.result.to_dict(),
        }
