"""The `round_score` background job on `recommender.rounds.run.run_round`: vectorized, resumable
scoring of a whole round with the live model, optional allocation, and the committee files
(scores.csv, shortlists.csv, top_programs.csv, allocation.csv, summary.json, report.xlsx,
report.html) in the job's output folder.

Params (JSON): `round_id` (required), `top` (default 10), `allocate` (default false),
`time_limit_s` (default 30), `what_if` (optional, e.g. "P-12:seats=5;P-3:seats=0"; compared
with an allocation solved in the same job, since each job has a fresh folder).

`register(registry)` gives a job registry this kind (the app does so at start-up unless the
registry it is given already has a `round_score` kind).
"""

from __future__ import annotations

import functools
from typing import Any

from recommender.errors import InvalidInputError
from recommender.rounds.run import run_round
from recommender.rounds.scoring import ScoringModel
from recommender.text.persian import format_number

from .jobs import JobContext, JobRegistry

JOB_KIND = "round_score"
JOB_TITLE = "امتیازدهی و تخصیص دوره"


def round_score_job(ctx: JobContext, model: ScoringModel | None = None) -> dict[str, Any]:
    """Run one round (a `JobContext` in, the job's small JSON result out).

    Args:
        ctx: the job's context.
        model: the fitted parts to score with (default: those of the service's live
            recommender, `ctx.services["recommender"]()`).
    """
    params = dict(ctx.params or {})
    round_id = str(params.get("round_id") or "")
    if not round_id:
        raise InvalidInputError("the job needs a round_id")
    try:
        top = int(params.get("top", 10))
        time_limit = float(params.get("time_limit_s", 30.0))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("top and time_limit_s must be numbers") from exc
    what_if = params.get("what_if") or None

    def progress(done: int, total: int) -> None:
        ctx.progress(done, total, f"{format_number(done)} از {format_number(total)} درخواست")

    if model is None:
        model = ScoringModel.from_recommender(ctx.services["recommender"]())
    outcome = run_round(
        ctx.store,
        round_id,
        model,
        ctx.output_dir,
        top=top,
        allocate=bool(params.get("allocate", False)) or what_if is not None,
        what_if=what_if,
        time_limit_s=time_limit,
        progress=progress,
    )
    return outcome.to_dict()


def register(registry: JobRegistry, model: ScoringModel | None = None) -> None:
    """Give `registry` the `round_score` kind unless it has one.

    Args:
        registry: the job registry.
        model: score with these fitted parts instead of the live recommender's (tests, and
            services that load the model their own way).
    """
    if registry.get(JOB_KIND) is not None:
        return
    function = round_score_job if model is None else functools.partial(round_score_job,
                                                                        model=model)
    registry.register(JOB_KIND, function, JOB_TITLE)
