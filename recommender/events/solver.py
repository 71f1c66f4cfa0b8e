"""The exact meeting schedule: a mixed-integer program solved by HiGHS
(`scipy.optimize.milp`, as the round allocation does).

Variables: binary ``x[e, s]`` (pair ``e`` meets in slot ``s``), only for the candidate pairs
(`problem.Candidate`) and the slots both of them are available in; and, for the fairness
level, ``y[p]`` in [0, 1] per startup (``y[p] <= sum of p's x``: at an integer ``x`` the best
``y[p]`` is 1 exactly when ``p`` has a meeting, so ``y`` needs no integrality).

Constraints:

- each participant at most one meeting per slot (and only in slots they are available in:
  other slots have no variable);
- at most ``tables`` meetings per slot;
- at most ``max_meetings_per_participant`` meetings per participant;
- a pair meets at most once;
- pins: ``x = 1`` (`problem.build_problem` checked that they fit together).

Objective, lexicographic (each level is optimal given the levels before it):

0. previous meetings kept (re-scheduling only: "keeps every meeting it can");
1. mutual requests met;
2. one-sided requests met;
3. fairness: startups with at least one meeting. No startup is left without a meeting while
   another has several whenever a schedule exists that gives it one without meeting fewer
   requests (levels 0-2 come first: an explicit request outweighs fairness);
4. fit: the sum over meetings of ``FIT_FLOOR + fit`` (suggestions by fit; every meeting is
   worth something, so free tables are filled).

It is solved by sequential solves with fixed levels, not by weights: level ``k`` is solved
with every earlier level constrained to its optimum. Levels 0-3 count whole things (their
optimum is an integer), so the constraint ``value >= optimum - 1/2`` fixes them exactly, with
no numeric tolerance question; weights large enough to be lexicographic would have to exceed
the whole range of every later level (about ``meetings x (1 + FIT_FLOOR)`` per unit), which
makes the relative gap of the one solve meaningless for the last levels. A level with nothing
to count (no mutual request) is skipped. The time limit is shared: each level gets what the
earlier ones left; when it runs out, the best schedule found so far is returned with
``optimal=False`` and each level's bound (`LevelResult`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from recommender.events.problem import ScheduleProblem

LEVELS: tuple[str, ...] = ("kept", "mutual", "request", "coverage", "fit")
FIT_FLOOR = 0.01
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MIP_REL_GAP = 1e-4
# Levels 0-3 are counts: a gap below 1 / count proves the integer optimum.
_COUNT_GAP = 1e-7


@dataclass(frozen=True)
class LevelResult:
    """One lexicographic level: its value in the schedule, the solver's bound, its status."""

    name: str
    value: float
    bound: float
    status: str  # optimal | time_limit | skipped
    seconds: float

    @property
    def gap(self) -> float:
        slack = max(0.0, self.bound - self.value)
        return 0.0 if slack <= 1e-9 else slack / max(abs(self.bound), 1e-9)


@dataclass(frozen=True)
class Solution:
    """The chosen meetings (candidate index, slot id) and how sure the solver is."""

    chosen: list[tuple[int, str]]
    levels: list[LevelResult]
    n_variables: int

    @property
    def optimal(self) -> bool:
        return all(level.status == "optimal" for level in self.levels)

    @property
    def gap(self) -> float:
        return max((level.gap for level in self.levels), default=0.0)


class _Model:
    """The variables and constraint rows of a problem (module docstring)."""

    def __init__(self, problem: ScheduleProblem) -> None:
        self.problem = problem
        self.columns: list[tuple[int, str]] = [
            (e, s) for e, cand in enumerate(problem.candidates) for s in cand.slots
        ]
        self.startups = [p for p in problem.startups if self._has_candidates(p)]
        self.n_x = len(self.columns)
        self.n = self.n_x + len(self.startups)
        rows: list[dict[int, float]] = []
        upper: list[float] = []
        by_person_slot: dict[tuple[str, str], list[int]] = defaultdict(list)
        by_slot: dict[str, list[int]] = defaultdict(list)
        by_person: dict[str, list[int]] = defaultdict(list)
        by_pair: dict[int, list[int]] = defaultdict(list)
        for j, (e, s) in enumerate(self.columns):
            cand = problem.candidates[e]
            for p in (cand.a, cand.b):
                by_person_slot[(p, s)].append(j)
                by_person[p].append(j)
            by_slot[s].append(j)
            by_pair[e].append(j)
        event = problem.event
        for group, limit in (
            (by_person_slot, 1.0),
            (by_slot, float(event.tables)),
            (by_person, float(event.max_meetings_per_participant)),
            (by_pair, 1.0),
        ):
            for cols in group.values():  # type: ignore[attr-defined]
                if len(cols) > limit:
                    rows.append(dict.fromkeys(cols, 1.0))
                    upper.append(limit)
        for k, p in enumerate(self.startups):  # y[p] - sum x[p] <= 0
            row = {j: -1.0 for j in by_person[p]}
            row[self.n_x + k] = 1.0
            rows.append(row)
            upper.append(0.0)
        self.matrix = _sparse(rows, self.n)
        self.upper = np.asarray(upper, dtype=float)
        lower = np.zeros(self.n)
        pinned = problem.pins
        for j, (e, s) in enumerate(self.columns):
            cand = problem.candidates[e]
            if (cand.a, cand.b, s) in pinned:
                lower[j] = 1.0
        self.bounds = Bounds(lower, np.ones(self.n))
        self.integrality = np.concatenate([np.ones(self.n_x), np.zeros(len(self.startups))])

    def _has_candidates(self, person: str) -> bool:
        return any(person in (c.a, c.b) for c in self.problem.candidates)

    def objective(self, level: str) -> np.ndarray:
        c = np.zeros(self.n)
        cands = self.problem.candidates
        for j, (e, s) in enumerate(self.columns):
            cand = cands[e]
            if level == "kept":
                c[j] = 1.0 if (cand.a, cand.b, s) in self.problem.keep else 0.0
            elif level in ("mutual", "request"):
                c[j] = 1.0 if cand.kind == level else 0.0
            elif level == "fit":
                c[j] = FIT_FLOOR + cand.score
        if level == "coverage":
            c[self.n_x :] = 1.0
        return c


def _sparse(rows: list[dict[int, float]], n: int) -> Any:
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        for j, v in sorted(row.items()):
            indices.append(j)
            data.append(v)
        indptr.append(len(indices))
    return csr_array((data, indices, indptr), shape=(len(rows), n))


def solve(
    problem: ScheduleProblem,
    *,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
) -> Solution:
    """The lexicographically best schedule (module docstring).

    Args:
        problem: from `problem.build_problem` (pins already checked).
        time_limit_s: for all levels together (None: none).
        mip_rel_gap: the relative gap at which the last (fit) level is called optimal.

    Returns:
        The meetings and each level's value, bound and status.
    """
    model = _Model(problem)
    if model.n_x == 0:
        return Solution([], [LevelResult(n, 0.0, 0.0, "optimal", 0.0) for n in LEVELS], 0)
    started = time.perf_counter()
    fixed: list[LinearConstraint] = []
    best: np.ndarray | None = None
    levels: list[LevelResult] = []
    for name in LEVELS:
        c = model.objective(name)
        if not c.any():
            continue
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - started)
        if left is not None and left <= 0.05 and best is not None:
            value = float(c @ best)
            levels.append(LevelResult(name, value, float(c.sum()), "time_limit", 0.0))
            continue
        t0 = time.perf_counter()
        options: dict[str, Any] = {
            "disp": False,
            "mip_rel_gap": mip_rel_gap if name == "fit" else _COUNT_GAP,
        }
        if left is not None:
            options["time_limit"] = max(left, 0.1)
        constraints = [LinearConstraint(model.matrix, -np.inf, model.upper), *fixed]
        res = milp(
            -c,
            integrality=model.integrality,
            bounds=model.bounds,
            constraints=constraints,
            options=options,
        )
        seconds = time.perf_counter() - t0
        if res.x is not None:
            x = np.asarray(res.x)
            x[: model.n_x] = np.round(x[: model.n_x])
            best = x
        if best is None:  # no schedule at all within the time (pins alone are feasible)
            best = model.bounds.lb.astype(float)
        value = float(c @ best)
        bound = -float(res.mip_dual_bound) if res.mip_dual_bound is not None else value
        status = "optimal" if res.status == 0 else "time_limit"
        if name != "fit" and status == "optimal":
            bound = value
        levels.append(LevelResult(name, value, max(bound, value), status, round(seconds, 3)))
        if name != "fit":
            fixed.append(LinearConstraint(csr_array(c.reshape(1, -1)), value - 0.5, np.inf))
    assert best is not None
    chosen = [model.columns[j] for j in range(model.n_x) if best[j] > 0.5]
    return Solution(chosen, levels, model.n)
