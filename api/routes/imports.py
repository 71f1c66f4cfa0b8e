"""Imports by upload (staff): the same reader as `peyvand ... import` (recommender.io.files), so the
same all-or-nothing rule and row-numbered errors (422) apply."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile

from recommender.constants import MAX_IMPORT_BYTES
from recommender.errors import InvalidInputError
from recommender.io import files as record_io

from ..deps import RecommenderDep, StaffDep, StoreDep
from ..schemas import ImportResult, RowProblem

router = APIRouter(prefix="/v1/imports", tags=["imports"])

ImportKind = Literal["programs", "applications", "rounds", "outcomes"]


def import_file(
    store: StoreDep, user: StaffDep, kind: str, filename: str, data: bytes, skip_invalid: bool
) -> ImportResult:
    """Validate and store the records of an uploaded file, in one transaction."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInputError(f"{filename}: the file is larger than {MAX_IMPORT_BYTES} bytes")
    suffix = Path(filename or "").suffix.lower()
    record_io.detect_format(f"upload{suffix}")
    with tempfile.TemporaryDirectory(prefix="peyvand-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        result = record_io.read_records(path, kind, skip_invalid=skip_invalid)
    name = Path(filename).name[:200]
    with store.session() as session:
        if kind in ("outcomes", "rounds"):
            known = {
                "programs": store.existing_ids("programs", session=session),
                "applications": store.existing_ids("applications", session=session)
                if kind == "outcomes"
                else set(),
            }
            result = record_io.check_references(
                result, known, skip_invalid=skip_invalid, source=name
            )
        created, updated = store.upsert(kind, result.items, session=session)
        store.audit(
            user.actor,
            "import",
            kind,
            name,
            {"created": created, "updated": updated, "skipped": len(result.errors)},
            session=session,
        )
    return ImportResult(
        kind=kind,
        created=created,
        updated=updated,
        skipped=[RowProblem(row=e.row, field=e.field, message=e.reason) for e in result.errors],
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
        import_file, store, user, kind, file.filename or "", data, skip_invalid
    )
    if kind == "programs" and (result.created or result.updated):
        recommender.reload_in_background()
    return result
