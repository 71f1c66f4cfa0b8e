"""The allocation MILP as matrices: which pairs get variables, their values, the constraints.

`build_model` turns a validated `AllocationProblem` and the candidate pairs into a `Model`
(variables and their objective values); `residency_matrices` and `funding_matrices` give the
two parts' objective, integrality, bounds and sparse constraints for `scipy.optimize.milp`.
Nothing here runs the solver (see `solver.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint

from recommender.allocation.problem import AllocationProblem, AllocationWeights

# Grant minimums below this share of the largest grant are below the solver's resolution.
LO_RESOLUTION = 1e-5


@dataclass
class Model:
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


def funding_value(
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


def best_per_row(score: np.ndarray, mask: np.ndarray, k: int | None) -> np.ndarray:
    """The `k` best-scored True cells of `mask` in each row (all of them when k is None)."""
    if k is None or k >= mask.shape[1]:
        return mask.copy()
    masked = np.where(mask, score, -np.inf)
    # A stable sort: ties at the boundary are broken by program order.
    top = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    keep = np.zeros_like(mask)
    np.put_along_axis(keep, top, True, axis=1)
    return keep & mask


def build_model(
    problem: AllocationProblem,
    weights: AllocationWeights,
    keep_x: np.ndarray,
    keep_y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    pin_x: np.ndarray,
    pin_y: np.ndarray,
) -> Model:
    xa, xp = np.nonzero(keep_x)
    ya, yp = np.nonzero(keep_y)
    hi_y = hi[ya, yp].astype(np.int64)
    if weights.funding_unit is not None:
        per_rial = np.full(ya.size, 1.0 / weights.funding_unit)
    else:
        per_rial = 1.0 / np.asarray(problem.expected_funding)[ya, yp]
    fit_f = problem.score * problem.p_funding
    return Model(
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


Matrices = tuple[np.ndarray, np.ndarray, Bounds, list[LinearConstraint]]


class Rows:
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


def residency_matrices(
    problem: AllocationProblem, model: Model, *, with_pins: bool = True, objective: bool = True
) -> Matrices:
    """The residency MILP: one binary per candidate pair (xa, xp)."""
    n_x = model.xa.size
    ix = np.arange(n_x)
    rows = Rows(n_x)
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


def funding_matrices(problem: AllocationProblem, model: Model) -> Matrices:
    """The funding MILP: binary y and amount f (in `scale` rial) per candidate pair."""
    n_y = model.ya.size
    iy, jf = np.arange(n_y), n_y + np.arange(n_y)
    lo, hi = model.lo / model.scale, model.hi / model.scale
    rows = Rows(2 * n_y)
    rows.add_sums(model.ya, iy, np.ones(problem.n_applications))  # one funder per application
    rows.add_sums(model.yp, jf, problem.budget / model.scale)  # budgets (sums of f)
    r = np.arange(n_y)
    # f <= hi * y
    rows.add(np.r_[r, r], np.r_[jf, iy], np.r_[np.ones(n_y), -hi], -np.inf, np.zeros(n_y))
    # f >= lo * y, where lo is within the solver's resolution; smaller minimums (grant_min 0
    # means 1 rial) are applied when amounts are rounded to whole rial.
    sel = lo >= LO_RESOLUTION
    k = np.arange(sel.sum())
    rows.add(np.r_[k, k], np.r_[jf[sel], iy[sel]], np.r_[np.ones(k.size), -lo[sel]], 0, np.inf)
    c = -np.concatenate([model.value_y, model.value_f * model.scale])
    lb = np.concatenate([model.y_pinned.astype(float), np.zeros(n_y)])
    ub = np.concatenate([np.ones(n_y), hi])
    integrality = np.concatenate([np.ones(n_y), np.zeros(n_y)])
    return c, integrality, Bounds(lb, ub), rows.constraints()
