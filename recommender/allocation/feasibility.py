"""Checks that need no solver: which pairs could hold a residency or funding at all, and
whether the pins and province minimum seats can be met, with every conflict named in plain
words (`InfeasibleError`) before the solver runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from recommender.allocation.problem import AllocationProblem, Pair
from recommender.errors import InfeasibleError, bilingual


def _pairs_text(pairs: Sequence[Pair], limit: int = 8) -> str:
    text = ", ".join(f"{a} -> {p}" for a, p in pairs[:limit])
    return text + (f", ... ({len(pairs)} in all)" if len(pairs) > limit else "")


def _ids_text(ids: Sequence[str], limit: int = 8) -> str:
    return ", ".join(ids[:limit]) + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")



def capabilities(
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


def check_pins(
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
        raise InfeasibleError(
            bilingual(
                "the pins cannot all be honoured",
                "تصمیم‌های قطعی (pins) با هم شدنی نیستند:\n  " + "\n  ".join(problems),
            )
        )
    return pin_x, pin_y


def check_province_minimums(
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
