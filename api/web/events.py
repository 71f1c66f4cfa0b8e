"""Staff pages for events (the organiser's): the list with the import form, an event's page
(participants with their kind in Persian and personal agenda links, suggestions with reasons,
the «زمان‌بندی» button running the `event_schedule` job with progress, the latest schedule
slot by slot with its files, re-scheduling after a cancellation) and the downloads.

The rules are the API's (`api/routes/events.py`, `api/event_jobs.py`, `recommender.events`);
a participant's agenda page is api/web/event_agenda.py's. Another house's event answers 404.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from recommender.constants import MAX_IMPORT_BYTES
from recommender.errors import (
    ImportValidationError,
    InfeasibleError,
    InvalidInputError,
    PeyvandError,
)
from recommender.events.imports import export_event
from recommender.events.model import (
    MEETING_KIND_LABELS_FA,
    PARTICIPANT_KIND_LABELS_FA,
    EventData,
)

from ..deps import jobs_for, store_for
from ..event_jobs import (
    SCHEDULE_FILES,
    EventSchedule,
    agenda_token,
    embedder_of,
    latest_schedule,
    named_suggestions,
    schedule_file,
    subject_of,
    submit_schedule,
)
from ..messages import persian
from ..routes.events import import_file
from ..routes.jobs import download, job_public
from .staff_rounds import FILE_LABELS, JOB_STATES_FA, file_links
from .views import WebStaffDep, form_data, render

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)

EXPORT_FORMATS = {"json": "رویداد کامل (JSON)", "csv": "فهرست شرکت‌کنندگان (CSV)",
                  "xlsx": "فهرست شرکت‌کنندگان (Excel)"}
LABELS = {"kinds": PARTICIPANT_KIND_LABELS_FA, "meeting_kinds": MEETING_KIND_LABELS_FA}


def agenda_url(request: Request, event_id: str, participant_id: str) -> str:
    """The personal, signed link of a participant's agenda (works without an account)."""
    token = agenda_token(request.app.state.settings, event_id, participant_id)
    base = str(request.base_url).rstrip("/")
    return f"{base}/events/{event_id}/agenda/{participant_id}?t={token}"


def slot_rows(data: EventData, found: EventSchedule | None) -> list[dict[str, Any]]:
    """The latest schedule slot by slot: each slot with its meetings (names, kind)."""
    if found is None:
        return []
    people = data.by_id()
    out = []
    for slot in data.event.slots:
        meetings = [m for m in found.meetings if m.slot_id == slot.id]
        out.append(
            {
                "slot": slot,
                "meetings": [
                    {
                        "table": m.table,
                        "a": people.get(m.participant_a),
                        "b": people.get(m.participant_b),
                        "a_id": m.participant_a,
                        "b_id": m.participant_b,
                        "kind": m.kind,
                        "score": m.score,
                    }
                    for m in meetings
                ],
            }
        )
    return out


def _suggestions(request: Request, data: EventData) -> tuple[list[dict[str, Any]], str | None]:
    try:
        embedder = embedder_of(request.app.state.recommender.get())
        return named_suggestions(data, embedder), None
    except PeyvandError as exc:
        return [], persian(str(exc), 503)


def _event_page(
    request: Request, user: Any, event_id: str, *, errors: list[dict[str, Any]] | None = None,
    status_code: int = 200, notice: str | None = None,
) -> Response:
    store = store_for(request, user)
    data = store.get_event(event_id)
    jobs = jobs_for(request, user)
    found = latest_schedule(jobs, event_id)
    runs = [job_public(j) for j in jobs.list(subject=subject_of(event_id), limit=10)]
    suggestions, suggest_problem = _suggestions(request, data)
    by_startup: dict[str, list[dict[str, Any]]] = {}
    for s in suggestions:
        by_startup.setdefault(s["startup_id"], []).append(s)
    names = {p.id: p.name for p in data.participants}
    files = [
        {"name": n, "label": FILE_LABELS[n][0], "about": FILE_LABELS[n][1],
         "url": f"/staff/events/{event_id}/files/{n}"}
        for n in SCHEDULE_FILES
        if found is not None and (found.folder / n).is_file()
    ]
    return render(
        request,
        "staff_event.html",
        status_code=status_code,
        user=user,
        data=data,
        event=data.event,
        names=names,
        links={p.id: agenda_url(request, event_id, p.id) for p in data.participants},
        by_startup=by_startup,
        suggest_problem=suggest_problem,
        schedule=found,
        slots=slot_rows(data, found),
        files=files,
        runs=runs,
        run_files={j.id: file_links(j.id, [f.name for f in j.files]) for j in runs},
        busy=any(j.status in ("queued", "running") for j in runs),
        job_states=JOB_STATES_FA,
        export_formats=EXPORT_FORMATS,
        errors=errors or [],
        notice=notice,
        **LABELS,
    )


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request, user: WebStaffDep) -> Response:
    events = store_for(request, user).list_events()
    return render(request, "staff_events.html", user=user, events=events, errors=[])


async def _import(request: Request, user: Any, event_id: str | None) -> tuple[Any, list[Any]]:
    """The posted file through the API's import (all or nothing): (result, errors)."""
    form = await form_data(request)
    upload = form.get("file")
    if not isinstance(upload, StarletteUpload) or not upload.filename:
        return None, [{"field": "فایل", "message": "فایلی انتخاب نشده است."}]
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    try:
        result = await run_in_threadpool(
            import_file, store_for(request, user), user.actor, upload.filename, data,
            form.get("skip_invalid") == "on", event_id, recommender=request.app.state.recommender,
        )
    except ImportValidationError as exc:
        head = {"field": "فایل", "message": persian(str(exc).splitlines()[0], 422)}
        return None, [head] + [
            {"row": e.row, "field": e.field, "message": persian(e.reason, 422)}
            for e in exc.errors
        ]
    except InvalidInputError as exc:
        return None, [{"field": "فایل", "message": persian(str(exc), 422)}]
    return result, []


@router.post("/events", response_class=HTMLResponse)
async def import_event_file(request: Request, user: WebStaffDep) -> Response:
    """Import an event .json (the whole event): its page on success, the problems if not."""
    result, errors = await _import(request, user, None)
    if result is None:
        events = store_for(request, user).list_events()
        return render(
            request, "staff_events.html", status_code=422, user=user, events=events,
            errors=errors,
        )
    return RedirectResponse(
        f"/staff/events/{result.event_id}?imported={result.participants}", status_code=303
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(
    request: Request, event_id: str, user: WebStaffDep, imported: int | None = None
) -> Response:
    notice = None
    if imported is not None:
        from recommender.text.persian import to_persian_digits

        notice = f"رویداد با {to_persian_digits(imported)} شرکت‌کننده ثبت شد."
    return _event_page(request, user, event_id, notice=notice)


@router.post("/events/{event_id}/participants", response_class=HTMLResponse)
async def import_participants(request: Request, event_id: str, user: WebStaffDep) -> Response:
    """Replace the participant list from a .csv/.xlsx/.json file (all or nothing)."""
    store_for(request, user).get_event(event_id)
    result, errors = await _import(request, user, event_id)
    if result is None:
        return _event_page(request, user, event_id, errors=errors, status_code=422)
    return RedirectResponse(
        f"/staff/events/{event_id}?imported={result.participants}", status_code=303
    )


@router.post("/events/{event_id}/schedule")
async def run_schedule(request: Request, event_id: str, user: WebStaffDep) -> Response:
    """Run the schedule (`keep`=on: re-schedule from the latest, keeping its meetings, with
    the checked participants cancelled)."""
    form = await form_data(request)
    store = store_for(request, user)
    data = store.get_event(event_id)
    jobs = jobs_for(request, user)
    running = [j for j in jobs.list(subject=subject_of(event_id), limit=10)
               if j.status in ("queued", "running")]
    if running:  # one run at a time
        return RedirectResponse(f"/staff/events/{event_id}", status_code=303)
    keep_from = None
    if form.get("keep") == "on":
        found = latest_schedule(jobs, event_id)
        keep_from = found.job.id if found is not None else None
    without = [str(v) for v in form.getlist("without")]
    try:
        job = submit_schedule(jobs, data, actor=user.actor, keep_from=keep_from, without=without)
    except (InvalidInputError, InfeasibleError) as exc:
        errors = [{"field": "زمان‌بندی", "message": persian(str(exc), 422)}]
        return _event_page(request, user, event_id, errors=errors, status_code=422)
    store.audit(user.actor, "schedule", "events", event_id, {"job_id": job.id})
    request.app.state.worker.wake()
    return RedirectResponse(f"/staff/events/{event_id}#job-progress", status_code=303)


def _file(path: Path) -> FileResponse:
    return download(path)


@router.get("/events/{event_id}/files/{name:path}")
def event_file(request: Request, event_id: str, name: str, user: WebStaffDep) -> FileResponse:
    """A file of the latest schedule (or agendas/<participant>.ics)."""
    store_for(request, user).get_event(event_id)
    return _file(schedule_file(latest_schedule(jobs_for(request, user), event_id), name))


@router.get("/events/{event_id}/export.{fmt}")
def export(request: Request, event_id: str, fmt: str, user: WebStaffDep) -> FileResponse:
    """The event as its import file (.json) or its participant list (.csv, .xlsx)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(f"قالب «{fmt}» پشتیبانی نمی‌شود؛ json، csv یا xlsx")
    folder = Path(tempfile.mkdtemp(prefix="peyvand-export-"))
    path = folder / f"{event_id}.{fmt}"
    export_event(store_for(request, user), event_id, path)
    response = _file(path)
    response.background = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return response
