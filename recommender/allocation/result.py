"""What an allocation gives: per-pair decisions, per-program use, the status and the
fairness figures (`AllocationResult`), how two allocations differ (`AllocationDiff`), and
the step from the solver's raw values to whole-rial amounts that meet every limit exactly.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.allocation.model import Model
from recommender.allocation.problem import AllocationProblem, Pair

_STATUS_FA = {
    "optimal": "بهینه: بهترین تخصیص ممکن میان گزینه‌ها پیدا و اثبات شد",
    "time_limit": "مهلت حل به پایان رسید: بهترین تخصیص پیدا شده تا این لحظه برگردانده شد",
    "nothing_to_allocate": "چیزی برای تخصیص نیست: هیچ جفت واجد شرایطی وجود ندارد",
}


@dataclass(frozen=True)
class PairDecision:
    """What one (application, program) pair receives. Only pairs that receive something."""

    application_id: str
    program_id: str
    residency: bool
    funding_amount: int
    pinned: bool
    score: float


@dataclass(frozen=True)
class ProgramUsage:
    """Seats and budget of one program, and how much the allocation uses."""

    program_id: str
    seats: int
    seats_used: int
    budget: int
    budget_used: int

    @property
    def unfilled_seats(self) -> int:
        return self.seats - self.seats_used

    @property
    def unused_budget(self) -> int:
        return self.budget - self.budget_used


@dataclass(frozen=True)
class AllocationResult:
    """An allocation and the figures that tell whether it is sound and fair.

    Attributes:
        decisions: pairs that receive a residency and/or funding, in application order.
        objective: objective value of `decisions` (recomputed from whole-rial amounts).
        status_code: ``optimal`` | ``time_limit`` | ``nothing_to_allocate``.
        status: the same in plain words (English); `status_fa` in Persian.
        optimal: True when proven optimal (within `mip_rel_gap`) among candidate pairs.
        gap: relative MIP gap (best bound - objective) / objective reported by the solver.
        bound: best proven upper bound on the objective (``inf`` when unknown).
        programs: per-program seats/budget and their use, in program order.
        unfilled_seats, unused_budget: totals over programs.
        n_placed: applications that received a residency or funding.
        top3_share: share of placed applications placed at one of their 3 best-scored
            eligible, non-vetoed programs (0.0 when nobody is placed).
        placements_by_province: placed applications per province.
        residency_by_province: residencies per province.
        n_candidate_pairs: (application, program) pairs that got variables after pruning.
        solve_seconds: wall time of model building and solving.
        config: the `Allocator` settings that produced it (used by `what_if`).
        parts: per solved part (``residency``, ``funding``): ``status``, ``objective``,
            ``bound``, ``seconds``; shows which part a time limit stopped. ``funding_lp``:
            the LP relaxation that picked funding candidates (its objective bounds the
            funding over all `top_k` candidates) and ``pairs_added``.
    """

    decisions: list[PairDecision]
    objective: float
    status_code: str
    status: str
    optimal: bool
    gap: float
    bound: float
    programs: list[ProgramUsage]
    unfilled_seats: int
    unused_budget: int
    n_placed: int
    top3_share: float
    placements_by_province: dict[str, int]
    residency_by_province: dict[str, int]
    n_candidate_pairs: int
    solve_seconds: float
    config: dict[str, Any]
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def status_fa(self) -> str:
        return _STATUS_FA.get(self.status_code, self.status)

    def residency_of(self, application_id: str) -> str | None:
        """The program where the application holds a residency, if any."""
        return next(
            (
                d.program_id
                for d in self.decisions
                if d.application_id == application_id and d.residency
            ),
            None,
        )

    def funding_of(self, application_id: str) -> tuple[str, int] | None:
        """(program_id, amount) of the application's funding, if any."""
        return next(
            (
                (d.program_id, d.funding_amount)
                for d in self.decisions
                if d.application_id == application_id and d.funding_amount > 0
            ),
            None,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``inf`` gap/bound become None)."""
        out = dataclasses.asdict(self)
        for key in ("gap", "bound"):
            if not math.isfinite(out[key]):
                out[key] = None
        out["status_fa"] = self.status_fa
        for prog in out["programs"]:
            prog["unfilled_seats"] = prog["seats"] - prog["seats_used"]
            prog["unused_budget"] = prog["budget"] - prog["budget_used"]
        return out


@dataclass(frozen=True)
class AllocationDiff:
    """What changed between two allocations of the same round (plain data).

    Attributes:
        residency_gained / residency_lost: ``{"application_id", "program_id"}`` items; a move
            from one program to another appears in both lists.
        funding_changes: ``{"application_id", "program_id", "before", "after", "delta"}`` for
            every pair whose amount changed (0 = no funding).
        programs: per changed program ``{"program_id", "seats_before", "seats_after",
            "seats_used_before", "seats_used_after", "budget_before", "budget_after",
            "budget_used_before", "budget_used_after"}``.
        objective_before / objective_after: objective values.
    """

    residency_gained: list[dict[str, str]]
    residency_lost: list[dict[str, str]]
    funding_changes: list[dict[str, Any]]
    programs: list[dict[str, Any]]
    objective_before: float
    objective_after: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def diff_allocations(before: AllocationResult, after: AllocationResult) -> AllocationDiff:
    """Who gained/lost a residency or funding, and how program use changed."""
    res_before = {(d.application_id, d.program_id) for d in before.decisions if d.residency}
    res_after = {(d.application_id, d.program_id) for d in after.decisions if d.residency}
    fund_before = {(d.application_id, d.program_id): d.funding_amount for d in before.decisions}
    fund_after = {(d.application_id, d.program_id): d.funding_amount for d in after.decisions}
    order: dict[str, int] = {}
    for d in before.decisions + after.decisions:
        order.setdefault(d.application_id, len(order))

    def sort_key(pair: Pair) -> tuple[int, str, str]:
        return (order.get(pair[0], 0), pair[0], pair[1])

    changes = []
    for pair in sorted(set(fund_before) | set(fund_after), key=sort_key):
        amount_before, amount_after = fund_before.get(pair, 0), fund_after.get(pair, 0)
        if amount_after != amount_before:
            changes.append(
                {
                    "application_id": pair[0],
                    "program_id": pair[1],
                    "before": amount_before,
                    "after": amount_after,
                    "delta": amount_after - amount_before,
                }
            )
    prev = {u.program_id: u for u in before.programs}
    programs = []
    for u in after.programs:
        old = prev.get(u.program_id)
        if old is None or (old.seats, old.seats_used, old.budget, old.budget_used) != (
            u.seats,
            u.seats_used,
            u.budget,
            u.budget_used,
        ):
            programs.append(
                {
                    "program_id": u.program_id,
                    "seats_before": old.seats if old else 0,
                    "seats_after": u.seats,
                    "seats_used_before": old.seats_used if old else 0,
                    "seats_used_after": u.seats_used,
                    "budget_before": old.budget if old else 0,
                    "budget_after": u.budget,
                    "budget_used_before": old.budget_used if old else 0,
                    "budget_used_after": u.budget_used,
                }
            )
    return AllocationDiff(
        residency_gained=[
            {"application_id": a, "program_id": p}
            for a, p in sorted(res_after - res_before, key=sort_key)
        ],
        residency_lost=[
            {"application_id": a, "program_id": p}
            for a, p in sorted(res_before - res_after, key=sort_key)
        ],
        funding_changes=changes,
        programs=programs,
        objective_before=before.objective,
        objective_after=after.objective,
    )


def round_solution(
    problem: AllocationProblem, model: Model, x_values: np.ndarray, yf_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solver values -> (x_on, y_on, whole-rial amounts) that meet every limit exactly."""
    n_y = model.ya.size
    x_on = x_values > 0.5
    y_on = yf_values[:n_y] > 0.5
    raw = yf_values[n_y:] * model.scale
    # A funding with (almost) no money and no value of its own is no funding.
    y_on &= ~((raw < model.lo / 2) & ~model.y_pinned & (model.value_y <= 0))
    amounts = np.where(y_on, np.clip(np.rint(raw).astype(np.int64), model.lo, model.hi), 0)
    # Solver tolerances may leave a budget over by a few rial: take the excess back from the
    # grants worth least per rial (down to their minimum), then drop unpinned grants if needed.
    for j in np.unique(model.yp[y_on]):
        members = np.flatnonzero(y_on & (model.yp == j))
        excess = int(amounts[members].sum()) - int(problem.budget[j])
        for m in members[np.argsort(model.value_f[members], kind="stable")]:
            if excess <= 0:
                break
            cut = min(excess, int(amounts[m] - model.lo[m]))
            amounts[m] -= cut
            excess -= cut
        worth = model.value_f[members] * model.lo[members] + model.value_y[members]
        for m in members[np.argsort(worth, kind="stable")]:
            if excess <= 0:
                break
            if not model.y_pinned[m]:
                excess -= int(amounts[m])
                amounts[m] = 0
                y_on[m] = False
    return x_on, y_on, amounts


def build_result(
    problem: AllocationProblem,
    model: Model,
    x_on: np.ndarray,
    y_on: np.ndarray,
    amounts: np.ndarray,
    allowed: np.ndarray,
    *,
    status: tuple[str, str],
    optimal: bool,
    gap: float,
    bound: float,
    seconds: float,
    config: dict[str, Any],
    parts: dict[str, dict[str, Any]],
) -> AllocationResult:
    """The `AllocationResult` of rounded solver values (see `round_solution`).

    Args:
        allowed: ``(n_applications, n_programs)`` eligible, non-vetoed pairs (for the top-3
            share).
        status: (status_code, status in plain words).
    """
    n_app, n_prog = problem.score.shape
    residency = np.zeros((n_app, n_prog), bool)
    residency[model.xa[x_on], model.xp[x_on]] = True
    funding = np.zeros((n_app, n_prog), np.int64)
    funding[model.ya[y_on], model.yp[y_on]] = amounts[y_on]
    objective = float(
        model.value_x[x_on].sum()
        + model.value_y[y_on].sum()
        + (model.value_f[y_on] * amounts[y_on]).sum()
    )
    seats_used = residency.sum(axis=0)
    budget_used = funding.sum(axis=0)
    programs = [
        ProgramUsage(
            pid,
            int(problem.seats[j]),
            int(seats_used[j]),
            int(problem.budget[j]),
            int(budget_used[j]),
        )
        for j, pid in enumerate(problem.program_ids)
    ]
    placed = residency.any(axis=1) | (funding > 0).any(axis=1)
    in_top3 = _in_top3(problem, allowed, residency | (funding > 0))
    n_placed = int(placed.sum())
    by_province, res_by_province = _by_province(problem, placed, residency)
    return AllocationResult(
        decisions=_decisions(problem, residency, funding),
        objective=objective,
        status_code=status[0],
        status=status[1],
        optimal=optimal,
        gap=gap,
        bound=bound,
        programs=programs,
        unfilled_seats=int((problem.seats - seats_used).sum()),
        unused_budget=int((problem.budget - budget_used).sum()),
        n_placed=n_placed,
        top3_share=float(in_top3[placed].mean()) if n_placed else 0.0,
        placements_by_province=by_province,
        residency_by_province=res_by_province,
        n_candidate_pairs=model.n_pairs,
        solve_seconds=seconds,
        config=config,
        parts=parts,
    )


def _decisions(
    problem: AllocationProblem, residency: np.ndarray, funding: np.ndarray
) -> list[PairDecision]:
    """The pairs that receive a residency and/or funding, in application order."""
    pinned = set(problem.pins)
    decisions = []
    for i, j in zip(*np.nonzero(residency | (funding > 0)), strict=True):
        a, p = problem.application_ids[i], problem.program_ids[j]
        decisions.append(
            PairDecision(
                a,
                p,
                bool(residency[i, j]),
                int(funding[i, j]),
                (a, p) in pinned,
                float(problem.score[i, j]),
            )
        )
    return decisions


def _in_top3(problem: AllocationProblem, allowed: np.ndarray, given: np.ndarray) -> np.ndarray:
    """(n_applications,) bool: placed at one of the 3 best-scored allowed programs."""
    n_app, n_prog = problem.score.shape
    masked = np.where(allowed, problem.score, -np.inf)
    k = min(3, n_prog)
    top3 = np.zeros((n_app, n_prog), bool)
    if k:
        np.put_along_axis(top3, np.argsort(-masked, axis=1, kind="stable")[:, :k], True, axis=1)
    top3 &= allowed
    return (given & top3).any(axis=1)


def _by_province(
    problem: AllocationProblem, placed: np.ndarray, residency: np.ndarray
) -> tuple[dict[str, int], dict[str, int]]:
    """(placed applications, residencies) per province, sorted by province."""
    by_province: dict[str, int] = {}
    res_by_province: dict[str, int] = {}
    if problem.app_province is not None:
        for i in np.flatnonzero(placed):
            prov = problem.app_province[i]
            by_province[prov] = by_province.get(prov, 0) + 1
            if residency[i].any():
                res_by_province[prov] = res_by_province.get(prov, 0) + 1
    return dict(sorted(by_province.items())), dict(sorted(res_by_province.items()))
