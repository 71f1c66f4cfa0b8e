"""Events (staff of the event's house, the network operator, admin): import and export,
participants, suggested meetings, meeting requests, and the exact schedule run as a job.

Every use case is `recommender.events`' (the CLI's `peyvand events ...` runs the same ones);
the job and the reading back of a schedule are `api.event_jobs`'. Another house's event
answers 404 like a missing one (the store is scoped to the caller). Bad input answers 4xx
with one Persian line naming the culprit (an import: every bad row), nothing stored.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Query, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StringConstraints
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from recommender.constants import MAX_IMPORT_BYTES
from recommender.errors import InvalidInputError, NotFoundError
from recommender.events.imports import export_event, import_event
from recommender.events.requests import request_meeting
from recommender.store.database import Store

from ..deps import JobsDep, RecommenderDep, StaffDep, StoreDep, WorkerDep
from ..event_jobs import (
    embedder_of,
    latest_schedule,
    named_suggestions,
    schedule_file,
    submit_schedule,
    warm_suggestions,
)
from ..schemas import JobCreated, RequestBody, RowProblem
from .jobs import download, job_created

router = APIRouter(prefix="/v1/events", tags=["events"])

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class EventImported(BaseModel):
    event_id: str
    org_id: str | None
    created: bool
    participants: int
    skipped: list[RowProblem] = Field(default_factory=list)


class MeetingRequestIn(RequestBody):
    """`from_` asks to meet `to` (JSON: {"from": ..., "to": ...})."""

    from_: Id = Field(alias="from")
    to: Id


class ScheduleIn(RequestBody):
    """Run the schedule; `keep_from`: a previous schedule job to keep meetings of;
    `without`: participants who cancelled."""

    keep_from: Id | None = None
    without: list[Id] = Field(default_factory=list, max_length=10_000)
    pins: list[Annotated[list[Id], Field(min_length=3, max_length=3)]] = Field(
        default_factory=list, max_length=10_000,
        description="meetings that must happen: [participant, participant, slot]",
    )
    time_limit_s: float = Field(default=60.0, ge=1.0, le=600.0)


def import_file(
    store: Store, actor: str, filename: str, data: bytes, skip_invalid: bool,
    event_id: str | None = None, *, recommender: Any,
) -> EventImported:
    """An uploaded event file (or participant list of `event_id`) through the one import use
    case (`recommender.events.imports.import_event`), in one transaction; then the event's
    suggestions are computed in the background with `recommender` (the app's holder:
    `warm_suggestions`). The API's routes and the staff web page import through here."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInputError("پرونده از حد مجاز واردکردن بزرگ‌تر است؛ آن را بخش کنید")
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".json", ".csv", ".xlsx"):
        raise InvalidInputError("نوع پرونده پشتیبانی نمی‌شود؛ .json، .csv یا .xlsx")
    stem = "participants" if event_id else "event"
    with tempfile.TemporaryDirectory(prefix="peyvand-event-") as folder:
        path = Path(folder) / f"{stem}{suffix}"
        path.write_bytes(data)
        report = import_event(
            path,
            open_store=lambda: nullcontext(store),
            actor=actor,
            skip_invalid=skip_invalid,
            event_id=event_id,
        )
    warm_suggestions(recommender, store, report.event_id)
    return EventImported(
        event_id=report.event_id,
        org_id=report.org_id,
        created=report.created,
        participants=report.participants,
        skipped=[RowProblem(row=e.row, field=e.field, message=e.reason) for e in report.errors],
    )


@router.get("")
def list_events(store: StoreDep, user: StaffDep) -> list[dict[str, Any]]:
    """The events of the caller's house (every house's for the network operator and admin)."""
    return [{**e.model_dump(mode="json"), "participants": n} for e, n in store.list_events()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EventImported)
async def create_event(
    store: StoreDep,
    user: StaffDep,
    recommender: RecommenderDep,
    body: Annotated[dict[str, Any], Body(description='{"event": {...}, "participants": [...]}')],
    skip_invalid: Annotated[bool, Query()] = False,
) -> EventImported:
    """Add (or replace) an event and its participants from the import file's JSON object.
    Bad rows: 422 listing each, nothing stored (unless `skip_invalid`)."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return await run_in_threadpool(
        import_file, store, user.actor, "event.json", data, skip_invalid,
        recommender=recommender,
    )


@router.get("/{event_id}")
def get_event(event_id: str, store: StoreDep, user: StaffDep) -> dict[str, Any]:
    data = store.get_event(event_id)
    return {
        "event": data.event.model_dump(mode="json"),
        "participants": [p.model_dump(mode="json") for p in data.participants],
    }


@router.get("/{event_id}/participants")
def list_participants(event_id: str, store: StoreDep, user: StaffDep) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json") for p in store.get_event(event_id).participants]


@router.post("/{event_id}/participants", response_model=EventImported)
async def import_participants(
    event_id: str,
    store: StoreDep,
    user: StaffDep,
    recommender: RecommenderDep,
    file: Annotated[UploadFile, File(description="participants as .csv, .xlsx or a .json list")],
    skip_invalid: Annotated[bool, Query()] = False,
) -> EventImported:
    """Replace the event's participant list. Bad rows: 422 listing each, nothing stored."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    return await run_in_threadpool(
        import_file, store, user.actor, file.filename or "", data, skip_invalid, event_id,
        recommender=recommender,
    )


@router.get("/{event_id}/export", response_class=FileResponse)
def export(
    event_id: str,
    store: StoreDep,
    user: StaffDep,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> FileResponse:
    """The whole event (.json, the import file) or its participant list (.csv, .xlsx)."""
    folder = Path(tempfile.mkdtemp(prefix="peyvand-export-"))
    path = folder / f"{event_id}.{format}"
    export_event(store, event_id, path)
    return download(path, background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


@router.get("/{event_id}/suggestions")
def suggestions(
    event_id: str,
    store: StoreDep,
    user: StaffDep,
    recommender: RecommenderDep,
    participant: Annotated[str | None, Query(max_length=64)] = None,
    top: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> list[dict[str, Any]]:
    """Each startup's best-fitting mentors, investors and programs with Persian reasons
    (only those naming `participant`, when given)."""
    data = store.get_event(event_id)
    embedder = embedder_of(recommender.get())
    return named_suggestions(data, embedder, participant=participant, top=top)


@router.post("/{event_id}/requests", status_code=status.HTTP_201_CREATED)
def add_request(
    event_id: str, body: MeetingRequestIn, store: StoreDep, user: StaffDep
) -> dict[str, Any]:
    """Record that participant `from` asks to meet `to` (422 unknown id or oneself, 409 asked
    before; nothing stored then)."""
    asking = request_meeting(store, event_id, body.from_, body.to, actor=user.actor)
    return asking.model_dump(mode="json")


@router.post("/{event_id}/schedule", status_code=status.HTTP_202_ACCEPTED,
             response_model=JobCreated)
def run_schedule(
    event_id: str,
    store: StoreDep,
    jobs: JobsDep,
    worker: WorkerDep,
    user: StaffDep,
    body: ScheduleIn | None = None,
) -> JobCreated:
    """Schedule the event's meetings exactly, in the background; poll `GET /v1/jobs/{id}`.
    A cancellation or pin naming an unknown participant or slot is 422, pins that cannot all
    happen 409 (the culprit named); nothing is queued then."""
    request = body or ScheduleIn()
    data = store.get_event(event_id)
    job = submit_schedule(
        jobs,
        data,
        actor=user.actor,
        keep_from=request.keep_from,
        without=list(request.without),
        pins=[list(p) for p in request.pins],
        time_limit_s=request.time_limit_s,
    )
    store.audit(user.actor, "schedule", "events", event_id, {"job_id": job.id})
    worker.wake()
    return job_created(job)


@router.get("/{event_id}/schedule")
def get_schedule(event_id: str, store: StoreDep, jobs: JobsDep, user: StaffDep) -> dict[str, Any]:
    """The latest finished schedule: meetings with names and times, its summary and files."""
    data = store.get_event(event_id)
    found = latest_schedule(jobs, event_id)
    if found is None:
        raise NotFoundError(f"رویداد «{event_id}» هنوز زمان‌بندی‌ای ندارد")
    names = {p.id: p.name for p in data.participants}
    slots = {s.id: s for s in data.event.slots}
    base = f"/v1/events/{event_id}/schedule/files"
    return {
        "job_id": found.job.id,
        "finished_at": found.job.finished_at,
        "without": found.without,
        "summary": found.summary,
        "meetings": [
            {
                "slot_id": m.slot_id,
                "start": slots[m.slot_id].start.strftime("%H:%M") if m.slot_id in slots else None,
                "end": slots[m.slot_id].end.strftime("%H:%M") if m.slot_id in slots else None,
                "table": m.table,
                "participant_a": m.participant_a,
                "name_a": names.get(m.participant_a),
                "participant_b": m.participant_b,
                "name_b": names.get(m.participant_b),
                "kind": m.kind,
                "score": m.score,
            }
            for m in found.meetings
        ],
        "files": [
            {"name": n, "url": f"{base}/{n}"}
            for n in ("schedule.xlsx", "schedule.csv", "summary.json", "agendas.zip")
            if (found.folder / n).is_file()
        ],
    }


@router.get("/{event_id}/schedule/files/{name:path}", response_class=FileResponse)
def get_schedule_file(
    event_id: str, name: str, store: StoreDep, jobs: JobsDep, user: StaffDep
) -> FileResponse:
    """A file of the latest schedule (schedule.xlsx, schedule.csv, summary.json, agendas.zip,
    or agendas/<participant>.ics)."""
    store.get_event(event_id)
    path = schedule_file(latest_schedule(jobs, event_id), name)
    return download(path)
