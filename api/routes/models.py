"""The ranker registry over the API (admin): `GET /v1/models` lists the registered versions
(as `peyvand models list --json`), `POST /v1/models/train` queues the `train` job
(api/train_jobs.py), which leaves the live model untouched unless the new one is better on the
held-out recent decisions and was trained on enough of them."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from recommender.ranking.registry import ModelRegistry

from ..deps import AdminDep, JobsDep, StoreDep, WorkerDep
from ..schemas import JobCreated, ModelVersion, TrainRequest
from ..train_jobs import JOB_KIND as TRAIN_KIND
from .jobs import job_created

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=list[ModelVersion])
def list_models(request: Request, user: AdminDep) -> list[ModelVersion]:
    """The registered ranker versions, oldest first, with `trained_on_outcomes` and metrics."""
    registry = ModelRegistry(request.app.state.settings.registry_dir)
    return [ModelVersion(**entry) for entry in registry.describe()]


@router.post("/train", status_code=status.HTTP_202_ACCEPTED, response_model=JobCreated)
def train_model(
    store: StoreDep,
    jobs: JobsDep,
    worker: WorkerDep,
    user: AdminDep,
    body: TrainRequest | None = None,
) -> JobCreated:
    """Queue a training job on every outcome in the store. Poll `GET /v1/jobs/{job_id}`: its
    result says the new version, whether it went live and why."""
    params = (body or TrainRequest()).model_dump(exclude_none=True)
    job = jobs.submit(TRAIN_KIND, params, created_by=user.actor, subject="models")
    store.audit(user.actor, "train", "model", "ranker", {"job_id": job.id})
    worker.wake()
    return job_created(job)
