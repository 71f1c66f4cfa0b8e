"""A round's saved allocation (allocation.json, `recommender.rounds.problem`) made by hand,
for tests that accept an allocation without solving one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from recommender.allocation.result import AllocationResult, PairDecision, ProgramUsage
from tests._jobs import finished_job

if TYPE_CHECKING:
    from api.jobs import JobStore


def pair(application_id: str, program_id: str, residency: bool, amount: int) -> PairDecision:
    return PairDecision(application_id, program_id, residency, amount, False, 0.5)


def allocation_state(round_id: str, pairs: list[PairDecision]) -> dict[str, Any]:
    """What `save_allocation_state` writes, for `pairs`."""
    programs = sorted({p.program_id for p in pairs})
    result = AllocationResult(
        decisions=pairs,
        objective=1.0,
        status_code="optimal",
        status="optimal",
        optimal=True,
        gap=0.0,
        bound=1.0,
        programs=[
            ProgramUsage(
                program_id=p,
                seats=5,
                seats_used=sum(1 for d in pairs if d.program_id == p and d.residency),
                budget=10**12,
                budget_used=sum(d.funding_amount for d in pairs if d.program_id == p),
            )
            for p in programs
        ],
        unfilled_seats=0,
        unused_budget=0,
        n_placed=len({p.application_id for p in pairs}),
        top3_share=1.0,
        placements_by_province={},
        residency_by_province={},
        n_candidate_pairs=len(pairs),
        solve_seconds=0.0,
        config={},
    )
    return {
        "format": "peyvand.round_allocation",
        "round_id": round_id,
        "model_version": "test",
        "data_fingerprint": "test",
        "inputs": {"pins": [], "vetoes": [], "province_min_seats": []},
        "result": result.to_dict(),
    }


def allocation_files(round_id: str, pairs: list[PairDecision]) -> dict[str, str]:
    """allocation.json (and a small allocation.csv), as a round run leaves them."""
    rows = "".join(
        f"{p.application_id},{p.program_id},{int(p.residency)},{p.funding_amount}\n" for p in pairs
    )
    return {
        "allocation.json": json.dumps(allocation_state(round_id, pairs), ensure_ascii=False),
        "allocation.csv": "application_id,program_id,residency,funding_amount\n" + rows,
    }


def finished_allocation_run(
    jobs: JobStore, round_id: str, pairs: list[PairDecision], *, created_by: str, org_id: str | None
) -> str:
    """A finished run of the round that saved an allocation (as the round_score job does);
    returns its job id."""
    return finished_job(
        jobs,
        "round_score",
        {"round_id": round_id, "allocate": True},
        subject=f"rounds/{round_id}",
        created_by=created_by,
        org_id=org_id,
        files=allocation_files(round_id, pairs),
    )
