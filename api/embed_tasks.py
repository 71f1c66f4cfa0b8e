"""The `plans_embed` job: embed the business plans of stored applications ahead of use
(`recommender.scoring.warm`), so staff matches, applicants' suggestions and a round's
scoring find their vectors ready — after a call's thousands of plans are imported, say.

Params (JSON): `org_id` (the house whose applications; none: every house's, for the network
operator and admin — set by the route from the caller, never from the body), `round_id`
(optional: only that round's applications), `chunk_size` (optional).

With a queue (`PEYVAND_QUEUE_URL`) queue workers run it as tasks (`SPLIT`): the chunks of
applications go to any worker, so the time falls with the number of workers; on PostgreSQL
the vectors land in the store's shared cache, where every API process finds them. Without a
queue it runs whole in the API's job thread (`plans_embed_job`).
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recommender.errors import InvalidInputError
from recommender.rounds.chunks import check_chunk_size, split_ids
from recommender.rounds.scoring import ScoringModel
from recommender.scoring.warm import application_ids, embed_stored_plans
from recommender.store.database import Store
from recommender.store.tenancy import Scope

from .job_tasks import SplitJob, chunk_tasks, default_chunk_size
from .jobs import Job, JobContext, JobRegistry, JobStore
from .round_tasks import model_of

__all__ = [
    "JOB_KIND",
    "JOB_TITLE",
    "SPLIT",
    "embed_here",
    "plans_embed_job",
    "register",
    "submit",
]

JOB_KIND = "plans_embed"
JOB_TITLE = "آماده‌سازی بردار طرح‌ها"


def _store(ctx: JobContext) -> Store:
    """The job's store as its caller sees it: the house's applications only."""
    org_id = ctx.params.get("org_id")
    return ctx.store.scoped(Scope.house(str(org_id))) if org_id else ctx.store


def start(ctx: JobContext) -> list[tuple[str, dict[str, Any]]]:
    """The chunk tasks: the applications (of the house, or of one round) in chunks."""
    try:
        size = int(ctx.params.get("chunk_size", default_chunk_size(ctx)))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("chunk_size must be a number") from exc
    check_chunk_size(size)  # before the applications are read
    ids = application_ids(_store(ctx), ctx.params.get("round_id") or None)
    return chunk_tasks(split_ids(ids, size))


def chunk(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Embed one chunk's plans with the embedder a round's scoring uses (`model_of`: the
    live recommender's), so a round scored later finds them."""
    model = model_of(ctx)
    result = embed_stored_plans(
        _store(ctx), list(payload.get("application_ids", [])), model.embedder, model.plan_role
    )
    return result.to_dict()


def finish(ctx: JobContext, chunk_results: list[dict[str, Any]]) -> dict[str, Any]:
    """The job's result: the chunks' counts added up."""
    keys = ("n_plans", "n_empty", "n_embedded_chunks")
    result: dict[str, Any] = {key: sum(int(r.get(key, 0)) for r in chunk_results) for key in keys}
    result["n_chunks"] = len(chunk_results)
    result["chunk_seconds"] = round(sum(float(r.get("seconds", 0)) for r in chunk_results), 3)
    return result


SPLIT = SplitJob(start, chunk, finish, chunks_done="{done} از {total} بخش از طرح‌ها آماده شد")


def plans_embed_job(ctx: JobContext, model: ScoringModel | None = None) -> dict[str, Any]:
    """The whole job in one process (no queue); `model` as for `register`."""
    if model is not None:
        ctx = dataclasses.replace(ctx, services={**ctx.services, "scoring_model": model})
    return SPLIT.run_whole(ctx)


def embed_here(
    store: Store,
    model: ScoringModel,
    round_id: str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """The same work in the calling process, without a job row (`peyvand applications
    embed`): every application `store` sees, or one round's. `progress` gets (fraction,
    Persian line) before each chunk.

    Raises:
        NotFoundError: `round_id` is not a round `store` sees.
    """
    with tempfile.TemporaryDirectory(prefix="peyvand-embed-") as out:
        ctx = JobContext(
            job_id="",
            params={"round_id": round_id},
            store=store,
            output_dir=Path(out),
            services={"scoring_model": model},
            _report=progress or (lambda fraction, message: None),
        )
        return SPLIT.run_whole(ctx)


def register(registry: JobRegistry, model: ScoringModel | None = None) -> None:
    """Give `registry` the `plans_embed` kind unless it has one.

    Args:
        registry: the job registry.
        model: embed with this model's embedder instead of the live recommender's (tests,
            and services that load the model their own way).
    """
    if registry.get(JOB_KIND) is None:
        function = plans_embed_job if model is None else functools.partial(
            plans_embed_job, model=model
        )
        registry.register(JOB_KIND, function, JOB_TITLE)


def submit(store: Store, jobs: JobStore, *, actor: str, org_id: str | None,
           round_id: str | None = None) -> Job:
    """Queue the job for the caller's house (`store` and `jobs` scoped to the caller; `org_id`
    their house, None for the network operator and admin); audited. The API route and the
    staff web page both submit through here.

    Raises:
        NotFoundError: `round_id` is not a round the caller sees (another house's: 404 too).
    """
    if round_id:
        store.get_round(round_id)
    job = jobs.submit(
        JOB_KIND,
        {"org_id": org_id, "round_id": round_id},
        created_by=actor,
        subject=f"rounds/{round_id}" if round_id else "applications",
        org_id=org_id,
    )
    store.audit(actor, "embed", "applications", round_id or "*", {"job_id": job.id})
    return job
