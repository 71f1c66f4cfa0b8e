"""A scored round as an allocation problem, and the allocation saved next to the committee
files (allocation.json) that a later what-if compares with.

`build_allocation_problem` turns the scores, the round's seat/budget overrides (falling back to
the program's own seats and `funding_max x max(1, seats)` as budget), the hard eligibility
rules, staff pins/vetoes and province minimums into an `allocation.AllocationProblem`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recommender import schemas
from recommender.allocation.capacity import round_capacity
from recommender.allocation.problem import AllocationProblem
from recommender.allocation.result import AllocationResult, PairDecision, ProgramUsage
from recommender.eligibility import eligibility
from recommender.errors import InvalidInputError
from recommender.scoring.round_scores import RoundScores

__all__ = [
    "ALLOCATION_STATE_FILE",
    "build_allocation_problem",
    "load_allocation_state",
    "result_from_dict",
    "save_allocation_state",
]

ALLOCATION_STATE_FILE = "allocation.json"


def build_allocation_problem(
    intake: schemas.IntakeRound,
    programs: Mapping[str, schemas.Program],
    applications: Sequence[schemas.Application],
    scores: RoundScores,
    *,
    pins: Sequence[tuple[str, str]] = (),
    vetoes: Sequence[tuple[str, str]] = (),
    province_min_seats: Mapping[Any, int] | None = None,
    seats: Mapping[str, int] | None = None,
    budget: Mapping[str, int] | None = None,
) -> AllocationProblem:
    """The round's `AllocationProblem` (rows = `scores.application_ids`, columns =
    `scores.program_ids`).

    Eligibility is `recommender.eligibility.eligibility` on the current records; a grant
    never exceeds the application's funding ask (nor the program's `funding_max`).

    Args:
        intake: the round (seat/budget overrides).
        programs: program records by id.
        applications: the round's applications (any order).
        scores: the round's scores.
        pins: (application_id, program_id) pairs that must be allocated.
        vetoes: pairs that must get nothing.
        province_min_seats: `{province: n}` and/or `{(province, program_id): n}`.
        seats, budget: absolute per-program overrides on top of the round's.

    Raises:
        InvalidInputError: unknown ids in pins, vetoes, minimums or overrides.
    """
    by_id = {a.id: a for a in applications}
    apps = [by_id[a] for a in scores.application_ids]
    progs = [programs[p] for p in scores.program_ids]
    capacity = {c.program_id: c for c in round_capacity(intake, programs)}
    for name, changes in (("seats", seats), ("budget", budget)):
        unknown = [p for p in (changes or {}) if p not in capacity]
        if unknown:
            raise InvalidInputError(
                f"{name} given for program(s) not in the round: {', '.join(unknown)}"
            )
    cap = [capacity[p] for p in scores.program_ids]
    eligible = np.array(
        [[eligibility(a, p) is None for p in progs] for a in apps], dtype=bool
    ).reshape(scores.shape)
    return AllocationProblem(
        application_ids=scores.application_ids,
        program_ids=scores.program_ids,
        score=scores.score,
        eligible=eligible,
        needs_residency=np.array([a.needs_residency for a in apps], dtype=bool),
        funding_ask=np.array([a.funding_ask for a in apps], dtype=np.int64),
        seats=np.array([(seats or {}).get(c.program_id, c.seats) for c in cap], dtype=np.int64),
        budget=np.array(
            [(budget or {}).get(c.program_id, c.budget) for c in cap], dtype=np.int64
        ),
        grant_min=np.array([c.grant_min for c in cap], dtype=np.int64),
        grant_max=np.array([c.grant_max for c in cap], dtype=np.int64),
        p_residency=scores.p_residency,
        p_funding=scores.p_funding,
        expected_funding=None,
        app_province=[a.province for a in apps],
        pins=list(pins),
        vetoes=list(vetoes),
        province_min_seats=dict(province_min_seats or {}),
    )


def result_from_dict(data: Mapping[str, Any]) -> AllocationResult:
    """An `AllocationResult` from its `to_dict()` form (e.g. read back from allocation.json)."""
    try:
        decisions = [PairDecision(**d) for d in data["decisions"]]
        names = {f.name for f in dataclasses.fields(ProgramUsage)}
        programs = [
            ProgramUsage(**{k: v for k, v in p.items() if k in names}) for p in data["programs"]
        ]
        fields = {f.name for f in dataclasses.fields(AllocationResult)}
        values = {k: v for k, v in data.items() if k in fields}
        values["decisions"] = decisions
        values["programs"] = programs
        for key in ("gap", "bound"):
            if values.get(key) is None:
                values[key] = math.inf
        return AllocationResult(**values)
    except (KeyError, TypeError) as exc:
        raise InvalidInputError(f"the saved allocation cannot be read: {exc}") from exc


def save_allocation_state(
    path: Path,
    result: AllocationResult,
    *,
    scores: RoundScores,
    pins: Sequence[tuple[str, str]],
    vetoes: Sequence[tuple[str, str]],
    province_min_seats: Mapping[Any, int],
) -> None:
    state = {
        "format": "peyvand.round_allocation",
        "round_id": scores.round_id,
        "model_version": scores.model_version,
        "data_fingerprint": scores.fingerprint,
        "inputs": {
            "pins": [list(p) for p in pins],
            "vetoes": [list(p) for p in vetoes],
            "province_min_seats": [
                {"province": k[0], "program_id": k[1], "min_seats": v}
                if isinstance(k, tuple)
                else {"province": k, "min_seats": v}
                for k, v in province_min_seats.items()
            ],
        },
        "result": result.to_dict(),
    }
    _atomic_write_text(path, json.dumps(state, ensure_ascii=False, indent=1))


def load_allocation_state(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"the saved allocation {path} cannot be read: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != "peyvand.round_allocation":
        raise InvalidInputError(f"{path} is not an allocation saved by `peyvand round score`")
    return state


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
