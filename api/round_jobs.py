"""The `round_score` job: every application of an intake round against the round's programs.

This is the service's own simple version (one `Recommender.recommend` per application, no
allocation). The round-scoring engineer's implementation replaces it by registering a function
under the same name::

    from api.jobs import default_registry
    default_registry.register("round_score", my_function, "امتیازدهی دوره")

where `my_function(ctx: JobContext) -> dict` reads `ctx.params` (`round_id`, `top`,
`allocate`), calls `ctx.progress(done, total, message)`, and writes its files into
`ctx.output_dir`.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from recommender.errors import InvalidInputError
from recommender.retrieval.filters import ProgramFilter
from recommender.text.safe_text import spreadsheet_cell

from .engine import recommendation_items
from .jobs import JobContext, JobRegistry

SCORE_COLUMNS = [
    "application_id",
    "startup_name",
    "rank",
    "program_id",
    "program_name",
    "score",
    "p_residency",
    "p_funding",
    "expected_funding",
    "reasons",
]


def _rounded(value: float | None, digits: int) -> float | int | None:
    if value is None:
        return None
    return round(value) if digits == 0 else round(value, digits)


def score_round_job(ctx: JobContext) -> dict[str, Any]:
    """Rank the round's programs for each of its applications; writes `scores.csv` (UTF-8 with
    BOM, opens in Excel), `scores.json` and `shortlists.csv` (the best applications per
    program)."""
    round_id = str(ctx.params.get("round_id", ""))
    top = int(ctx.params.get("top", 10))
    intake = ctx.store.get_round(round_id)
    applications = ctx.store.list_applications(round_id=round_id)
    if not intake.program_ids:
        raise InvalidInputError(f"round '{round_id}' has no programs; attach programs first")
    recommender = ctx.services["recommender"]()
    filters = ProgramFilter(program_ids=list(intake.program_ids))
    rows: list[dict[str, Any]] = []
    total = len(applications)
    ctx.progress(0, max(total, 1), f"۰ از {total} درخواست")
    for done, application in enumerate(applications, start=1):
        result = recommender.recommend(
            application=application, filters=filters, top=min(top, len(intake.program_ids))
        )
        items, _ = recommendation_items(result)
        for rank, item in enumerate(items, start=1):
            rows.append(
                {
                    "application_id": application.id,
                    "startup_name": application.startup_name,
                    "rank": rank,
                    "program_id": item["program_id"],
                    "program_name": item["name"],
                    "score": round(item["score"], 6),
                    "p_residency": _rounded(item["p_residency"], 6),
                    "p_funding": _rounded(item["p_funding"], 6),
                    "expected_funding": _rounded(item["expected_funding"], 0),
                    "reasons": " | ".join(item["reasons"]),
                }
            )
        ctx.progress(done, total, f"{done} از {total} درخواست")
    out = ctx.output_dir
    with (out / "scores.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SCORE_COLUMNS)
        writer.writeheader()
        # Names and ids are user text: never let a cell become a formula.
        writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)
    (out / "scores.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), "utf-8")
    by_program: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_program.setdefault(row["program_id"], []).append(row)
    with (out / "shortlists.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["program_id", "position", "application_id", "startup_name", "score"])
        for program_id in intake.program_ids:
            ranked = sorted(by_program.get(program_id, []), key=lambda r: -r["score"])
            for position, row in enumerate(ranked[:top], start=1):
                writer.writerow(
                    spreadsheet_cell(v)
                    for v in (program_id, position, row["application_id"], row["startup_name"],
                              row["score"])
                )
    return {
        "round_id": round_id,
        "n_applications": total,
        "n_programs": len(intake.program_ids),
        "n_rows": len(rows),
    }


def _real_implementation() -> Any | None:
    """`api.round_scoring.register` when it and `recommender.rounds.run` are installed."""
    import importlib.util

    if importlib.util.find_spec("recommender.rounds.run") is None:
        return None
    try:
        from . import round_scoring
    except ImportError:
        return None
    return round_scoring.register


def register(registry: JobRegistry) -> None:
    """Give `registry` a `round_score` kind unless it has one: the full round scoring
    (`api.round_scoring`, with allocation and the committee reports) when installed, else
    this module's simple version."""
    if registry.get("round_score") is not None:
        return
    real = _real_implementation()
    if real is not None:
        real(registry)
    else:
        registry.register("round_score", score_round_job, "امتیازدهی دوره")
