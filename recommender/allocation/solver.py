"""Round allocation under capacity: who gets which residency seat and how much funding.

The intake committee scores a whole round, then `Allocator.solve` chooses, exactly, as a
mixed-integer program (`scipy.optimize.milp`, HiGHS):

- residency: binary ``x[a, p]`` (application ``a`` takes a seat at program ``p``);
- funding: binary ``y[a, p]`` (``p`` funds ``a``) and an amount ``f[a, p]`` in rial with
  ``lo[p] * y <= f <= min(grant_max[p], budget[p], request[a, p]) * y``, where
  ``lo[p] = max(grant_min[p], 1)`` (a funded pair always receives money).

Objective (maximised; weights are configuration, see `AllocationWeights`)::

    sum  residency     * score * p_residency * x
  + sum  funding       * score * p_funding   * f / request     (funding_unit=None)
  + sum  funding_award * score * p_funding   * y

so meeting an application's whole request is worth ``funding * score * p_funding``, on the
same scale as a residency (``residency * score * p_residency``).

Constraints:

- at most one residency per application, and only for applications that need one;
- at most one funding program per application (it may hold a residency at one program and
  funding from another, or both from the same program);
- seats and budget of each program; grant_min / grant_max; the application's request;
- eligibility (an ineligible pair gets nothing) and staff vetoes (a vetoed pair gets nothing);
- staff pins: the pair must be in the allocation, as residency when the application needs a
  residency and the program has seats, otherwise as funding;
- per-province minimum seats, in two forms (both may be given at once):
  ``{"Tehran": 5}`` = at least 5 residencies in total, over all programs, go to applicants from
  Tehran; ``{("Fars", "P-3"): 2}`` = at least 2 of program P-3's seats go to applicants from
  Fars.

Only eligible, non-vetoed pairs get variables, and only each application's `top_k`
programs by score (pins, and pairs named by a per-program province minimum, are always
kept), so a 2,000 x 150 round stays small and sparse. Of those, only the `funding_top_k`
pairs whose largest grant is worth most may fund the application (funding pins are always
kept), plus every pair that the LP relaxation of the funding part over all candidate pairs
funds (where the scarce budgets are best spent). "Optimal" therefore means optimal among
those candidate pairs; ``top_k=None`` and ``funding_top_k=None`` keep every eligible pair.

Residency and funding share no constraint, so they are solved as two MILPs (residency first,
then funding with the time left, never under 10% of the limit); together they are exactly
the MILP above. The residency part is a b-matching and solves in seconds; the funding part
(one funder per application, continuous amounts under scarce budgets, a generalised
assignment structure) is the hard one: on a contended 2,000 x 150 round it is proven optimal
within 30 s only with few funding candidates (`funding_top_k` 1 plus the LP's pairs by
default; see benchmarks/allocation_speed.py). The relative gap is promised on the whole
objective, so the funding part may stop at a slightly larger gap of its own when the
residency part is proven with room to spare (`Allocator._funding_gap`). When the time limit
stops it, the result is the best allocation found, with its gap. HiGHS checks the limit
between its steps, so a solve may overrun it by a few seconds.

Infeasible pins are found before the solver and reported with `InfeasibleError` naming the
pins; when only the solver can tell, the error names the likely constraint family.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.optimize import milp

from recommender.allocation.feasibility import (
    capabilities,
    check_pins,
    check_province_minimums,
)
from recommender.allocation.model import (
    Matrices,
    Model,
    best_per_row,
    build_model,
    funding_matrices,
    funding_value,
    residency_matrices,
)
from recommender.allocation.problem import AllocationProblem, AllocationWeights
from recommender.allocation.result import (
    AllocationDiff,
    AllocationResult,
    build_result,
    diff_allocations,
    round_solution,
)
from recommender.errors import (
    InfeasibleError,
    InvalidInputError,
    PeyvandError,
    SolverTimeLimitError,
)

DEFAULT_ALLOCATION_TOP_K = 20
# Funding candidates per application, besides the pairs the LP relaxation funds (see
# `Allocator`): the funding MILP (one funder per application under scarce budgets) is proven
# optimal within the time limit only when they stay few. On the seeded 2,000 x 150 round,
# 1 + the LP's pairs proves optimal in ~7 CPU seconds with a better allocation than the best
# found on all 20 candidates in 30 s; 3 without the LP's pairs takes ~20 CPU seconds
# (benchmarks/allocation_speed.py).
DEFAULT_FUNDING_TOP_K = 1
DEFAULT_TIME_LIMIT_S = 30.0
DEFAULT_MIP_REL_GAP = 1e-4


def _part_info(res: Any, started: float) -> dict[str, Any]:
    status = {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(res.status, "failed")
    finite = res.fun is not None and res.x is not None
    return {
        "status": status,
        "objective": -float(res.fun) if finite else None,
        "bound": -float(res.mip_dual_bound) if res.mip_dual_bound is not None else None,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _funding_lp(problem: AllocationProblem, model: Model, time_limit: float | None) -> Any:
    """The funding MILP's LP relaxation (every y continuous)."""
    c, _, bounds, constraints = funding_matrices(problem, model)
    options: dict[str, Any] = {} if time_limit is None else {"time_limit": float(time_limit)}
    return milp(
        c, integrality=np.zeros(c.size), bounds=bounds, constraints=constraints, options=options
    )



class Allocator:
    """Allocates a round's residency seats and funding budgets exactly, as a MILP.

    Args:
        time_limit_s: solver time limit in seconds (``None``: none); when reached, the best
            allocation found is returned with ``optimal=False`` and its gap.
        top_k: candidate programs kept per application, best scores first (pins and pairs
            named by per-program province minimums are always kept); ``None`` keeps all.
        funding_top_k: of those, the programs that may fund the application: the ones whose
            largest possible grant is worth most in the objective (fit x P(funding) x share
            of the request it covers, plus `funding_award`), among those that can fund it at
            all; funding pins are always kept. ``None``: every candidate pair of `top_k`.
        funding_lp_candidates: with a `funding_top_k`, also let fund every candidate pair (of
            `top_k`) that the LP relaxation of the funding part over all of them funds: the
            pairs where scarce budgets are best spent, which a per-application ranking cannot
            see. The funding is then proven optimal among those pairs.
        weights: `AllocationWeights` or a dict of its fields.
        mip_rel_gap: relative gap at which the solver calls a solution optimal.
    """

    def __init__(
        self,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        top_k: int | None = DEFAULT_ALLOCATION_TOP_K,
        weights: AllocationWeights | Mapping[str, Any] | None = None,
        mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
        funding_top_k: int | None = DEFAULT_FUNDING_TOP_K,
        funding_lp_candidates: bool = True,
    ) -> None:
        self.time_limit_s = time_limit_s
        self.top_k = top_k
        self.funding_top_k = funding_top_k
        self.funding_lp_candidates = funding_lp_candidates
        self.weights = weights
        self.mip_rel_gap = mip_rel_gap

    def get_config(self) -> dict[str, Any]:
        """JSON-ready settings; ``Allocator(**config)`` rebuilds the same allocator."""
        return {
            "time_limit_s": self.time_limit_s,
            "top_k": self.top_k,
            "weights": self._weights().to_dict(),
            "mip_rel_gap": self.mip_rel_gap,
            "funding_top_k": self.funding_top_k,
            "funding_lp_candidates": self.funding_lp_candidates,
        }

    def _weights(self) -> AllocationWeights:
        if self.weights is None:
            return AllocationWeights()
        if isinstance(self.weights, AllocationWeights):
            return self.weights
        return AllocationWeights(**dict(self.weights))

    def _check_settings(self) -> None:
        if not (self.time_limit_s is None or self.time_limit_s > 0):
            raise InvalidInputError("time_limit_s must be > 0")
        if self.top_k is not None and not (isinstance(self.top_k, int) and self.top_k >= 1):
            raise InvalidInputError("top_k must be a whole number >= 1 or None")
        if self.funding_top_k is not None and not (
            isinstance(self.funding_top_k, int) and self.funding_top_k >= 1
        ):
            raise InvalidInputError("funding_top_k must be a whole number >= 1 or None")
        if not isinstance(self.funding_lp_candidates, bool):
            raise InvalidInputError("funding_lp_candidates must be True or False")
        if not 0 <= self.mip_rel_gap < 1:
            raise InvalidInputError("mip_rel_gap must be in [0, 1)")

    # ------------------------------------------------------------------ public

    def solve(self, problem: AllocationProblem) -> AllocationResult:
        """Allocate residencies and funding for `problem`.

        Returns:
            The allocation with solver status, gap and sanity figures.

        Raises:
            InfeasibleError: the pins / province minimums cannot all be met (names them).
            SolverTimeLimitError: the time limit ran out before any allocation was found.
            InvalidInputError: bad settings.
        """
        self._check_settings()
        started = time.perf_counter()
        allowed = problem.eligible.copy()
        a_index = {a: i for i, a in enumerate(problem.application_ids)}
        p_index = {p: j for j, p in enumerate(problem.program_ids)}
        for a, p in problem.vetoes:
            allowed[a_index[a], p_index[p]] = False
        part_info: dict[str, dict[str, Any]] = {}
        model = self._model(problem, allowed, a_index, p_index, part_info)
        parts, x_values, yf_values = self._solve_parts(problem, model, started, part_info)
        x_on, y_on, amounts = round_solution(problem, model, x_values, yf_values)
        optimal, gap, bound, status = self._status(parts)
        return build_result(
            problem,
            model,
            x_on,
            y_on,
            amounts,
            allowed,
            status=status,
            optimal=optimal,
            gap=gap,
            bound=bound,
            seconds=time.perf_counter() - started,
            config=self.get_config(),
            parts=part_info,
        )

    def what_if(
        self,
        problem: AllocationProblem,
        previous_result: AllocationResult,
        seat_changes: Mapping[str, int] | None = None,
        budget_changes: Mapping[str, int] | None = None,
    ) -> tuple[AllocationResult, AllocationDiff]:
        """Re-solve with some programs' seats/budgets set to new values; see `what_if`."""
        new_problem = problem.with_capacity(seats=seat_changes, budget=budget_changes)
        new_result = self.solve(new_problem)
        return new_result, diff_allocations(previous_result, new_result)

    # ------------------------------------------------------------------ internals

    def _model(
        self,
        problem: AllocationProblem,
        allowed: np.ndarray,
        a_index: dict[str, int],
        p_index: dict[str, int],
        part_info: dict[str, dict[str, Any]],
    ) -> Model:
        """Check pins and province minimums, choose the candidate pairs, build the model.

        With `funding_lp_candidates`, the LP relaxation's funded pairs join the funding
        candidates and its figures go to ``part_info["funding_lp"]``.
        """
        weights = self._weights()
        can_x, can_y, lo_pair, hi_pair = capabilities(problem)
        pin_x, pin_y = check_pins(problem, allowed, can_x, can_y, lo_pair, a_index, p_index)
        keep = self._candidates(problem, allowed, pin_x | pin_y)
        check_province_minimums(problem, keep & can_x, pin_x)
        keep_y = (
            best_per_row(
                funding_value(problem, weights, hi_pair), keep & can_y, self.funding_top_k
            )
            | pin_y
        )
        if self.funding_lp_candidates and self.funding_top_k is not None:
            part_started = time.perf_counter()
            full = build_model(
                problem, weights, keep & can_x, keep & can_y, lo_pair, hi_pair, pin_x, pin_y
            )
            if full.ya.size:
                limit = None if self.time_limit_s is None else self.time_limit_s / 3
                lp = _funding_lp(problem, full, limit)
                info = _part_info(lp, part_started)
                if lp.status == 0 and lp.x is not None:
                    on = np.asarray(lp.x)[: full.ya.size] > 1e-9
                    keep_y[full.ya[on], full.yp[on]] = True
                    info["pairs_added"] = int(on.sum())
                part_info["funding_lp"] = info
        return build_model(
            problem, weights, keep & can_x, keep_y & can_y, lo_pair, hi_pair, pin_x, pin_y
        )

    def _solve_parts(
        self,
        problem: AllocationProblem,
        model: Model,
        started: float,
        part_info: dict[str, dict[str, Any]],
    ) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """Solve the residency part, then the funding part with the time left.

        Returns:
            (the solver results of the parts solved, x values, y and f values).
        """
        # Residency (x) and funding (y, f) share no constraint and the objective is their
        # sum, so the two parts are solved as two MILPs: same optimum, much easier to prove.
        parts: list[Any] = []
        x_values = np.zeros(0)
        yf_values = np.zeros(0)
        limit = self.time_limit_s
        if model.xa.size:
            part_started = time.perf_counter()
            res = self._milp(residency_matrices(problem, model), limit)
            part_info["residency"] = _part_info(res, part_started)
            if res.status == 2:
                raise InfeasibleError(self._diagnose(problem, model))
            x_values = self._solution(res)
            parts.append(res)
        if model.ya.size:
            if limit is not None:  # what the residency part left, but never under 10%
                limit = max(limit - (time.perf_counter() - started), 0.1 * limit)
            part_started = time.perf_counter()
            gap = self._funding_gap(problem, model, parts[0] if parts else None)
            res = self._milp(funding_matrices(problem, model), limit, gap)
            part_info["funding"] = _part_info(res, part_started)
            if res.status == 2:
                raise InfeasibleError(
                    "no allocation satisfies every constraint: the funding pins cannot all be "
                    "honoured within the programs' budgets and grant limits"
                )
            yf_values = self._solution(res)
            parts.append(res)
        return parts, x_values, yf_values

    def _status(self, parts: list[Any]) -> tuple[bool, float, float, tuple[str, str]]:
        """(optimal, gap, bound, (status_code, words)) of the whole from its parts."""
        optimal = all(res.status == 0 for res in parts)
        primal = sum(-float(res.fun) for res in parts)
        bound = sum(
            -float(res.mip_dual_bound)
            if res.mip_dual_bound is not None
            else (-float(res.fun) if res.status == 0 else math.inf)
            for res in parts
        )
        slack = max(bound - primal, 0.0)
        gap = slack / abs(primal) if abs(primal) > 1e-12 else (0.0 if slack <= 1e-9 else math.inf)
        if not parts:
            code, words = "nothing_to_allocate", "nothing to allocate: no eligible candidate pair"
        elif optimal:
            code, words = (
                "optimal",
                "optimal: the best allocation among the candidate pairs, proven",
            )
        else:
            code = "time_limit"
            words = (
                f"time limit of {self.time_limit_s} s reached: the best allocation found so far; "
                f"the best possible is at most {gap:.2%} better"
            )
        return optimal, gap, bound, (code, words)

    def _candidates(
        self, problem: AllocationProblem, allowed: np.ndarray, pinned: np.ndarray
    ) -> np.ndarray:
        """(n_app, n_prog) bool: pairs that get variables."""
        keep = best_per_row(problem.score, allowed, self.top_k) | pinned
        if problem.app_province is not None:
            provinces = np.asarray(problem.app_province, dtype=object)
            p_index = {p: j for j, p in enumerate(problem.program_ids)}
            for key in problem.province_min_seats:
                if isinstance(key, tuple):
                    j = p_index[key[1]]
                    rows = provinces == key[0]
                    keep[rows, j] |= allowed[rows, j]
        return keep

    def _funding_gap(self, problem: AllocationProblem, model: Model, residency: Any) -> float:
        """The relative gap the funding part may stop at so the whole stays within
        `mip_rel_gap`.

        The promise is on the sum of both parts: (slack_r + slack_f) / (obj_r + obj_f) <= g.
        With the residency part solved (slack_r known), that holds whenever the funding gap is
        at most ``g + (g * obj_r - slack_r) / U``, U being any upper bound on obj_f: here the
        smaller of "each application at its most valuable pair" and "each program's budget at
        its best value per rial".
        """
        g = self.mip_rel_gap
        if residency is None or residency.status != 0 or residency.fun is None:
            return g
        obj_r = -float(residency.fun)
        bound_r = (
            -float(residency.mip_dual_bound) if residency.mip_dual_bound is not None else obj_r
        )
        spare = g * obj_r - max(bound_r - obj_r, 0.0)
        pair_best = model.value_y + model.value_f * model.hi
        by_app = np.zeros(int(model.ya.max(initial=-1)) + 1)
        np.maximum.at(by_app, model.ya, pair_best)
        rate = model.value_f + model.value_y / np.maximum(model.lo, 1)  # value per rial, max
        by_prog = np.zeros(int(model.yp.max(initial=-1)) + 1)
        np.maximum.at(by_prog, model.yp, rate)
        budget = problem.budget[: by_prog.size].astype(float)
        upper = min(float(by_app.sum()), float((by_prog * budget).sum()))
        if spare <= 0 or upper <= 0:
            return g
        return g + spare / upper

    def _milp(self, matrices: Matrices, time_limit: float | None, gap: float | None = None) -> Any:
        c, integrality, bounds, constraints = matrices
        options: dict[str, Any] = {"mip_rel_gap": self.mip_rel_gap if gap is None else gap}
        if time_limit is not None:
            options["time_limit"] = float(time_limit)
        return milp(
            c, integrality=integrality, bounds=bounds, constraints=constraints, options=options
        )

    def _solution(self, res: Any) -> np.ndarray:
        """The solver's values, or a plain-words error when it has none."""
        if res.x is not None and res.status in (0, 1):
            return np.asarray(res.x)
        if res.status == 1:
            raise SolverTimeLimitError(
                f"the time limit of {self.time_limit_s} s was reached before any allocation "
                "honouring the pins and province minimums was found; raise time_limit_s or "
                "lower top_k"
            )
        raise PeyvandError(f"the allocation solver stopped without a result ({res.message})")

    def _diagnose(self, problem: AllocationProblem, model: Model) -> str:
        """Which constraint family makes the residency part infeasible, in plain words.

        Every constraint except pins and province minimums is met by giving nothing, and the
        pins alone were checked before solving, so the province minimums are involved.
        """
        head = "no allocation satisfies every constraint: "
        if not problem.province_min_seats:
            return head + "the residency pins conflict with the seats"
        res = self._milp(
            residency_matrices(problem, model, with_pins=False, objective=False),
            self.time_limit_s,
        )
        mins = ", ".join(
            f"{k[0]} at {k[1]}: {v}" if isinstance(k, tuple) else f"{k}: {v}"
            for k, v in problem.province_min_seats.items()
            if v > 0
        )
        if res.status == 0:
            return head + (
                "the per-province minimum seats cannot be met together with the pins (pinned "
                f"applications from other provinces take the seats). Minimums: {mins}"
            )
        return head + (
            "the per-province minimum seats cannot be met with the seats and eligible "
            f"applications available (a larger top_k may help). Minimums: {mins}"
        )


def what_if(
    problem: AllocationProblem,
    previous_result: AllocationResult,
    seat_changes: Mapping[str, int] | None = None,
    budget_changes: Mapping[str, int] | None = None,
    *,
    allocator: Allocator | None = None,
) -> tuple[AllocationResult, AllocationDiff]:
    """Re-solve `problem` with changed seats/budgets and compare with `previous_result`.

    Args:
        problem: the problem that produced `previous_result`.
        previous_result: the allocation to compare against.
        seat_changes: ``{program_id: new_seats}`` (absolute values, not deltas).
        budget_changes: ``{program_id: new_budget_rial}`` (absolute values).
        allocator: the allocator to use; default: one with `previous_result.config`.

    Returns:
        ``(new_result, diff)``.
    """
    if allocator is None:
        allocator = Allocator(**previous_result.config)
    return allocator.what_if(problem, previous_result, seat_changes, budget_changes)
