"""A whole intake round: score every application (`rounds.scoring.score_round`), optionally
allocate seats and budgets under capacity (and try a what-if against the saved allocation,
`rounds.problem`), and write the committee reports (`reports.committee`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender import schemas
from recommender.allocation.capacity import WhatIf, round_capacity
from recommender.allocation.result import AllocationResult
from recommender.allocation.solver import DEFAULT_ALLOCATION_TOP_K, DEFAULT_TIME_LIMIT_S, Allocator
from recommender.errors import InvalidInputError, bilingual
from recommender.reports import committee as reports
from recommender.rounds.problem import (
    ALLOCATION_STATE_FILE,
    build_allocation_problem,
    load_allocation_state,
    result_from_dict,
    save_allocation_state,
)
from recommender.rounds.scoring import (
    DEFAULT_BATCH_SIZE,
    ProgressCallback,
    ScoringModel,
    ScoringRun,
    score_round,
)
from recommender.rounds.staff_files import parse_what_if
from recommender.rounds.stored import round_inputs
from recommender.scoring.round_scores import RoundScores
from recommender.store.database import Store
from recommender.store.tables import utcnow

__all__ = ["DEFAULT_TOP_N", "RoundOutcome", "run_round"]

DEFAULT_TOP_N = 10


@dataclass
class RoundOutcome:
    """What `run_round` did: the scoring run, the allocation, a what-if, the files."""

    scoring: ScoringRun
    allocation: AllocationResult | None
    what_if: WhatIf | None
    files: dict[str, Path]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Small JSON-ready summary (the API job's result)."""
        out: dict[str, Any] = {
            "round_id": self.scoring.scores.round_id,
            "scoring": self.scoring.to_dict(),
            "files": sorted(p.name for p in self.files.values()),
            "notes": list(self.notes),
        }
        if self.allocation is not None:
            a = self.allocation
            out["allocation"] = {
                "status": a.status_code,
                "optimal": a.optimal,
                "gap": a.gap if math.isfinite(a.gap) else None,
                "objective": a.objective,
                "n_placed": a.n_placed,
                "unfilled_seats": a.unfilled_seats,
                "unused_budget": a.unused_budget,
                "solve_seconds": round(a.solve_seconds, 3),
            }
        if self.what_if is not None:
            d = self.what_if.diff
            out["what_if"] = {
                "residency_gained": len(d.residency_gained),
                "residency_lost": len(d.residency_lost),
                "funding_changes": len(d.funding_changes),
                "objective_before": d.objective_before,
                "objective_after": d.objective_after,
            }
        return out


@dataclass
class _StaffInputs:
    """Staff decisions for an allocation: pins, vetoes and province minimums (None = not
    given: taken from the saved allocation when a what-if compares with one)."""

    pins: Sequence[tuple[str, str]] | None
    vetoes: Sequence[tuple[str, str]] | None
    province_min_seats: Mapping[Any, int] | None

    def filled_from(self, saved: Mapping[str, Any] | None) -> _StaffInputs:
        """Every input given, else the saved allocation's, else empty."""
        inputs = (saved or {}).get("inputs", {})
        pins, vetoes, minimums = self.pins, self.vetoes, self.province_min_seats
        if saved is not None:
            if pins is None:
                pins = [tuple(p) for p in inputs.get("pins", [])]  # type: ignore[misc]
            if vetoes is None:
                vetoes = [tuple(p) for p in inputs.get("vetoes", [])]  # type: ignore[misc]
            if minimums is None:
                minimums = {
                    (m["province"], m["program_id"]) if m.get("program_id") else m["province"]: int(
                        m["min_seats"]
                    )
                    for m in inputs.get("province_min_seats", [])
                }
        return _StaffInputs(list(pins or []), list(vetoes or []), dict(minimums or {}))


def _capacity_changes(
    what_if: str | tuple[Mapping[str, int], Mapping[str, int]] | None,
) -> tuple[dict[str, int], dict[str, int]]:
    """(seats, budget) by program id from a what-if text or pair (empty without one)."""
    if isinstance(what_if, str):
        return parse_what_if(what_if)
    if what_if is not None:
        return dict(what_if[0]), dict(what_if[1])
    return {}, {}


def _saved_allocation(
    saved: Mapping[str, Any], scores: RoundScores, out: Path, notes: list[str]
) -> tuple[AllocationResult, bool]:
    """The allocation saved in `out`, checked against the round's ids; whether it is stale
    (another model or other data; a note says so)."""
    allocation = result_from_dict(saved["result"])
    known_a, known_p = set(scores.application_ids), set(scores.program_ids)
    if any(
        d.application_id not in known_a or d.program_id not in known_p
        for d in allocation.decisions
    ) or {u.program_id for u in allocation.programs} != known_p:
        raise InvalidInputError(
            bilingual(
                f"the allocation saved in {out} is for other applications or programs "
                "than the round has now; run with --allocate to make a new one",
                f"تخصیص ذخیره‌شده در {out} برای درخواست‌ها یا برنامه‌هایی جز آنچه اکنون در "
                "دوره است ساخته شده؛ با --allocate تخصیص تازه بسازید.",
            )
        )
    stale = (
        saved.get("model_version") != scores.model_version
        or saved.get("data_fingerprint") != scores.fingerprint
    )
    if stale:
        notes.append(
            bilingual(
                "the saved allocation was made with another model or other data; the "
                "what-if is compared with it as saved",
                "تخصیص ذخیره‌شده با مدل یا داده‌های دیگری ساخته شده است؛ سناریو با همان "
                "تخصیص ذخیره‌شده مقایسه شد.",
            )
        )
    return allocation, stale


def _allocate(
    out: Path,
    intake: schemas.IntakeRound,
    program_map: Mapping[str, schemas.Program],
    applications: Sequence[schemas.Application],
    scores: RoundScores,
    *,
    allocator: Allocator,
    allocate: bool,
    changes: tuple[dict[str, int], dict[str, int]] | None,
    staff: _StaffInputs,
    notes: list[str],
) -> tuple[AllocationResult, WhatIf | None]:
    """Solve (and save) the allocation, or read the saved one for a what-if; then re-solve
    with the what-if's capacities (`changes`) and compare."""
    state_path = out / ALLOCATION_STATE_FILE
    saved = None if allocate else load_allocation_state(state_path)
    staff = staff.filled_from(saved)
    problem = build_allocation_problem(
        intake, program_map, applications, scores,
        pins=staff.pins or (), vetoes=staff.vetoes or (),
        province_min_seats=staff.province_min_seats,
    )
    if saved is not None:
        allocation, stale = _saved_allocation(saved, scores, out, notes)
    else:
        allocation = allocator.solve(problem)
        save_allocation_state(
            state_path, allocation, scores=scores, pins=staff.pins or (),
            vetoes=staff.vetoes or (), province_min_seats=staff.province_min_seats or {},
        )
        stale = False
    if changes is None:
        return allocation, None
    seat_changes, budget_changes = changes
    new_result, diff = allocator.what_if(
        problem, allocation, seat_changes or None, budget_changes or None
    )
    return allocation, WhatIf(seat_changes, budget_changes, new_result, diff, stale)


def run_round(
    store: Store,
    round_id: str,
    model: ScoringModel,
    out_dir: str | Path,
    *,
    top: int = DEFAULT_TOP_N,
    allocate: bool = False,
    what_if: str | tuple[Mapping[str, int], Mapping[str, int]] | None = None,
    pins: Sequence[tuple[str, str]] | None = None,
    vetoes: Sequence[tuple[str, str]] | None = None,
    province_min_seats: Mapping[Any, int] | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    allocation_top_k: int | None = DEFAULT_ALLOCATION_TOP_K,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int = 1,
    force: bool = False,
    progress: ProgressCallback | None = None,
    generated_at: dt.datetime | None = None,
) -> RoundOutcome:
    """Score a round, optionally allocate (and try a what-if), and write the committee files.

    Files in `out_dir`: scores.csv, shortlists.csv, top_programs.csv, summary.json,
    report.xlsx, report.html; with an allocation also allocation.csv and allocation.json (the
    saved allocation a later what-if compares with); with a what-if, what_if.json and
    what_if_allocation.csv.

    Args:
        store: a migrated store.
        round_id: the round.
        model: the fitted parts.
        out_dir: the output folder (created).
        top: length of each program's shortlist and each application's top list.
        allocate: solve the allocation.
        what_if: `"P-12:seats=5,budget=...;P-3:seats=0"` (or parsed (seats, budget)): re-solve
            with those capacities and compare with the allocation saved in `out_dir` (solved
            first when there is none). Pins, vetoes and minimums default to the saved ones.
        pins, vetoes: staff decisions, (application_id, program_id) pairs.
        province_min_seats: `{province: n}` / `{(province, program_id): n}`.
        time_limit_s: allocation solver limit.
        allocation_top_k: candidate programs per application in the allocation model.
        batch_size, workers, force, progress: see `score_round`.
        generated_at: the report's time (default: now).

    Raises:
        NotFoundError, InvalidInputError: bad round, empty round, bad options, unwritable
            folder.
        InfeasibleError: the pins/minimums cannot be met.
    """
    if top < 1:
        raise InvalidInputError(f"top must be >= 1, got {top}")
    out = reports.ensure_writable(out_dir)
    seat_changes, budget_changes = _capacity_changes(what_if)
    intake, programs, applications = round_inputs(store, round_id)
    program_map = {p.id: p for p in programs}
    unknown = [p for p in {**seat_changes, **budget_changes} if p not in program_map]
    if unknown:
        raise InvalidInputError(
            f"--what-if names program(s) not in round '{round_id}': {', '.join(sorted(unknown))}"
        )
    scoring = score_round(
        store, round_id, model, batch_size=batch_size, progress=progress, force=force,
        workers=workers,
    )
    scores = scoring.scores
    notes: list[str] = []
    allocation: AllocationResult | None = None
    whatif: WhatIf | None = None
    if allocate or what_if is not None:
        allocation, whatif = _allocate(
            out, intake, program_map, applications, scores,
            allocator=Allocator(time_limit_s=time_limit_s, top_k=allocation_top_k),
            allocate=allocate,
            changes=(seat_changes, budget_changes) if what_if is not None else None,
            staff=_StaffInputs(pins, vetoes, province_min_seats),
            notes=notes,
        )
    report = reports.RoundReport(
        intake=intake,
        programs=program_map,
        applications={a.id: a for a in applications},
        scores=scores,
        capacity=round_capacity(intake, program_map),
        scoring=scoring.to_dict(),
        allocation=allocation,
        what_if=whatif,
        top=top,
        embedding_model=model.embedding_model,
        generated_at=generated_at or utcnow(),
        notes=notes,
    )
    files = reports.write_round_reports(out, report)
    state_path = out / ALLOCATION_STATE_FILE
    if state_path.is_file() and allocation is not None:
        files["allocation_state"] = state_path
    return RoundOutcome(scoring=scoring, allocation=allocation, what_if=whatif, files=files,
                        notes=notes)
