"""Tests of the round allocation MILP: constraints, pins, brute-force optimum, errors."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.allocation import solver as allocation_module
from recommender.allocation.problem import AllocationProblem, AllocationWeights
from recommender.allocation.result import AllocationResult
from recommender.allocation.solver import Allocator, what_if
from recommender.errors import InfeasibleError, InvalidInputError, SolverTimeLimitError

M = 1_000_000  # amounts are whole millions of rial, so 1-rial rounding is negligible
EXACT = {"top_k": None, "funding_top_k": None, "mip_rel_gap": 0.0, "time_limit_s": 60.0}
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ----------------------------------------------------------------------------- fixtures


def make_problem(**overrides: Any) -> AllocationProblem:
    """3 applications x 2 programs, everything eligible, overridable field by field."""
    fields: dict[str, Any] = {
        "application_ids": ["A-0", "A-1", "A-2"],
        "program_ids": ["P-0", "P-1"],
        "score": [[0.9, 0.5], [0.8, 0.7], [0.3, 0.6]],
        "eligible": np.ones((3, 2), bool),
        "needs_residency": [True, True, False],
        "funding_ask": [300 * M, 0, 200 * M],
        "seats": [1, 1],
        "budget": [400 * M, 100 * M],
        "grant_min": [100 * M, 0],
        "grant_max": [300 * M, 100 * M],
        "app_province": ["Tehran", "Fars", "Tehran"],
    }
    fields.update(overrides)
    return AllocationProblem(**fields)


@st.composite
def small_problems(draw: Any, max_apps: int = 4, max_progs: int = 3, extras: bool = True) -> Any:
    """Random tiny problems (amounts in whole millions), with pins, vetoes, province minimums."""
    n_a = draw(st.integers(1, max_apps))
    n_p = draw(st.integers(1, max_progs))

    def matrix(elements: Any) -> np.ndarray:
        return np.array(draw(st.lists(elements, min_size=n_a * n_p, max_size=n_a * n_p))).reshape(
            n_a, n_p
        )

    def vector(elements: Any, n: int) -> list[Any]:
        return draw(st.lists(elements, min_size=n, max_size=n))

    apps = [f"A-{i}" for i in range(n_a)]
    progs = [f"P-{j}" for j in range(n_p)]
    grant_min = vector(st.sampled_from([0, 100, 200]), n_p)
    grant_max = [
        g + extra
        for g, extra in zip(grant_min, vector(st.sampled_from([0, 100, 300]), n_p), strict=True)
    ]
    pairs = [(a, p) for a in apps for p in progs]
    pins = draw(st.lists(st.sampled_from(pairs), max_size=2, unique=True)) if extras else []
    vetoes = draw(st.lists(st.sampled_from(pairs), max_size=2, unique=True)) if extras else []
    provinces = vector(st.sampled_from(["Tehran", "Fars"]), n_a)
    mins: dict[Any, int] = {}
    if extras and draw(st.booleans()):
        mins["Fars"] = draw(st.integers(0, 2))
    if extras and draw(st.booleans()):
        mins[("Tehran", draw(st.sampled_from(progs)))] = draw(st.integers(0, 1))
    return AllocationProblem(
        application_ids=apps,
        program_ids=progs,
        score=matrix(st.integers(1, 9)) / 10,
        eligible=matrix(st.sampled_from([True, True, True, False])),
        needs_residency=vector(st.booleans(), n_a),
        funding_ask=[v * M for v in vector(st.sampled_from([0, 100, 150, 300, 400]), n_a)],
        seats=vector(st.integers(0, 2), n_p),
        budget=[v * M for v in vector(st.sampled_from([0, 100, 250, 500, 800]), n_p)],
        grant_min=[v * M for v in grant_min],
        grant_max=[v * M for v in grant_max],
        p_residency=matrix(st.sampled_from([0.5, 1.0])),
        p_funding=matrix(st.sampled_from([0.25, 1.0])),
        app_province=provinces,
        pins=pins,
        vetoes=vetoes,
        province_min_seats=mins,
    )


# ----------------------------------------------------------------------------- references


def assert_valid(
    problem: AllocationProblem, result: AllocationResult, top_k: int | None = None
) -> None:
    """Every constraint of the allocation, checked from the decisions alone."""
    a_idx = {a: i for i, a in enumerate(problem.application_ids)}
    p_idx = {p: j for j, p in enumerate(problem.program_ids)}
    vetoed = set(problem.vetoes)
    residencies: dict[str, list[str]] = {}
    funders: dict[str, list[str]] = {}
    seats_used = np.zeros(problem.n_programs, int)
    budget_used = np.zeros(problem.n_programs, np.int64)
    for d in result.decisions:
        i, j = a_idx[d.application_id], p_idx[d.program_id]
        assert problem.eligible[i, j], d
        assert (d.application_id, d.program_id) not in vetoed, d
        assert d.residency or d.funding_amount > 0, d
        assert isinstance(d.funding_amount, int)
        if d.residency:
            assert problem.needs_residency[i], d
            residencies.setdefault(d.application_id, []).append(d.program_id)
            seats_used[j] += 1
        if d.funding_amount > 0:
            funders.setdefault(d.application_id, []).append(d.program_id)
            assert max(problem.grant_min[j], 1) <= d.funding_amount <= problem.grant_max[j], d
            assert d.funding_amount <= problem.expected_funding[i, j], d
            budget_used[j] += d.funding_amount
        if top_k is not None and (d.application_id, d.program_id) not in set(problem.pins):
            allowed = problem.eligible[i] & np.array(
                [(d.application_id, p) not in vetoed for p in problem.program_ids]
            )
            better = (allowed & (problem.score[i] > problem.score[i, j])).sum()
            assert better < top_k, f"{d} is outside the top {top_k}"
    assert all(len(v) == 1 for v in residencies.values()), residencies
    assert all(len(v) == 1 for v in funders.values()), funders
    assert np.all(seats_used <= problem.seats)
    assert np.all(budget_used <= problem.budget)
    for a, p in problem.pins:
        i, j = a_idx[a], p_idx[p]
        if problem.needs_residency[i] and problem.seats[j] > 0:
            assert residencies.get(a) == [p], f"residency pin {a} -> {p} not honoured"
        else:
            assert funders.get(a) == [p], f"funding pin {a} -> {p} not honoured"
    for key, n in problem.province_min_seats.items():
        prov, prog = key if isinstance(key, tuple) else (key, None)
        got = sum(
            1
            for a, ps in residencies.items()
            if problem.app_province[a_idx[a]] == prov and (prog is None or ps[0] == prog)
        )
        assert got >= n, f"province minimum {key}: {got} < {n}"
    usage = {u.program_id: u for u in result.programs}
    for p, j in p_idx.items():
        assert usage[p].seats_used == seats_used[j]
        assert usage[p].budget_used == budget_used[j]
    assert result.unfilled_seats == int(problem.seats.sum() - seats_used.sum())
    assert result.unused_budget == int(problem.budget.sum() - budget_used.sum())
    assert 0.0 <= result.top3_share <= 1.0


def brute_force(
    problem: AllocationProblem,
    weights: AllocationWeights,
    funding_mask: np.ndarray | None = None,
) -> float | None:
    """Best objective by enumeration, or None when nothing is feasible.

    `funding_mask`: pairs that may be funded (funding pins always may); None = all.

    Residency (x) and funding (y, f) share no constraint and the objective is their sum, so
    each part is enumerated on its own: every application picks no program or one. For a
    fixed choice of funders, each program's amounts are a fractional knapsack: first the
    smallest grants, then the rest of the budget to the best value per rial (exact).
    """
    n_a, n_p = problem.score.shape
    a_idx = {a: i for i, a in enumerate(problem.application_ids)}
    p_idx = {p: j for j, p in enumerate(problem.program_ids)}
    allowed = problem.eligible.copy()
    for a, p in problem.vetoes:
        allowed[a_idx[a], p_idx[p]] = False
    pins = [(a_idx[a], p_idx[p]) for a, p in problem.pins]
    if any(not allowed[i, j] for i, j in pins):
        return None
    res_pins = {(i, j) for i, j in pins if problem.needs_residency[i] and problem.seats[j] > 0}
    fund_pins = set(pins) - res_pins
    provinces = problem.app_province

    best_x = None
    x_options = [
        [None]
        + [
            j
            for j in range(n_p)
            if allowed[i, j] and problem.needs_residency[i] and problem.seats[j] > 0
        ]
        for i in range(n_a)
    ]
    for choice in itertools.product(*x_options):
        if any(choice[i] != j for i, j in res_pins):
            continue
        if any(sum(c == j for c in choice) > problem.seats[j] for j in range(n_p)):
            continue
        ok = True
        for key, n in problem.province_min_seats.items():
            prov, prog = key if isinstance(key, tuple) else (key, None)
            got = sum(
                1
                for i, c in enumerate(choice)
                if c is not None and provinces[i] == prov and (prog is None or c == p_idx[prog])
            )
            ok &= got >= n
        if not ok:
            continue
        value = sum(
            weights.residency * problem.score[i, c] * problem.p_residency[i, c]
            for i, c in enumerate(choice)
            if c is not None
        )
        best_x = value if best_x is None else max(best_x, value)
    if best_x is None:
        return None

    lo = np.maximum(problem.grant_min, 1)
    hi = np.minimum(problem.grant_max[None, :], problem.expected_funding)
    fit = problem.score * problem.p_funding
    request = np.maximum(problem.expected_funding, 1)  # a 0 ask is never funded anyway
    unit = request if weights.funding_unit is None else weights.funding_unit
    per_rial = fit * weights.funding / unit
    may_fund = allowed if funding_mask is None else allowed & funding_mask
    for i, j in fund_pins:
        may_fund[i, j] = allowed[i, j]
    y_options = [
        [None] + [j for j in range(n_p) if may_fund[i, j] and hi[i, j] >= lo[j]] for i in range(n_a)
    ]
    best_y = None
    for choice in itertools.product(*y_options):
        if any(choice[i] != j for i, j in fund_pins):
            continue
        value, ok = 0.0, True
        for j in range(n_p):
            members = [i for i, c in enumerate(choice) if c == j]
            left = problem.budget[j] - lo[j] * len(members)
            if left < 0:
                ok = False
                break
            for i in members:
                value += weights.funding_award * fit[i, j] + per_rial[i, j] * lo[j]
            for i in sorted(members, key=lambda i: -per_rial[i, j]):
                extra = min(left, hi[i, j] - lo[j])
                value += per_rial[i, j] * extra
                left -= extra
        if ok:
            best_y = value if best_y is None else max(best_y, value)
    if best_y is None:
        return None
    return best_x + best_y


# ----------------------------------------------------------------------------- properties


@PROPERTY
@given(problem=small_problems(), award=st.sampled_from([0.0, 0.3]))
def test_optimum_equals_brute_force_on_tiny_instances(
    problem: AllocationProblem, award: float
) -> None:
    weights = AllocationWeights(funding_award=award)
    expected = brute_force(problem, weights)
    allocator = Allocator(weights=weights, **EXACT)
    if expected is None:
        with pytest.raises(InfeasibleError):
            allocator.solve(problem)
        return
    result = allocator.solve(problem)
    assert result.optimal
    assert_valid(problem, result)
    assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-7)
    # The solver's proven bound matches too: rounding to whole rial repaired nothing.
    assert result.bound == pytest.approx(expected, rel=1e-6, abs=1e-6)


def best_funders(problem: AllocationProblem, weights: AllocationWeights, k: int) -> np.ndarray:
    """Each application's k most valuable fundable pairs (value of the largest grant; ties
    by program order), as a mask: the reference for `funding_top_k`."""
    a_idx = {a: i for i, a in enumerate(problem.application_ids)}
    p_idx = {p: j for j, p in enumerate(problem.program_ids)}
    lo = np.maximum(problem.grant_min, 1)
    hi = np.minimum(
        np.minimum(problem.grant_max, problem.budget)[None, :], problem.expected_funding
    )
    fundable = problem.eligible & (hi >= lo[None, :]) & (problem.budget >= lo)[None, :]
    for a, p in problem.vetoes:
        fundable[a_idx[a], p_idx[p]] = False
    request = np.maximum(problem.expected_funding, 1)
    value = (problem.score * problem.p_funding) * (
        weights.funding * hi / request + weights.funding_award
    )
    mask = np.zeros_like(fundable)
    for i in range(problem.n_applications):
        options = sorted(np.flatnonzero(fundable[i]), key=lambda j: (-value[i, j], j))
        mask[i, options[:k]] = True
    return mask


@PROPERTY
@given(problem=small_problems(), k=st.sampled_from([1, 2]), award=st.sampled_from([0.0, 0.3]))
def test_funding_top_k_is_the_optimum_over_each_applications_best_funders(
    problem: AllocationProblem, k: int, award: float
) -> None:
    weights = AllocationWeights(funding_award=award)
    expected = brute_force(problem, weights, best_funders(problem, weights, k))
    allocator = Allocator(
        weights=weights, **{**EXACT, "funding_top_k": k, "funding_lp_candidates": False}
    )
    if expected is None:
        with pytest.raises(InfeasibleError):
            allocator.solve(problem)
        return
    result = allocator.solve(problem)
    assert result.optimal
    assert_valid(problem, result)
    assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-7)
    mask = best_funders(problem, weights, k)
    a_idx = {a: i for i, a in enumerate(problem.application_ids)}
    p_idx = {p: j for j, p in enumerate(problem.program_ids)}
    for d in result.decisions:
        if d.funding_amount > 0 and (d.application_id, d.program_id) not in problem.pins:
            assert mask[a_idx[d.application_id], p_idx[d.program_id]], d


@PROPERTY
@given(problem=small_problems(), award=st.sampled_from([0.0, 0.3]))
def test_funding_lp_candidates_only_add_funding_options(
    problem: AllocationProblem, award: float
) -> None:
    # With the LP relaxation's pairs added to each application's best funder, the optimum is
    # at least the optimum over the best funders alone and at most the optimum over all pairs.
    weights = AllocationWeights(funding_award=award)
    narrow = brute_force(problem, weights, best_funders(problem, weights, 1))
    wide = brute_force(problem, weights)
    allocator = Allocator(
        weights=weights, **{**EXACT, "funding_top_k": 1, "funding_lp_candidates": True}
    )
    if narrow is None:
        with pytest.raises(InfeasibleError):
            allocator.solve(problem)
        return
    result = allocator.solve(problem)
    assert result.optimal
    assert_valid(problem, result)
    assert narrow - 1e-7 <= result.objective <= wide + 1e-7
    if "funding" in result.parts:
        assert (
            result.parts["funding_lp"]["objective"] >= result.parts["funding"]["objective"] - 1e-7
        )


def test_funding_top_k_keeps_funding_pins_and_rejects_bad_values() -> None:
    # Nobody needs a residency, so the pin is a funding pin; A-0's better funder is P-0.
    problem = make_problem(needs_residency=[False, False, False], pins=[("A-0", "P-1")])
    result = Allocator(funding_top_k=1, time_limit_s=10).solve(problem)
    assert_valid(problem, result)
    assert result.funding_of("A-0")[0] == "P-1"
    for bad in (0, -1, 1.5):
        with pytest.raises(InvalidInputError, match="funding_top_k"):
            Allocator(funding_top_k=bad).solve(problem)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="funding_lp_candidates"):
        Allocator(funding_lp_candidates=1).solve(problem)  # type: ignore[arg-type]


@PROPERTY
@given(problem=small_problems(max_apps=12, max_progs=5), top_k=st.sampled_from([1, 2, None]))
def test_no_constraint_is_violated_and_pins_are_honoured(
    problem: AllocationProblem, top_k: int | None
) -> None:
    allocator = Allocator(top_k=top_k, time_limit_s=30)
    try:
        result = allocator.solve(problem)
    except InfeasibleError as exc:
        # Only pins and province minimums can make a problem infeasible (giving nothing
        # satisfies every other constraint), and the message says which.
        assert problem.pins or problem.province_min_seats
        assert "pin" in str(exc) or "province" in str(exc)
        return
    assert_valid(problem, result, top_k=top_k)
    assert {(d.application_id, d.program_id) for d in result.decisions if d.pinned} == set(
        problem.pins
    )


# ----------------------------------------------------------------------------- examples


def test_small_example_by_hand() -> None:
    # both need a seat; P-0 (0.9 / 0.8) and P-1 (0.5 / 0.7): best is A-0 -> P-0,
    # A-1 -> P-1 (0.9 + 0.7 = 1.6 beats 0.8 + 0.5). A-0 asks 300M: P-0 gives it all
    # (value 0.9 for the whole request); A-2 asks 200M: P-0 has 100M left (value 0.3 * 0.5),
    # P-1 gives 100M (value 0.6 * 0.5 = 0.3), so A-2 goes to P-1.
    result = Allocator(**EXACT).solve(make_problem())
    assert result.optimal and result.status_code == "optimal" and result.gap <= 1e-9
    assert result.residency_of("A-0") == "P-0"
    assert result.residency_of("A-1") == "P-1"
    assert result.residency_of("A-2") is None
    assert result.funding_of("A-0") == ("P-0", 300 * M)
    assert result.funding_of("A-1") is None
    assert result.funding_of("A-2") == ("P-1", 100 * M)
    assert result.objective == pytest.approx(0.9 + 0.7 + 0.9 + 0.3)
    assert result.unfilled_seats == 0 and result.unused_budget == 100 * M
    assert result.top3_share == 1.0
    assert result.placements_by_province == {"Fars": 1, "Tehran": 2}
    assert result.residency_by_province == {"Fars": 1, "Tehran": 1}
    assert {k: v["status"] for k, v in result.parts.items()} == {
        "residency": "optimal",
        "funding": "optimal",
    }
    assert result.parts["residency"]["objective"] == pytest.approx(1.6)
    json.dumps(result.to_dict())  # plain data


def one_funder(**overrides: Any) -> AllocationProblem:
    """One program (no seats, 250M budget, grants 100M-200M) and two applications."""
    fields: dict[str, Any] = {
        "application_ids": ["A-0", "A-1"],
        "program_ids": ["P-0"],
        "score": [[0.9], [0.8]],
        "eligible": np.ones((2, 1), bool),
        "needs_residency": [False, False],
        "funding_ask": [200 * M, 200 * M],
        "seats": [0],
        "budget": [250 * M],
        "grant_min": [100 * M],
        "grant_max": [200 * M],
    }
    fields.update(overrides)
    return AllocationProblem(**fields)


def test_grant_minimum_shapes_the_split() -> None:
    # Without a minimum A-0 would take 200M and A-1 the last 50M; with a 100M minimum the
    # best is A-0 150M + A-1 100M (0.675 + 0.4) rather than A-0 alone (0.9).
    result = Allocator(**EXACT).solve(one_funder())
    assert result.funding_of("A-0") == ("P-0", 150 * M)
    assert result.funding_of("A-1") == ("P-0", 100 * M)
    assert result.objective == pytest.approx(1.075)
    assert result.bound == pytest.approx(1.075)


def test_funding_award_spreads_the_budget() -> None:
    # A-1 (0.4, asks 100M) is worth less per rial than A-0 (0.9, asks 200M): without an award
    # A-0 takes the whole 200M budget; an award of 0.3 per funded application makes the split
    # (0.45 + 0.4 + 0.3 * 1.3) beat A-0 alone (0.9 + 0.3 * 0.9).
    problem = one_funder(score=[[0.9], [0.4]], funding_ask=[200 * M, 100 * M], budget=[200 * M])
    plain = Allocator(**EXACT).solve(problem)
    assert plain.funding_of("A-0") == ("P-0", 200 * M) and plain.funding_of("A-1") is None
    spread = Allocator(weights={"funding_award": 0.3}, **EXACT).solve(problem)
    assert spread.funding_of("A-0") == ("P-0", 100 * M)
    assert spread.funding_of("A-1") == ("P-0", 100 * M)
    assert spread.objective == pytest.approx(0.45 + 0.4 + 0.3 * 1.3)


def test_vetoes_and_ineligible_pairs_get_nothing() -> None:
    eligible = np.array([[False, True], [True, True], [True, True]])
    result = Allocator(**EXACT).solve(make_problem(eligible=eligible, vetoes=[("A-1", "P-1")]))
    assert_valid(make_problem(eligible=eligible, vetoes=[("A-1", "P-1")]), result)
    pairs = {(d.application_id, d.program_id) for d in result.decisions}
    assert ("A-0", "P-0") not in pairs and ("A-1", "P-1") not in pairs
    assert result.residency_of("A-1") == "P-0"


def test_pins_override_the_best_choice() -> None:
    problem = make_problem(pins=[("A-1", "P-0"), ("A-2", "P-0")])
    result = Allocator(**EXACT).solve(problem)
    assert_valid(problem, result)
    assert result.residency_of("A-1") == "P-0"  # pinned as residency (needs one, P-0 has seats)
    assert result.funding_of("A-2")[0] == "P-0"  # pinned as funding (needs no residency)
    assert result.residency_of("A-0") == "P-1"


def test_province_minimum_per_program_and_overall() -> None:
    per_program = make_problem(province_min_seats={("Fars", "P-0"): 1})
    result = Allocator(**EXACT).solve(per_program)
    assert_valid(per_program, result)
    assert result.residency_of("A-1") == "P-0"
    overall = make_problem(seats=[1, 0], province_min_seats={"Fars": 1})
    result = Allocator(**EXACT).solve(overall)
    assert result.residency_of("A-1") == "P-0" and result.residency_of("A-0") is None


def test_top_k_prunes_candidates_but_keeps_pins() -> None:
    problem = make_problem(pins=[("A-0", "P-1")])
    result = Allocator(top_k=1, time_limit_s=10).solve(problem)
    assert_valid(problem, result, top_k=1)
    assert result.residency_of("A-0") == "P-1"
    assert result.n_candidate_pairs == 4  # 3 best pairs + the pin


# ----------------------------------------------------------------------------- infeasible


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        (
            {"seats": [1, 5], "pins": [("A-0", "P-0"), ("A-1", "P-0")]},
            ["program P-0 has 1 seats but 2 pinned applications: A-0, A-1"],
        ),
        (
            {"pins": [("A-2", "P-1")], "vetoes": [("A-2", "P-1")]},
            ["pinned and also vetoed: A-2 -> P-1"],
        ),
        (
            {
                "pins": [("A-0", "P-1")],
                "eligible": np.array([[True, False], [True, True], [True, True]]),
            },
            ["pinned but not eligible: A-0 -> P-1"],
        ),
        (
            {"pins": [("A-0", "P-0"), ("A-2", "P-0")], "seats": [0, 1], "budget": [150 * M, 0]},
            ["program P-0 has a budget of 150,000,000 rial", "A-0, A-2"],
        ),
        (
            {"pins": [("A-1", "P-0")], "seats": [0, 1]},
            ["pin A-1 -> P-0 cannot be honoured", "no residency seats", "request"],
        ),
        (
            {"pins": [("A-0", "P-0"), ("A-0", "P-1")]},
            ["application A-0 is pinned for residency at 2 programs (P-0, P-1)"],
        ),
        (
            {"province_min_seats": {("Fars", "P-0"): 2}},
            ["program P-0 has 1 seats but at least 2 must go to Fars"],
        ),
        (
            {"province_min_seats": {"Fars": 2}},
            ["at least 2 residencies must go to Fars", "only 1 applications"],
        ),
        (
            {"pins": [("A-0", "P-0")], "province_min_seats": {("Fars", "P-0"): 1}},
            ["pinned applications from other provinces leave only 0: A-0"],
        ),
    ],
)
def test_infeasible_pins_are_named_before_solving(
    overrides: dict[str, Any], needles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_solver(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the solver must not run")

    monkeypatch.setattr(allocation_module, "milp", no_solver)
    with pytest.raises(InfeasibleError) as info:
        Allocator(**EXACT).solve(make_problem(**overrides))
    for needle in needles:
        assert needle in str(info.value)


def test_infeasibility_found_by_the_solver_names_the_constraint_family() -> None:
    # The only seat is pinned to A-0 (Tehran) yet a Fars applicant must get a seat overall.
    problem = make_problem(seats=[1, 0], pins=[("A-0", "P-0")], province_min_seats={"Fars": 1})
    with pytest.raises(InfeasibleError) as info:
        Allocator(**EXACT).solve(problem)
    message = str(info.value)
    assert "province minimum seats" in message and "pins" in message and "Fars: 1" in message
    assert "HiGHS" not in message and "status" not in message


def test_bad_input_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="shape"):
        make_problem(score=np.zeros((2, 2)))
    with pytest.raises(InvalidInputError, match="unknown application A-9"):
        make_problem(pins=[("A-9", "P-0")])
    with pytest.raises(InvalidInputError, match="grant_min is larger"):
        make_problem(grant_min=[5, 0], grant_max=[1, 0])
    with pytest.raises(InvalidInputError, match="top_k"):
        Allocator(top_k=0).solve(make_problem())


# ----------------------------------------------------------------------------- time limit


def random_problem(n_a: int, n_p: int, seed: int = 7) -> AllocationProblem:
    rng = np.random.default_rng(seed)
    return AllocationProblem(
        application_ids=[f"A-{i}" for i in range(n_a)],
        program_ids=[f"P-{j}" for j in range(n_p)],
        score=rng.random((n_a, n_p)),
        eligible=rng.random((n_a, n_p)) < 0.7,
        needs_residency=rng.random(n_a) < 0.6,
        funding_ask=rng.integers(1, 40, n_a) * 100 * M,
        seats=rng.integers(0, 6, n_p),
        budget=rng.integers(0, 60, n_p) * 1000 * M,
        grant_min=rng.integers(0, 3, n_p) * 100 * M,
        grant_max=rng.integers(3, 40, n_p) * 100 * M,
    )


def test_time_limit_returns_best_found_with_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    real_milp = allocation_module.milp

    def stopped_early(*args: Any, **kwargs: Any) -> Any:
        res = real_milp(*args, **kwargs)
        # What HiGHS reports when the clock runs out: a solution and a bound 5% above it.
        res.status, res.mip_dual_bound = 1, res.fun - 0.05 * abs(res.fun)
        return res

    problem = random_problem(60, 8)
    monkeypatch.setattr(allocation_module, "milp", stopped_early)
    result = Allocator(time_limit_s=5).solve(problem)
    assert not result.optimal
    assert result.status_code == "time_limit"
    assert result.gap == pytest.approx(0.05) and "5.00%" in result.status
    assert result.bound == pytest.approx(1.05 * result.objective, rel=1e-6)
    assert_valid(problem, result)


def test_time_limit_without_any_solution_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_milp = allocation_module.milp

    def nothing_found(*args: Any, **kwargs: Any) -> Any:
        res = real_milp(*args, **kwargs)
        res.status, res.x, res.mip_gap = 1, None, None
        return res

    monkeypatch.setattr(allocation_module, "milp", nothing_found)
    with pytest.raises(SolverTimeLimitError, match="time limit"):
        Allocator(time_limit_s=5).solve(random_problem(10, 3))


def test_tiny_real_time_limit_reports_fields() -> None:
    problem = random_problem(400, 40)
    try:
        result = Allocator(time_limit_s=0.05, top_k=None).solve(problem)
    except SolverTimeLimitError:
        return  # stopped before any allocation: also a documented outcome
    assert result.status_code in {"optimal", "time_limit"}
    assert result.optimal == (result.status_code == "optimal")
    assert result.gap >= 0.0 and (result.optimal or result.gap > 0)
    assert result.bound >= result.objective - 1e-6 or math.isinf(result.bound)
    assert_valid(problem, result)


# ----------------------------------------------------------------------------- what-if


def test_what_if_reports_who_gains_and_loses() -> None:
    problem = make_problem()
    before = Allocator(**EXACT).solve(problem)
    # P-0 loses its seat, P-1 gains one; P-1's budget goes: A-2 must take P-0's leftover 100M.
    after, diff = what_if(
        problem, before, seat_changes={"P-0": 0, "P-1": 2}, budget_changes={"P-1": 0}
    )
    assert after.config == before.config
    assert after.residency_of("A-0") == "P-1" and after.residency_of("A-1") == "P-1"
    assert diff.residency_lost == [{"application_id": "A-0", "program_id": "P-0"}]
    assert diff.residency_gained == [{"application_id": "A-0", "program_id": "P-1"}]
    assert diff.funding_changes == [
        {
            "application_id": "A-2",
            "program_id": "P-0",
            "before": 0,
            "after": 100 * M,
            "delta": 100 * M,
        },
        {
            "application_id": "A-2",
            "program_id": "P-1",
            "before": 100 * M,
            "after": 0,
            "delta": -100 * M,
        },
    ]
    programs = {p["program_id"]: p for p in diff.programs}
    assert (programs["P-0"]["seats_before"], programs["P-0"]["seats_after"]) == (1, 0)
    assert (programs["P-0"]["budget_used_before"], programs["P-0"]["budget_used_after"]) == (
        300 * M,
        400 * M,
    )
    assert (programs["P-1"]["seats_used_before"], programs["P-1"]["seats_used_after"]) == (1, 2)
    assert (programs["P-1"]["budget_before"], programs["P-1"]["budget_after"]) == (100 * M, 0)
    assert diff.objective_before == before.objective and diff.objective_after == after.objective
    assert after.objective == pytest.approx(0.5 + 0.7 + 0.9 + 0.15)
    json.dumps(diff.to_dict())


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(problem=small_problems(max_apps=6, max_progs=3, extras=False), extra=st.integers(0, 2))
def test_more_capacity_never_lowers_the_optimum(problem: AllocationProblem, extra: int) -> None:
    allocator = Allocator(**EXACT)
    before = allocator.solve(problem)
    seats = {p: int(s) + extra for p, s in zip(problem.program_ids, problem.seats, strict=True)}
    after, diff = allocator.what_if(problem, before, seat_changes=seats)
    assert after.objective >= before.objective - 1e-9
    gained = {(g["application_id"], g["program_id"]) for g in diff.residency_gained}
    assert gained == {(d.application_id, d.program_id) for d in after.decisions if d.residency} - {
        (d.application_id, d.program_id) for d in before.decisions if d.residency
    }


def test_config_round_trip() -> None:
    allocator = Allocator(time_limit_s=5, top_k=7, weights={"residency": 2.0, "funding_award": 0.1})
    config = allocator.get_config()
    json.dumps(config)
    again = Allocator(**config)
    assert again.get_config() == config
    assert again._weights() == AllocationWeights(residency=2.0, funding_award=0.1)
