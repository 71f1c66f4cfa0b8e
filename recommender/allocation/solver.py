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

import dataclasses
import math
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

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
# Grant minimums below this share of the largest grant are below the solver's resolution.
_LO_RESOLUTION = 1e-5

Pair = tuple[str, str]
ProvinceKey = str | tuple[str, str]

_STATUS_FA = {
    "optimal": "بهینه: بهترین تخصیص ممکن میان گزینه‌ها پیدا و اثبات شد",
    "time_limit": "مهلت حل به پایان رسید: بهترین تخصیص پیدا شده تا این لحظه برگردانده شد",
    "nothing_to_allocate": "چیزی برای تخصیص نیست: هیچ جفت واجد شرایطی وجود ندارد",
}


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class AllocationWeights:
    """Objective weights (configuration, not code).

    Attributes:
        residency: value of one residency seat, multiplied by ``score * p_residency``.
        funding: value of a grant of ``funding_unit`` rial, multiplied by
            ``score * p_funding``; linear in the amount.
        funding_award: fixed value of being funded at all, multiplied by
            ``score * p_funding``; larger values spread a budget over more applications.
            Since a funded pair receives at least ``max(grant_min, 1)`` rial, use it only
            with programs that set a meaningful ``grant_min``.
        funding_unit: the rial amount that ``funding`` is the value of. ``None`` (default)
            normalises per pair by the application's request (`expected_funding`): meeting a
            whole request is worth ``funding``, so money goes where it covers the largest
            share of a good fit's need. An int values every rial the same for everyone.
    """

    residency: float = 1.0
    funding: float = 1.0
    funding_award: float = 0.0
    funding_unit: int | None = None

    def __post_init__(self) -> None:
        for name in ("residency", "funding", "funding_award"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"weight '{name}' must be a number >= 0, got {value!r}")
        if self.funding_unit is not None and not (
            isinstance(self.funding_unit, int | np.integer) and self.funding_unit > 0
        ):
            raise InvalidInputError(
                "weight 'funding_unit' must be a positive whole rial amount, "
                f"got {self.funding_unit!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _array(name: str, value: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"'{name}' must be an array of {np.dtype(dtype).name}") from exc
    if arr.shape != shape:
        raise InvalidInputError(f"'{name}' has shape {arr.shape}, expected {shape}")
    return arr


def _whole_rial(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = _array(name, value, shape, np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InvalidInputError(f"'{name}' must hold whole numbers >= 0")
    return arr.astype(np.int64)


@dataclass(eq=False)
class AllocationProblem:
    """One round's allocation problem, as arrays (rows = applications, columns = programs).

    Attributes:
        application_ids: ``(n_applications,)`` unique ids.
        program_ids: ``(n_programs,)`` unique ids.
        score: ``(n_applications, n_programs)`` fit scores (higher is better).
        eligible: ``(n_applications, n_programs)`` bool; False pairs get nothing.
        needs_residency: ``(n_applications,)`` bool.
        funding_ask: ``(n_applications,)`` rial asked (0 = no funding wanted).
        seats: ``(n_programs,)`` residency seats.
        budget: ``(n_programs,)`` funding budget in rial.
        grant_min: ``(n_programs,)`` smallest grant per funded application, rial.
        grant_max: ``(n_programs,)`` largest grant per funded application, rial.
        p_residency: ``(n_applications, n_programs)`` P(residency) from the ranker;
            ``None`` = 1 everywhere.
        p_funding: ``(n_applications, n_programs)`` P(funding); ``None`` = 1 everywhere.
        expected_funding: ``(n_applications, n_programs)`` rial the application would take
            from each program (e.g. predicted by the funding ranker); ``None`` = its
            ``funding_ask`` for every program. A grant never exceeds it.
        app_province: ``(n_applications,)`` province names; needed for province minimums.
        pins: (application_id, program_id) pairs that must be in the allocation.
        vetoes: (application_id, program_id) pairs that must get nothing.
        province_min_seats: ``{province: n}`` (over all programs) and/or
            ``{(province, program_id): n}`` (at that program) minimum residencies.
    """

    application_ids: Sequence[str]
    program_ids: Sequence[str]
    score: np.ndarray
    eligible: np.ndarray
    needs_residency: np.ndarray
    funding_ask: np.ndarray
    seats: np.ndarray
    budget: np.ndarray
    grant_min: np.ndarray
    grant_max: np.ndarray
    p_residency: np.ndarray | None = None
    p_funding: np.ndarray | None = None
    expected_funding: np.ndarray | None = None
    app_province: Sequence[str] | None = None
    pins: Sequence[Pair] = ()
    vetoes: Sequence[Pair] = ()
    province_min_seats: Mapping[ProvinceKey, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.application_ids = [str(a) for a in self.application_ids]
        self.program_ids = [str(p) for p in self.program_ids]
        for name, ids in (
            ("application_ids", self.application_ids),
            ("program_ids", self.program_ids),
        ):
            dup = [i for i, n in Counter(ids).items() if n > 1]
            if dup:
                raise InvalidInputError(f"'{name}' repeats id(s): {', '.join(dup[:10])}")
        n_app, n_prog = len(self.application_ids), len(self.program_ids)
        pair, apps, progs = (n_app, n_prog), (n_app,), (n_prog,)
        self.score = _array("score", self.score, pair, np.float64)
        if not np.all(np.isfinite(self.score)):
            raise InvalidInputError("'score' holds NaN or infinite values")
        self.eligible = _array("eligible", self.eligible, pair, bool)
        self.needs_residency = _array("needs_residency", self.needs_residency, apps, bool)
        self.funding_ask = _whole_rial("funding_ask", self.funding_ask, apps)
        self.seats = _whole_rial("seats", self.seats, progs)
        self.budget = _whole_rial("budget", self.budget, progs)
        self.grant_min = _whole_rial("grant_min", self.grant_min, progs)
        self.grant_max = _whole_rial("grant_max", self.grant_max, progs)
        bad = [self.program_ids[j] for j in np.flatnonzero(self.grant_min > self.grant_max)]
        if bad:
            raise InvalidInputError(
                f"grant_min is larger than grant_max for: {', '.join(bad[:10])}"
            )
        for name in ("p_residency", "p_funding"):
            value = getattr(self, name)
            arr = np.ones(pair) if value is None else _array(name, value, pair, np.float64)
            if not np.all((arr >= 0) & (arr <= 1)):
                raise InvalidInputError(f"'{name}' must hold probabilities between 0 and 1")
            setattr(self, name, arr)
        if self.expected_funding is None:
            self.expected_funding = np.repeat(self.funding_ask[:, None], n_prog, axis=1)
        else:
            self.expected_funding = _whole_rial("expected_funding", self.expected_funding, pair)
        if self.app_province is not None:
            self.app_province = [
                str(p) for p in _array("app_province", list(self.app_province), apps, object)
            ]
        self.pins = self._pairs("pins", self.pins)
        self.vetoes = self._pairs("vetoes", self.vetoes)
        self.province_min_seats = self._province_minimums(dict(self.province_min_seats))

    @property
    def n_applications(self) -> int:
        return len(self.application_ids)

    @property
    def n_programs(self) -> int:
        return len(self.program_ids)

    def _pairs(self, name: str, pairs: Sequence[Pair]) -> list[Pair]:
        known_a, known_p = set(self.application_ids), set(self.program_ids)
        out: list[Pair] = []
        for item in pairs:
            if len(item) != 2:
                raise InvalidInputError(f"each of '{name}' must be (application_id, program_id)")
            a, p = str(item[0]), str(item[1])
            if a not in known_a:
                raise InvalidInputError(f"{name[:-1]} {a} -> {p}: unknown application {a}")
            if p not in known_p:
                raise InvalidInputError(f"{name[:-1]} {a} -> {p}: unknown program {p}")
            if (a, p) not in out:
                out.append((a, p))
        return out

    def _province_minimums(self, mins: dict[Any, Any]) -> dict[ProvinceKey, int]:
        if mins and self.app_province is None:
            raise InvalidInputError("province_min_seats needs app_province")
        known_p = set(self.program_ids)
        out: dict[ProvinceKey, int] = {}
        for key, value in mins.items():
            if not (isinstance(value, int | np.integer) and value >= 0):
                raise InvalidInputError(f"province minimum for {key!r} must be a whole number >= 0")
            if isinstance(key, tuple):
                if len(key) != 2 or str(key[1]) not in known_p:
                    raise InvalidInputError(f"province minimum key {key!r}: unknown program")
                out[(str(key[0]), str(key[1]))] = int(value)
            else:
                out[str(key)] = int(value)
        return out

    def with_capacity(
        self, seats: Mapping[str, int] | None = None, budget: Mapping[str, int] | None = None
    ) -> AllocationProblem:
        """A copy with some programs' seats and/or budgets set to new (absolute) values."""
        index = {p: j for j, p in enumerate(self.program_ids)}
        new_seats, new_budget = self.seats.copy(), self.budget.copy()
        for target, changes in ((new_seats, seats or {}), (new_budget, budget or {})):
            for pid, value in changes.items():
                if pid not in index:
                    raise InvalidInputError(f"unknown program {pid}")
                target[index[pid]] = value
        return dataclasses.replace(self, seats=new_seats, budget=new_budget)


# --------------------------------------------------------------------------- outputs


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


# --------------------------------------------------------------------------- the model


@dataclass
class _Model:
    """Variables of one solve: x for (xa, xp), y and f for (ya, yp); f in `scale` rial."""

    xa: np.ndarray
    xp: np.ndarray
    ya: np.ndarray
    yp: np.ndarray
    lo: np.ndarray  # (n_y,) smallest grant of each funding variable, rial
    hi: np.ndarray  # (n_y,) largest grant, rial
    value_x: np.ndarray
    value_y: np.ndarray
    value_f: np.ndarray  # per rial
    scale: float  # rial per unit of the f variables (keeps the solver's numbers near 1)
    x_pinned: np.ndarray
    y_pinned: np.ndarray
    n_pairs: int


def _part_info(res: Any, started: float) -> dict[str, Any]:
    status = {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(res.status, "failed")
    finite = res.fun is not None and res.x is not None
    return {
        "status": status,
        "objective": -float(res.fun) if finite else None,
        "bound": -float(res.mip_dual_bound) if res.mip_dual_bound is not None else None,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _pairs_text(pairs: Sequence[Pair], limit: int = 8) -> str:
    text = ", ".join(f"{a} -> {p}" for a, p in pairs[:limit])
    return text + (f", ... ({len(pairs)} in all)" if len(pairs) > limit else "")


def _ids_text(ids: Sequence[str], limit: int = 8) -> str:
    return ", ".join(ids[:limit]) + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


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
        weights = self._weights()
        allowed = problem.eligible.copy()
        a_index = {a: i for i, a in enumerate(problem.application_ids)}
        p_index = {p: j for j, p in enumerate(problem.program_ids)}
        for a, p in problem.vetoes:
            allowed[a_index[a], p_index[p]] = False
        can_x, can_y, lo_pair, hi_pair = _capabilities(problem)
        pin_x, pin_y = _check_pins(problem, allowed, can_x, can_y, lo_pair, a_index, p_index)
        keep = self._candidates(problem, allowed, pin_x | pin_y)
        _check_province_minimums(problem, keep & can_x, pin_x)
        keep_y = (
            _best_per_row(
                _funding_value(problem, weights, hi_pair), keep & can_y, self.funding_top_k
            )
            | pin_y
        )
        part_info: dict[str, dict[str, Any]] = {}
        if self.funding_lp_candidates and self.funding_top_k is not None:
            part_started = time.perf_counter()
            full = _build_model(
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
        model = _build_model(
            problem, weights, keep & can_x, keep_y & can_y, lo_pair, hi_pair, pin_x, pin_y
        )

        # Residency (x) and funding (y, f) share no constraint and the objective is their
        # sum, so the two parts are solved as two MILPs: same optimum, much easier to prove.
        parts: list[Any] = []
        x_values = np.zeros(0)
        yf_values = np.zeros(0)
        limit = self.time_limit_s
        if model.xa.size:
            part_started = time.perf_counter()
            res = self._milp(_residency_matrices(problem, model), limit)
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
            res = self._milp(_funding_matrices(problem, model), limit, gap)
            part_info["funding"] = _part_info(res, part_started)
            if res.status == 2:
                raise InfeasibleError(
                    "no allocation satisfies every constraint: the funding pins cannot all be "
                    "honoured within the programs' budgets and grant limits"
                )
            yf_values = self._solution(res)
            parts.append(res)
        x_on, y_on, amounts = _round_solution(problem, model, x_values, yf_values)

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
        return _result(
            problem,
            model,
            x_on,
            y_on,
            amounts,
            allowed,
            status=(code, words),
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

    def _candidates(
        self, problem: AllocationProblem, allowed: np.ndarray, pinned: np.ndarray
    ) -> np.ndarray:
        """(n_app, n_prog) bool: pairs that get variables."""
        keep = _best_per_row(problem.score, allowed, self.top_k) | pinned
        if problem.app_province is not None:
            provinces = np.asarray(problem.app_province, dtype=object)
            p_index = {p: j for j, p in enumerate(problem.program_ids)}
            for key in problem.province_min_seats:
                if isinstance(key, tuple):
                    j = p_index[key[1]]
                    rows = provinces == key[0]
                    keep[rows, j] |= allowed[rows, j]
        return keep

    def _funding_gap(self, problem: AllocationProblem, model: _Model, residency: Any) -> float:
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

    def _milp(self, matrices: _Matrices, time_limit: float | None, gap: float | None = None) -> Any:
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

    def _diagnose(self, problem: AllocationProblem, model: _Model) -> str:
        """Which constraint family makes the residency part infeasible, in plain words.

        Every constraint except pins and province minimums is met by giving nothing, and the
        pins alone were checked before solving, so the province minimums are involved.
        """
        head = "no allocation satisfies every constraint: "
        if not problem.province_min_seats:
            return head + "the residency pins conflict with the seats"
        res = self._milp(
            _residency_matrices(problem, model, with_pins=False, objective=False),
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


# --------------------------------------------------------------------------- helpers


def _funding_value(
    problem: AllocationProblem, weights: AllocationWeights, hi: np.ndarray
) -> np.ndarray:
    """(n_app, n_prog) the most each pair's funding can add to the objective (largest grant)."""
    if weights.funding_unit is not None:
        share = hi / weights.funding_unit
    else:
        expected = np.asarray(problem.expected_funding, dtype=float)
        share = np.divide(hi, expected, out=np.zeros(hi.shape), where=expected > 0)
    fit_f = problem.score * problem.p_funding
    return fit_f * (weights.funding * share + weights.funding_award)


def _best_per_row(score: np.ndarray, mask: np.ndarray, k: int | None) -> np.ndarray:
    """The `k` best-scored True cells of `mask` in each row (all of them when k is None)."""
    if k is None or k >= mask.shape[1]:
        return mask.copy()
    masked = np.where(mask, score, -np.inf)
    # A stable sort: ties at the boundary are broken by program order.
    top = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    keep = np.zeros_like(mask)
    np.put_along_axis(keep, top, True, axis=1)
    return keep & mask


def _capabilities(
    problem: AllocationProblem,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which pairs could hold a residency / funding at all (ignoring eligibility), and the
    per-pair grant range [lo, hi] in rial."""
    can_x = problem.needs_residency[:, None] & (problem.seats > 0)[None, :]
    lo = np.broadcast_to(np.maximum(problem.grant_min, 1)[None, :], problem.score.shape)
    hi = np.minimum(
        np.minimum(problem.grant_max, problem.budget)[None, :], np.asarray(problem.expected_funding)
    )
    can_y = (hi >= lo) & (problem.budget >= lo)
    return can_x, can_y, lo, hi


def _funding_reason(problem: AllocationProblem, i: int, j: int) -> str:
    lo = max(int(problem.grant_min[j]), 1)
    if problem.budget[j] < lo:
        return f"program {problem.program_ids[j]} has no funding budget for even its smallest grant"
    if problem.grant_max[j] < lo:
        return f"program {problem.program_ids[j]} gives no grants"
    return (
        f"the request ({int(np.asarray(problem.expected_funding)[i, j]):,} rial) is below the "
        f"program's smallest grant ({lo:,} rial)"
    )


def _check_pins(
    problem: AllocationProblem,
    allowed: np.ndarray,
    can_x: np.ndarray,
    can_y: np.ndarray,
    lo: np.ndarray,
    a_index: dict[str, int],
    p_index: dict[str, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Turn pins into residency/funding pins; raise InfeasibleError naming every conflict."""
    problems: list[str] = []
    pin_x = np.zeros(problem.score.shape, bool)
    pin_y = np.zeros(problem.score.shape, bool)
    vetoed = set(problem.vetoes)
    bad_veto = [pair for pair in problem.pins if pair in vetoed]
    if bad_veto:
        problems.append(f"pinned and also vetoed: {_pairs_text(bad_veto)}")
    bad_elig = [
        pair for pair in problem.pins if not problem.eligible[a_index[pair[0]], p_index[pair[1]]]
    ]
    if bad_elig:
        problems.append(f"pinned but not eligible: {_pairs_text(bad_elig)}")
    for a, p in problem.pins:
        i, j = a_index[a], p_index[p]
        if (a, p) in vetoed or not problem.eligible[i, j]:
            continue
        if can_x[i, j]:
            pin_x[i, j] = True
        elif can_y[i, j]:
            pin_y[i, j] = True
        else:
            why_x = (
                f"program {p} has no residency seats"
                if problem.needs_residency[i]
                else f"application {a} does not need a residency"
            )
            problems.append(
                f"pin {a} -> {p} cannot be honoured: {why_x}, and it cannot be funded "
                f"({_funding_reason(problem, i, j)})"
            )
    for label, pins in (("residency", pin_x), ("funding", pin_y)):
        for i in np.flatnonzero(pins.sum(axis=1) > 1):
            progs = [problem.program_ids[j] for j in np.flatnonzero(pins[i])]
            problems.append(
                f"application {problem.application_ids[i]} is pinned for {label} at "
                f"{len(progs)} programs ({', '.join(progs)}) but can receive {label} from only one"
            )
    n_pinned = pin_x.sum(axis=0)
    for j in np.flatnonzero(n_pinned > problem.seats):
        apps = [problem.application_ids[i] for i in np.flatnonzero(pin_x[:, j])]
        problems.append(
            f"program {problem.program_ids[j]} has {int(problem.seats[j])} seats but "
            f"{len(apps)} pinned applications: {_ids_text(apps)}"
        )
    need = np.where(pin_y, lo, 0).sum(axis=0)
    for j in np.flatnonzero(need > problem.budget):
        apps = [problem.application_ids[i] for i in np.flatnonzero(pin_y[:, j])]
        problems.append(
            f"program {problem.program_ids[j]} has a budget of {int(problem.budget[j]):,} rial but "
            f"its {len(apps)} pinned funded applications need at least {int(need[j]):,} rial "
            f"(smallest grant each): {_ids_text(apps)}"
        )
    if problems:
        raise InfeasibleError("the pins cannot all be honoured:\n  " + "\n  ".join(problems))
    return pin_x, pin_y


def _check_province_minimums(
    problem: AllocationProblem, cand_x: np.ndarray, pin_x: np.ndarray
) -> None:
    """Plain-words checks of province minimums that need no solver."""
    if not problem.province_min_seats:
        return
    provinces = np.asarray(problem.app_province, dtype=object)
    p_index = {p: j for j, p in enumerate(problem.program_ids)}
    problems: list[str] = []
    per_program: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for key, n in problem.province_min_seats.items():
        if n == 0:
            continue
        if isinstance(key, tuple):
            prov, pid = key
            j = p_index[pid]
            per_program[j].append((prov, n))
            from_prov = provinces == prov
            others = [problem.application_ids[i] for i in np.flatnonzero(pin_x[:, j] & ~from_prov)]
            free = int(problem.seats[j]) - len(others)
            reachable = int((cand_x[:, j] & from_prov).sum())
            if n > problem.seats[j]:
                problems.append(
                    f"program {pid} has {int(problem.seats[j])} seats but at least {n} must go "
                    f"to {prov}"
                )
            elif n > free:
                problems.append(
                    f"program {pid} must give at least {n} seats to {prov} but pinned applications "
                    f"from other provinces leave only {free}: {_ids_text(others)}"
                )
            if n > reachable:
                problems.append(
                    f"program {pid} must give at least {n} seats to {prov} but only {reachable} "
                    f"applications from {prov} need a residency and are eligible there"
                )
        else:
            rows = (provinces == key) & cand_x.any(axis=1)
            reachable = int(rows.sum())
            seats = int(problem.seats[cand_x[rows].any(axis=0)].sum()) if reachable else 0
            if n > reachable:
                problems.append(
                    f"at least {n} residencies must go to {key} but only {reachable} applications "
                    f"from {key} need a residency and are eligible for a program with seats"
                )
            elif n > seats:
                problems.append(
                    f"at least {n} residencies must go to {key} but the programs its applicants "
                    f"are eligible for have only {seats} seats"
                )
    for j, items in per_program.items():
        total = sum(n for _, n in items)
        if len(items) > 1 and total > problem.seats[j]:
            parts = ", ".join(f"{n} to {prov}" for prov, n in items)
            problems.append(
                f"program {problem.program_ids[j]} must give {parts} but has only "
                f"{int(problem.seats[j])} seats"
            )
    if problems:
        raise InfeasibleError(
            "the province minimum seats cannot be met:\n  " + "\n  ".join(problems)
        )


def _build_model(
    problem: AllocationProblem,
    weights: AllocationWeights,
    keep_x: np.ndarray,
    keep_y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    pin_x: np.ndarray,
    pin_y: np.ndarray,
) -> _Model:
    xa, xp = np.nonzero(keep_x)
    ya, yp = np.nonzero(keep_y)
    hi_y = hi[ya, yp].astype(np.int64)
    if weights.funding_unit is not None:
        per_rial = np.full(ya.size, 1.0 / weights.funding_unit)
    else:
        per_rial = 1.0 / np.asarray(problem.expected_funding)[ya, yp]
    fit_f = problem.score * problem.p_funding
    return _Model(
        xa=xa,
        xp=xp,
        ya=ya,
        yp=yp,
        lo=lo[ya, yp].astype(np.int64),
        hi=hi_y,
        value_x=weights.residency * (problem.score * problem.p_residency)[xa, xp],
        value_y=weights.funding_award * fit_f[ya, yp],
        value_f=weights.funding * fit_f[ya, yp] * per_rial,
        scale=float(max(int(hi_y.max(initial=1)), 1)),
        x_pinned=pin_x[xa, xp],
        y_pinned=pin_y[ya, yp],
        n_pairs=int((keep_x | keep_y).sum()),
    )


_Matrices = tuple[np.ndarray, np.ndarray, Bounds, list[LinearConstraint]]


class _Rows:
    """Sparse constraint rows ``lb <= A @ v <= ub``, added in blocks."""

    def __init__(self, n_var: int) -> None:
        self.n_var = n_var
        self.n_rows = 0
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []

    def add(self, row: np.ndarray, col: np.ndarray, val: np.ndarray, lb: Any, ub: Any) -> None:
        n = int(row.max(initial=-1)) + 1 if np.ndim(lb) == 0 else np.size(lb)
        self.parts.append((row + self.n_rows, col, val))
        self.lb.append(np.broadcast_to(np.asarray(lb, float), (n,)))
        self.ub.append(np.broadcast_to(np.asarray(ub, float), (n,)))
        self.n_rows += n

    def add_sums(self, keys: np.ndarray, var: np.ndarray, cap: np.ndarray) -> None:
        """For each key: sum of `var` sharing it <= cap[key]; only rows that can bind."""
        uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        needed = counts > cap[uniq]
        sel = needed[inverse]
        if needed.any():
            row = (np.cumsum(needed) - 1)[inverse[sel]]
            self.add(row, var[sel], np.ones(sel.sum()), -np.inf, cap[uniq[needed]])

    def constraints(self) -> list[LinearConstraint]:
        if not self.n_rows:
            return []
        rows, cols, vals = (np.concatenate(x) for x in zip(*self.parts, strict=True))
        matrix = sp.csr_array((vals, (rows, cols)), shape=(self.n_rows, self.n_var))
        return [LinearConstraint(matrix, np.concatenate(self.lb), np.concatenate(self.ub))]


def _residency_matrices(
    problem: AllocationProblem, model: _Model, *, with_pins: bool = True, objective: bool = True
) -> _Matrices:
    """The residency MILP: one binary per candidate pair (xa, xp)."""
    n_x = model.xa.size
    ix = np.arange(n_x)
    rows = _Rows(n_x)
    rows.add_sums(model.xa, ix, np.ones(problem.n_applications))  # one residency per application
    rows.add_sums(model.xp, ix, problem.seats)  # seats
    if problem.province_min_seats:
        provinces = np.asarray(problem.app_province, dtype=object)[model.xa]
        p_index = {p: j for j, p in enumerate(problem.program_ids)}
        for key, n in problem.province_min_seats.items():
            mask = provinces == (key[0] if isinstance(key, tuple) else key)
            if isinstance(key, tuple):
                mask &= model.xp == p_index[key[1]]
            rows.add(np.zeros(mask.sum(), int), ix[mask], np.ones(mask.sum()), [n], [np.inf])
    lb = model.x_pinned.astype(float) if with_pins else np.zeros(n_x)
    c = -model.value_x if objective else np.zeros(n_x)
    return c, np.ones(n_x), Bounds(lb, np.ones(n_x)), rows.constraints()


def _funding_matrices(problem: AllocationProblem, model: _Model) -> _Matrices:
    """The funding MILP: binary y and amount f (in `scale` rial) per candidate pair."""
    n_y = model.ya.size
    iy, jf = np.arange(n_y), n_y + np.arange(n_y)
    lo, hi = model.lo / model.scale, model.hi / model.scale
    rows = _Rows(2 * n_y)
    rows.add_sums(model.ya, iy, np.ones(problem.n_applications))  # one funder per application
    rows.add_sums(model.yp, jf, problem.budget / model.scale)  # budgets (sums of f)
    r = np.arange(n_y)
    # f <= hi * y
    rows.add(np.r_[r, r], np.r_[jf, iy], np.r_[np.ones(n_y), -hi], -np.inf, np.zeros(n_y))
    # f >= lo * y, where lo is within the solver's resolution; smaller minimums (grant_min 0
    # means 1 rial) are applied when amounts are rounded to whole rial.
    sel = lo >= _LO_RESOLUTION
    k = np.arange(sel.sum())
    rows.add(np.r_[k, k], np.r_[jf[sel], iy[sel]], np.r_[np.ones(k.size), -lo[sel]], 0, np.inf)
    c = -np.concatenate([model.value_y, model.value_f * model.scale])
    lb = np.concatenate([model.y_pinned.astype(float), np.zeros(n_y)])
    ub = np.concatenate([np.ones(n_y), hi])
    integrality = np.concatenate([np.ones(n_y), np.zeros(n_y)])
    return c, integrality, Bounds(lb, ub), rows.constraints()


def _funding_lp(problem: AllocationProblem, model: _Model, time_limit: float | None) -> Any:
    """The funding MILP's LP relaxation (every y continuous)."""
    c, _, bounds, constraints = _funding_matrices(problem, model)
    options: dict[str, Any] = {} if time_limit is None else {"time_limit": float(time_limit)}
    return milp(
        c, integrality=np.zeros(c.size), bounds=bounds, constraints=constraints, options=options
    )


def _round_solution(
    problem: AllocationProblem, model: _Model, x_values: np.ndarray, yf_values: np.ndarray
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


def _result(
    problem: AllocationProblem,
    model: _Model,
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
    n_app, n_prog = problem.score.shape
    residency = np.zeros((n_app, n_prog), bool)
    residency[model.xa[x_on], model.xp[x_on]] = True
    funding = np.zeros((n_app, n_prog), np.int64)
    funding[model.ya[y_on], model.yp[y_on]] = amounts[y_on]
    pinned = set(problem.pins)
    objective = float(
        model.value_x[x_on].sum()
        + model.value_y[y_on].sum()
        + (model.value_f[y_on] * amounts[y_on]).sum()
    )
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
    masked = np.where(allowed, problem.score, -np.inf)
    k = min(3, n_prog)
    top3 = np.zeros((n_app, n_prog), bool)
    if k:
        np.put_along_axis(top3, np.argsort(-masked, axis=1, kind="stable")[:, :k], True, axis=1)
    top3 &= allowed
    in_top3 = ((residency | (funding > 0)) & top3).any(axis=1)
    n_placed = int(placed.sum())
    by_province: dict[str, int] = {}
    res_by_province: dict[str, int] = {}
    if problem.app_province is not None:
        for i in np.flatnonzero(placed):
            prov = problem.app_province[i]
            by_province[prov] = by_province.get(prov, 0) + 1
            if residency[i].any():
                res_by_province[prov] = res_by_province.get(prov, 0) + 1
    return AllocationResult(
        decisions=decisions,
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
        placements_by_province=dict(sorted(by_province.items())),
        residency_by_province=dict(sorted(res_by_province.items())),
        n_candidate_pairs=model.n_pairs,
        solve_seconds=seconds,
        config=config,
        parts=parts,
    )
