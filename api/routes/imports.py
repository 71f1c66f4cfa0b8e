"""Imports by upload (staff): the one import use case (`recommender.io.imports`) that
`peyvand ... import` runs too, so the same all-or-nothing rule and row-numbered errors (422)
apply, and the same counts are audited."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile

from recommender.constants import MAX_IMPORT_BYTES
from recommender.io.imports import import_upload

from ..deps import RecommenderDep, StaffDep, StoreDep
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


@router.post("/{kind}", response_model=ImportResult)
async def upload(
    kind: ImportKind,
    file: Annotated[UploadFile, File(description=".json, .csv or .xlsx")],
    user: StaffDep,
    store: StoreDep,
    recommender: RecommenderDep,
    skip_invalid: Annotated[bool, Query()] = False,
) -> ImportResult:
    """Import programs, applications, rounds or outcomes from a .json, .csv or .xlsx file.
    Bad rows: 422 listing every row, nothing imported (unless `skip_invalid`)."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(
        import_uploaded_file, store, user, kind, file.filename or "", data, skip_invalid
    )
    if kind == "programs" and (result.created or result.updated):
        recommender.reload_in_background()
    return result
