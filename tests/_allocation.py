"""A round's saved allocation (allocation.json, `recommender.rounds.problem`) made by hand,
for tests that accept an allocation without solving one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recommender.allocation.result import AllocationResult, PairDecision, ProgramUsage


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


def write_allocation(folder: Path, round_id: str, pairs: list[PairDecision]) -> Path:
    """allocation.json (and a small allocation.csv) in `folder`, as a round run leaves them."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "allocation.json"
    path.write_text(json.dumps(allocation_state(round_id, pairs), ensure_ascii=False), "utf-8")
    rows = "\n".join(
        f"{p.application_id},{p.program_id},{int(p.residency)},{p.funding_amount}" for p in pairs
    )
    (folder / "allocation.csv").write_text(
        "application_id,program_id,residency,funding_amount\n" + rows + "\n", "utf-8"
    )
    return path
