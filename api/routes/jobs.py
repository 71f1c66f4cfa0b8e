"""Background jobs: status, progress and output files (staff); a self-test job (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse

from recommender.errors import NotFoundError

from ..deps import AdminDep, JobsDep, StaffDep, WorkerDep
from ..job_tasks import job_workers
from ..jobs import Job
from ..schemas import JobCreated, JobFile, JobPublic, SelftestRequest

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_MEDIA = {
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".ics": "text/calendar; charset=utf-8",
}


def download(path: Path, **kwargs: Any) -> FileResponse:
    """A file people download (job outputs, event exports and schedules), with its media
    type by suffix and its own name."""
    media = _MEDIA.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media, filename=path.name, **kwargs)


def job_public(job: Job, workers: list[str] | None = None) -> JobPublic:
    return JobPublic(
        id=job.id,
        kind=job.kind,
        subject=job.subject,
        status=job.status,  # type: ignore[arg-type]
        progress=job.progress,
        message=job.message,
        error=job.error,
        result=job.result,
        files=[JobFile(name=n, url=f"/v1/jobs/{job.id}/files/{n}") for n in job.files],
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        workers=workers if workers is not None else ([job.worker] if job.worker else []),
    )


def job_created(job: Job) -> JobCreated:
    return JobCreated(job_id=job.id, status_url=f"/v1/jobs/{job.id}")


@router.get("", response_model=list[JobPublic])
def list_jobs(
    jobs: JobsDep,
    user: StaffDep,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    subject: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[JobPublic]:
    """The caller's house's jobs, newest first (the network operator and admin: every
    house's); of one `kind` (e.g. `plans_embed`, `round_score`) or `subject` (e.g.
    `rounds/R1`, `applications`) when given."""
    found = jobs.list(subject=subject, limit=limit, kind=kind)
    return [job_public(job, job_workers(jobs.store, job.id, job.worker)) for job in found]


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: str, jobs: JobsDep, user: StaffDep) -> JobPublic:
    """A job's status (queued, running, succeeded, failed), progress 0..1, result links and
    the worker processes that ran it."""
    job = jobs.get(job_id)
    return job_public(job, job_workers(jobs.store, job.id, job.worker))


@router.get("/{job_id}/files/{name}", response_class=FileResponse)
def job_file(job_id: str, name: str, jobs: JobsDep, user: StaffDep) -> FileResponse:
    """Download one output file of a finished job."""
    job = jobs.get(job_id)
    if name not in job.files:
        raise NotFoundError(f"job '{job_id}' has no file '{name}'")
    path = jobs.output_dir(job_id) / name
    if not path.is_file():
        raise NotFoundError(f"the file '{name}' of job '{job_id}' is gone")
    return download(path)


@router.post("/selftest", status_code=status.HTTP_202_ACCEPTED, response_model=JobCreated)
def selftest(body: SelftestRequest, jobs: JobsDep, worker: WorkerDep, user: AdminDep) -> JobCreated:
    """Queue a job that only counts steps (checks that the worker runs)."""
    job = jobs.submit("selftest", body.model_dump(), created_by=user.actor)
    worker.wake()
    return job_created(job)
