"""The `round_score` job split into tasks for queue workers (`api.queue_worker`):

1. `start`: check the params and the round, and cut its applications into chunks of
   `PEYVAND_QUEUE_CHUNK_SIZE` (params may say `chunk_size`);
2. `chunk-NNNN`, one per chunk, run by any worker: score those applications
   (`rounds.chunks.score_chunk`, the code of an in-process run; idempotent);
3. `finish`, once every chunk is in: `api.round_jobs.round_score_job` as in-process — its
   scoring finds every application current, so it only records the run — then the
   allocation and the committee files, in the job's folder.

A round's scoring time so falls with the number of workers; the allocation runs once.
"""

from __future__ import annotations

from typing import Any

from recommender.errors import InvalidInputError
from recommender.rounds.chunks import score_chunk, split_round
from recommender.rounds.scoring import ScoringModel

from .job_tasks import SplitJob, chunk_tasks, default_chunk_size
from .jobs import JobContext
from .round_jobs import JOB_KIND, round_score_job

__all__ = ["JOB_KIND", "SPLIT", "chunk", "finish", "start"]


def model_of(ctx: JobContext) -> ScoringModel:
    """The fitted parts to score with: the worker's own (`scoring_model`, tests and services
    that load the model their own way) or its live recommender's."""
    own = ctx.services.get("scoring_model")
    if own is not None:
        return own() if callable(own) else own
    return ScoringModel.from_recommender(ctx.services["recommender"]())


def start(ctx: JobContext) -> list[tuple[str, dict[str, Any]]]:
    """The job's chunk tasks: [(task name, payload)]."""
    params = dict(ctx.params or {})
    round_id = str(params.get("round_id") or "")
    if not round_id:
        raise InvalidInputError("the job needs a round_id")
    try:
        size = int(params.get("chunk_size", default_chunk_size(ctx)))
        int(params.get("top", 10))
        float(params.get("time_limit_s", 30.0))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("top, time_limit_s and chunk_size must be numbers") from exc
    return chunk_tasks(split_round(ctx.store, round_id, size))


def chunk(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Score one chunk; its small result (counts) is kept on the task."""
    round_id = str(ctx.params.get("round_id") or "")
    result = score_chunk(
        ctx.store, round_id, model_of(ctx), list(payload.get("application_ids", []))
    )
    return result.to_dict()


def finish(ctx: JobContext, chunk_results: list[dict[str, Any]]) -> dict[str, Any]:
    """Allocation and files once every chunk is in; the job's result, whose scoring counts
    are the chunks' (the finish itself scores nothing that the chunks stored)."""
    result = round_score_job(ctx, model=model_of(ctx))
    scoring = result.get("scoring", {})
    rescored = int(scoring.get("n_scored", 0))
    scoring["n_scored"] = sum(int(r.get("n_scored", 0)) for r in chunk_results) + rescored
    scoring["n_reused"] = sum(int(r.get("n_reused", 0)) for r in chunk_results)
    scoring["n_rescored_at_finish"] = rescored
    scoring["n_chunks"] = len(chunk_results)
    scoring["chunk_seconds"] = round(sum(float(r.get("seconds", 0)) for r in chunk_results), 3)
    return result


#: How queue workers run a round's scoring (in-process it runs whole: `round_score_job`).
SPLIT = SplitJob(start, chunk, finish, chunks_done="{done} از {total} بخش امتیازدهی شد")
