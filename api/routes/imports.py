"""Imports by upload (staff): the one import use case (`recommender.io.imports`) that
`peyvand ... import` runs too, so the same all-or-nothing rule and row-numbered errors (422)
apply, and the same counts are audited. What follows a stored import (`after_import`) is the
same for the API and the staff web page: new or changed programs reload the matcher, new or
changed applications have their plans prepared in the background."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile

from recommender.constants import MAX_IMPORT_BYTES
from recommender.io.imports import import_upload
from recommender.store.database import Store

from ..accounts import User
from ..deps import JobsDep, RecommenderDep, StaffDep, StoreDep, WorkerDep
from ..embed_tasks import submit as submit_plans_embed
from ..engine import RecommenderHolder
from ..jobs import JobStore, JobWorker
from ..schemas import ImportResult, RowProblem

router = APIRouter(prefix="/v1/imports", tags=["imports"])

ImportKind = Literal["programs", "applications", "rounds", "outcomes"]


def import_uploaded_file(
    store: StoreDep, user: StaffDep, kind: str, filename: str, data: bytes, skip_invalid: bool
) -> ImportResult:
    """Validate and store the records of an uploaded file, in one transaction (the API's and
    the staff web page's view of `recommender.io.imports.import_upload`)."""
    report = import_upload(
        data,
        filename,
        kind,
        open_store=lambda: nullcontext(store),
        actor=user.actor,
        skip_invalid=skip_invalid,
    )
    return ImportResult(
        kind=kind,
        created=report.created,
        updated=report.updated,
        skipped=[RowProblem(row=e.row, field=e.field, message=e.reason) for e in report.errors],
    )


def after_import(
    result: ImportResult,
    *,
    store: Store,
    jobs: JobStore,
    user: User,
    recommender: RecommenderHolder,
    worker: JobWorker,
) -> ImportResult:
    """What follows a stored import (`store` and `jobs` scoped to the caller): new or changed
    programs reload the matcher (the other API processes follow); new or changed applications
    have their plans embedded in the background (the `plans_embed` job of the caller's house,
    whose id the result carries), so matches and round scoring find them ready."""
    if not (result.created or result.updated):
        return result
    if result.kind == "programs":
        recommender.reload_in_background()
    elif result.kind == "applications":
        job = submit_plans_embed(store, jobs, actor=user.actor, org_id=user.org_id)
        worker.wake()
        result.embed_job_id = job.id
    return result


@router.post("/{kind}", response_model=ImportResult)
async def upload(
    kind: ImportKind,
    file: Annotated[UploadFile, File(description=".json, .csv or .xlsx")],
    user: StaffDep,
    store: StoreDep,
    jobs: JobsDep,
    recommender: RecommenderDep,
    worker: WorkerDep,
    skip_invalid: Annotated[bool, Query()] = False,
) -> ImportResult:
    """Import programs, applications, rounds or outcomes from a .json, .csv or .xlsx file.
    Bad rows: 422 listing every row, nothing imported (unless `skip_invalid`). Imported
    applications: `embed_job_id` is the background job preparing their plans (poll
    `GET /v1/jobs/{id}`)."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(
        import_uploaded_file, store, user, kind, file.filename or "", data, skip_invalid
    )
    return after_import(
        result, store=store, jobs=jobs, user=user, recommender=recommender, worker=worker
    )
