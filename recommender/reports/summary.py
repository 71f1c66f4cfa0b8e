"""The content of summary.json: per-program capacity and use, totals, the solver's status,
optimality and gap, the model version, and fairness / sanity figures (unfilled seats,
unused budget, share of placed applicants placed at one of their top-1 / top-3 programs,
placements per province). The XLSX and HTML reports show the same figures."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from recommender.allocation.capacity import WhatIf
from recommender.allocation.result import AllocationResult
from recommender.reports.round_report import RoundReport, placements, province
from recommender.schemas import IntakeRound
from recommender.scoring.round_scores import RoundScores
from recommender.text.persian import format_jalali


def _num(value: float | None, digits: int = 6) -> float | str:
    if value is None or not math.isfinite(value):
        return ""
    return round(float(value), digits)


def build_summary(report: RoundReport) -> dict[str, Any]:
    """The content of summary.json (see the module docstring)."""
    s = report.scores
    alloc = report.allocation
    programs = _programs(report)
    placed = placements(report)
    summary: dict[str, Any] = {
        "round": _round(report.intake),
        "generated_at": report.generated_at.isoformat(),
        "generated_at_jalali": format_jalali(report.generated_at),
        "model_version": s.model_version,
        "embedding_model": report.embedding_model,
        "data_fingerprint": s.fingerprint,
        "scoring": dict(report.scoring),
        "scores": _score_figures(s),
        "solver_status": alloc.status_code if alloc is not None else None,
        "solver_status_fa": alloc.status_fa if alloc is not None else None,
        "optimal": alloc.optimal if alloc is not None else None,
        "gap": (alloc.gap if math.isfinite(alloc.gap) else None) if alloc is not None else None,
        "objective": alloc.objective if alloc is not None else None,
        "allocation": None,
        "programs": programs,
        "totals": _totals(report, programs, placed),
        "fairness": _fairness(report, placed),
        "notes": list(report.notes),
    }
    if alloc is not None:
        summary["allocation"] = _allocation(alloc)
    if report.what_if is not None:
        summary["what_if"] = _what_if(report.what_if)
    return summary


def _round(intake: IntakeRound) -> dict[str, Any]:
    return {
        "id": intake.id,
        "name": intake.name,
        "opens_on": intake.opens_on.isoformat(),
        "closes_on": intake.closes_on.isoformat(),
        "opens_on_jalali": format_jalali(intake.opens_on),
        "closes_on_jalali": format_jalali(intake.closes_on),
    }


def _programs(report: RoundReport) -> list[dict[str, Any]]:
    """Each round program's capacity (the allocation's when there is one) and use."""
    alloc = report.allocation
    usage = {u.program_id: u for u in alloc.programs} if alloc is not None else {}
    eligible_counts = report.scores.eligible.sum(axis=0)
    programs: list[dict[str, Any]] = []
    for j, cap in enumerate(report.capacity):
        program = report.programs[cap.program_id]
        used = usage.get(cap.program_id)
        seats = used.seats if used is not None else cap.seats
        budget = used.budget if used is not None else cap.budget
        programs.append(
            {
                "program_id": cap.program_id,
                "name": program.name,
                "kind": program.kind,
                "province": program.province,
                "seats": seats,
                "seats_used": used.seats_used if used is not None else None,
                "unfilled_seats": used.unfilled_seats if used is not None else None,
                "budget": budget,
                "budget_used": used.budget_used if used is not None else None,
                "unused_budget": used.unused_budget if used is not None else None,
                "grant_min": cap.grant_min,
                "grant_max": cap.grant_max,
                "seats_source": cap.seats_source,
                "budget_source": cap.budget_source,
                "n_eligible_applications": int(eligible_counts[j]),
            }
        )
    return programs


def _totals(
    report: RoundReport, programs: list[dict[str, Any]], placed: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    s = report.scores
    alloc = report.allocation
    totals: dict[str, Any] = {
        "n_applications": len(s.application_ids),
        "n_programs": len(s.program_ids),
        "seats": sum(int(p["seats"]) for p in programs),
        "budget": sum(int(p["budget"]) for p in programs),
    }
    if alloc is not None:
        totals.update(
            {
                "seats_used": int(sum(u.seats_used for u in alloc.programs)),
                "budget_used": int(sum(u.budget_used for u in alloc.programs)),
                "unfilled_seats": alloc.unfilled_seats,
                "unused_budget": alloc.unused_budget,
                "n_placed": len(placed),
                "n_residencies": sum(1 for e in placed.values() if e["residency"] is not None),
                "n_funded": sum(1 for e in placed.values() if e["funding"] > 0),
            }
        )
    return totals


def _score_figures(s: RoundScores) -> dict[str, Any]:
    eligible_scores = s.score[s.eligible]
    best = np.where(s.eligible, s.score, -np.inf).max(axis=1) if s.score.size else np.zeros(0)
    best = best[np.isfinite(best)]
    return {
        "n_pairs": int(s.score.size),
        "n_eligible_pairs": int(s.eligible.sum()),
        "n_applications_without_eligible_program": int((~s.eligible.any(axis=1)).sum()),
        "mean_eligible_score": _num(float(eligible_scores.mean()))
        if eligible_scores.size
        else None,
        "mean_best_score": _num(float(best.mean())) if best.size else None,
    }


def _choice_counts(report: RoundReport) -> dict[str, int]:
    """Placed applicants by the best rank (among eligible programs, by score) they got."""
    s = report.scores
    ranks = s.ranks_for_application()
    a_index = {a: i for i, a in enumerate(s.application_ids)}
    p_index = {p: j for j, p in enumerate(s.program_ids)}
    counts = {"top1": 0, "top3": 0, "other": 0, "not_placed": 0}
    placed = placements(report)
    for app_id in s.application_ids:
        entry = placed.get(app_id)
        if entry is None:
            counts["not_placed"] += 1
            continue
        best = min(int(ranks[a_index[app_id], p_index[p]]) for p in entry["programs"])
        if best == 1:
            counts["top1"] += 1
            counts["top3"] += 1
        elif best <= 3:
            counts["top3"] += 1
        else:
            counts["other"] += 1
    return counts


def _fairness(report: RoundReport, placed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    alloc = report.allocation
    apps = report.applications
    applicants_by_province = Counter(province(apps[a]) for a in report.scores.application_ids)
    placed_by_province = Counter(province(apps[a]) for a in placed)
    residency_by_province = Counter(
        province(apps[a]) for a, e in placed.items() if e["residency"] is not None
    )
    choice = _choice_counts(report) if alloc is not None else None
    n_placed = len(placed)
    return {
        "unfilled_seats": alloc.unfilled_seats if alloc is not None else None,
        "unused_budget": alloc.unused_budget if alloc is not None else None,
        "n_placed": n_placed if alloc is not None else None,
        "top1_share": choice["top1"] / n_placed if choice and n_placed else None,
        "top3_share": choice["top3"] / n_placed if choice and n_placed else None,
        "choice_counts": choice,
        "applicants_by_province": dict(sorted(applicants_by_province.items())),
        "placements_by_province": dict(sorted(placed_by_province.items())),
        "residency_by_province": dict(sorted(residency_by_province.items())),
    }


def _allocation(alloc: AllocationResult) -> dict[str, Any]:
    return {
        "status": alloc.status,
        "bound": alloc.bound if math.isfinite(alloc.bound) else None,
        "solve_seconds": round(alloc.solve_seconds, 3),
        "n_candidate_pairs": alloc.n_candidate_pairs,
        "n_decisions": len(alloc.decisions),
        "n_pinned": sum(1 for d in alloc.decisions if d.pinned),
        "config": alloc.config,
    }


def _what_if(w: WhatIf) -> dict[str, Any]:
    return {
        "seat_changes": w.seats,
        "budget_changes": w.budget,
        "baseline_stale": w.baseline_stale,
        "objective_before": w.diff.objective_before,
        "objective_after": w.diff.objective_after,
        "optimal": w.result.optimal,
        "residency_gained": len(w.diff.residency_gained),
        "residency_lost": len(w.diff.residency_lost),
        "funding_changes": len(w.diff.funding_changes),
    }
