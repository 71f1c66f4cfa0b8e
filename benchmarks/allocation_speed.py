"""Allocation speed on a seeded random round: 2,000 applications x 150 programs.

Builds the instance, solves it with `Allocator` (HiGHS through scipy.optimize.milp) and
reports model size, solve time (wall and CPU seconds: the machine is shared), status, gap
and peak memory. Target: proven optimal within 30 s on the 2-core development machine.
Each run is one (top_k, funding_top_k) setting; the defaults compare the allocator's defaults
(top_k 20, funding_top_k 1 plus the pairs the funding LP relaxation funds) with funding on
every top_k candidate (``--funding-top-k 0`` means None). ``--no-lp-candidates`` turns the LP's
pairs off.

Usage:
    .venv/bin/python benchmarks/allocation_speed.py [--apps 2000] [--programs 150]
        [--top-k 20] [--funding-top-k 1 0] [--no-lp-candidates] [--time-limit 30]
        [--out benchmarks/results/allocation_speed.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.allocation.problem import AllocationProblem  # noqa: E402
from recommender.allocation.solver import Allocator  # noqa: E402
from recommender.constants import SEED  # noqa: E402

PROVINCES = (
    "Tehran", "Isfahan", "Khorasan Razavi", "Fars", "East Azerbaijan", "Khuzestan",
    "Mazandaran", "Gilan", "Kerman", "Sistan and Baluchestan",
)  # fmt: skip
PROVINCE_SHARE = (0.35, 0.12, 0.1, 0.09, 0.08, 0.07, 0.06, 0.05, 0.05, 0.03)
MILLION = 1_000_000


def random_round(n_apps: int, n_programs: int, seed: int = SEED) -> AllocationProblem:
    """A seeded round with correlated fit scores, scarce seats and budgets, pins and vetoes."""
    rng = np.random.default_rng(seed)
    app_vec = rng.normal(size=(n_apps, 8))
    prog_vec = rng.normal(size=(n_programs, 8))
    logits = app_vec @ prog_vec.T / np.sqrt(8) + rng.normal(scale=0.5, size=(n_apps, n_programs))
    score = 1.0 / (1.0 + np.exp(-logits))
    eligible = rng.random((n_apps, n_programs)) < 0.7
    needs_residency = rng.random(n_apps) < 0.6
    funding_ask = np.where(
        rng.random(n_apps) < 0.15,
        0,
        np.round(rng.lognormal(np.log(2e9), 0.8, n_apps) / MILLION) * MILLION,
    ).astype(np.int64)
    hosts = rng.random(n_programs) < 0.6
    seats = np.where(hosts, rng.integers(2, 16, n_programs), 0)
    funds = rng.random(n_programs) < 0.7
    budget = np.where(funds, rng.integers(5, 50, n_programs) * 1000 * MILLION, 0)
    grant_min = np.where(
        rng.random(n_programs) < 0.5, 0, rng.integers(1, 5, n_programs) * 100 * MILLION
    )
    grant_max = grant_min + rng.integers(5, 50, n_programs) * 100 * MILLION
    province = rng.choice(PROVINCES, size=n_apps, p=PROVINCE_SHARE)
    app_ids = [f"A-{i}" for i in range(n_apps)]
    prog_ids = [f"P-{j}" for j in range(n_programs)]
    # 20 pins on distinct applications with a free seat, 30 vetoes elsewhere.
    pins, vetoes, used = [], [], np.zeros(n_programs, int)
    for i in rng.permutation(n_apps)[:20]:
        options = np.flatnonzero(eligible[i] & (used < seats)) if needs_residency[i] else []
        if len(options):
            j = rng.choice(options)
            used[j] += 1
            pins.append((app_ids[i], prog_ids[j]))
    pinned = {a for a, _ in pins}
    for i, j in zip(rng.integers(0, n_apps, 60), rng.integers(0, n_programs, 60), strict=True):
        if app_ids[i] not in pinned and len(vetoes) < 30:
            vetoes.append((app_ids[i], prog_ids[j]))
    return AllocationProblem(
        application_ids=app_ids,
        program_ids=prog_ids,
        score=score,
        eligible=eligible,
        needs_residency=needs_residency,
        funding_ask=funding_ask,
        seats=seats,
        budget=budget,
        grant_min=grant_min,
        grant_max=grant_max,
        p_residency=rng.beta(2, 3, size=(n_apps, n_programs)),
        p_funding=rng.beta(2, 4, size=(n_apps, n_programs)),
        app_province=list(province),
        pins=pins,
        vetoes=vetoes,
        # 20 and 25 on 2,000 applications; scaled down with smaller rounds.
        province_min_seats={
            "Sistan and Baluchestan": 20 * n_apps // 2000,
            "Gilan": 25 * n_apps // 2000,
            ("Kerman", prog_ids[0]): 1,
        },
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(args: tuple[int, int, int | None, int | None, bool, float]) -> dict:
    """One solve in a fresh process (so the peak memory is this solve's own)."""
    n_apps, n_programs, top_k, funding_top_k, lp_candidates, time_limit = args
    problem = random_round(n_apps, n_programs)
    started, cpu_started = time.perf_counter(), _cpu()
    result = Allocator(
        time_limit_s=time_limit,
        top_k=top_k,
        funding_top_k=funding_top_k,
        funding_lp_candidates=lp_candidates,
    ).solve(problem)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu() - cpu_started
    return {
        "top_k": top_k,
        "funding_top_k": funding_top_k,
        "lp_candidates": lp_candidates and funding_top_k is not None,
        "candidate_pairs": result.n_candidate_pairs,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "status": result.status_code,
        "optimal": result.optimal,
        "gap": result.gap,
        "parts": result.parts,
        "objective": round(result.objective, 4),
        "placed": result.n_placed,
        "residencies": sum(d.residency for d in result.decisions),
        "funded": sum(d.funding_amount > 0 for d in result.decisions),
        "unfilled_seats": result.unfilled_seats,
        "unused_budget_rial": result.unused_budget,
        "top3_share": round(result.top3_share, 4),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--programs", type=int, default=150)
    parser.add_argument("--top-k", type=int, nargs="+", default=[20])
    parser.add_argument("--funding-top-k", type=int, nargs="+", default=[1, 0])
    parser.add_argument("--no-lp-candidates", action="store_true")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "allocation_speed.json"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    problem = random_round(args.apps, args.programs)
    build_seconds = time.perf_counter() - started
    instance = {
        "needs_residency": int(problem.needs_residency.sum()),
        "seats": int(problem.seats.sum()),
        "asking_funding": int((problem.funding_ask > 0).sum()),
        "funding_asked_rial": int(problem.funding_ask.sum()),
        "budget_rial": int(problem.budget.sum()),
        "eligible_share": round(float(problem.eligible.mean()), 3),
        "pins": len(problem.pins),
        "vetoes": len(problem.vetoes),
        "province_min_seats": {
            (k if isinstance(k, str) else f"{k[0]} at {k[1]}"): v
            for k, v in problem.province_min_seats.items()
        },
    }
    rows = []
    for k in args.top_k:
        for fk in args.funding_top_k:
            job = (args.apps, args.programs, k, fk or None, not args.no_lp_candidates,
                   args.time_limit)  # fmt: skip
            with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
                rows.append(pool.submit(run, job).result())

    cols = ("top_k", "funding_top_k", "lp_candidates", "candidate_pairs", "seconds",
            "cpu_seconds", "status", "gap", "funding_lp", "residency", "funding", "placed",
            "unfilled_seats", "top3_share", "peak_rss_mib")  # fmt: skip
    print(f"allocation: {args.apps} applications x {args.programs} programs, seed {SEED}")
    print(" | ".join(cols))
    for row in rows:
        cells = {**row, "gap": f"{row['gap']:.2e}"}
        for part in ("funding_lp", "residency", "funding"):
            info = row["parts"].get(part, {})
            cells[part] = f"{info.get('status', '-')} {info.get('seconds', 0):.1f}s"
        print(" | ".join(str(cells[c]) for c in cols))
    report = {
        "benchmark": "allocation_speed",
        "applications": args.apps,
        "programs": args.programs,
        "seed": SEED,
        "time_limit_s": args.time_limit,
        "target": "proven optimal in <= 30 s",
        "instance_build_seconds": round(build_seconds, 3),
        "instance": instance,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "runs": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
