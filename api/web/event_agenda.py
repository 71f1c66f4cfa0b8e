"""A participant's agenda page: their meetings slot by slot (Jalali date, times in Persian
digits, table, whom they meet) and their suggested meetings, each with a «درخواست ملاقات»
button that records a request (`recommender.events.requests`, the API's rule too).

Two ways in, one page:
- staff of the event's house (and the network operator, admin):
  `/staff/events/{event}/agenda/{participant}`;
- the participant's personal link, no account needed:
  `/events/{event}/agenda/{participant}?t=TOKEN`, the token signed with the service's secret
  (`api.event_jobs.agenda_token`). A wrong or missing token answers 404, like a missing event.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from recommender.errors import ConflictError, InvalidInputError, PeyvandError
from recommender.events.model import EventData
from recommender.events.requests import request_meeting
from recommender.store.database import Store

from ..deps import jobs_for, store_for
from ..event_jobs import (
    agenda_token_ok,
    embedder_of,
    latest_schedule,
    named_suggestions,
    schedule_file,
)
from ..jobs import JobStore
from ..messages import persian
from .events import LABELS
from .views import WebStaffDep, form_data, render

router = APIRouter(tags=["web"], include_in_schema=False)

NOT_FOUND = "صفحه یا موردی که خواستید پیدا نشد."


def _meetings(data: EventData, jobs: JobStore, pid: str) -> list[dict[str, Any]] | None:
    """The participant's meetings in the latest schedule (None: no schedule yet)."""
    found = latest_schedule(jobs, data.event.id)
    if found is None:
        return None
    people = data.by_id()
    slots = {s.id: s for s in data.event.slots}
    order = {s.id: i for i, s in enumerate(data.event.slots)}
    mine = [m for m in found.meetings if pid in (m.participant_a, m.participant_b)]
    mine.sort(key=lambda m: order.get(m.slot_id, 0))
    return [
        {
            "slot": slots.get(m.slot_id),
            "table": m.table,
            "other": people.get(m.other(pid)),
            "kind": m.kind,
        }
        for m in mine
    ]


def _agenda(
    request: Request, store: Store, jobs: JobStore, event_id: str, pid: str, *,
    base: str, token: str | None, user: Any, status_code: int = 200,
    error: str | None = None, requested: str | None = None,
) -> Response:
    data = store.get_event(event_id)
    people = data.by_id()
    if pid not in people:
        raise HTTPException(404, NOT_FOUND)
    suggestions, problem = [], None
    try:
        embedder = embedder_of(request.app.state.recommender.get())
        suggestions = named_suggestions(data, embedder, participant=pid)
    except PeyvandError as exc:
        problem = persian(str(exc), 503)
    return render(
        request,
        "event_agenda.html",
        status_code=status_code,
        user=user,
        event=data.event,
        participant=people[pid],
        requested_names=[people[r].name for r in people[pid].requests if r in people],
        meetings=_meetings(data, jobs, pid),
        suggestions=suggestions,
        suggest_problem=problem,
        base=base,
        token=token,
        calendar_url=f"{base}/calendar.ics" + (f"?t={quote(token)}" if token else ""),
        error=error,
        requested=people[requested].name if requested in people else None,
        **LABELS,
    )


def _request(store: Store, event_id: str, pid: str, to: str, actor: str) -> str | None:
    """Record the request; the Persian reason it was refused, or None."""
    try:
        request_meeting(store, event_id, pid, to, actor=actor)
    except (InvalidInputError, ConflictError) as exc:
        return persian(str(exc), 422)
    return None


# ------------------------------------------------------------------------------ staff
@router.get("/staff/events/{event_id}/agenda/{pid}", response_class=HTMLResponse)
def staff_agenda(
    request: Request, event_id: str, pid: str, user: WebStaffDep, requested: str | None = None
) -> Response:
    return _agenda(
        request, store_for(request, user), jobs_for(request, user), event_id, pid,
        base=f"/staff/events/{event_id}/agenda/{pid}", token=None, user=user,
        requested=requested,
    )


@router.post("/staff/events/{event_id}/agenda/{pid}/requests", response_class=HTMLResponse)
async def staff_request(request: Request, event_id: str, pid: str, user: WebStaffDep) -> Response:
    form = await form_data(request)
    to = str(form.get("to", ""))
    store = store_for(request, user)
    error = _request(store, event_id, pid, to, user.actor)
    base = f"/staff/events/{event_id}/agenda/{pid}"
    if error is not None:
        return _agenda(request, store, jobs_for(request, user), event_id, pid, base=base,
                       token=None, user=user, status_code=422, error=error)
    return RedirectResponse(f"{base}?requested={quote(to)}#requests", status_code=303)


@router.get("/staff/events/{event_id}/agenda/{pid}/calendar.ics")
def staff_calendar(request: Request, event_id: str, pid: str, user: WebStaffDep) -> FileResponse:
    store_for(request, user).get_event(event_id)
    path = schedule_file(latest_schedule(jobs_for(request, user), event_id), f"agendas/{pid}.ics")
    return FileResponse(path, media_type="text/calendar; charset=utf-8", filename=path.name)


# ------------------------------------------------------------------------------ personal link
def _check(request: Request, event_id: str, pid: str, token: str | None) -> None:
    if not agenda_token_ok(request.app.state.settings, event_id, pid, token or ""):
        raise HTTPException(404, NOT_FOUND)


def _person(request: Request) -> Any:
    from .views import session_user

    user = session_user(request) if "session" in request.scope else None
    request.state.user = user
    return user


@router.get("/events/{event_id}/agenda/{pid}", response_class=HTMLResponse)
def personal_agenda(
    request: Request, event_id: str, pid: str, t: str | None = None,
    requested: str | None = None,
) -> Response:
    """The participant's agenda through their personal link (no account)."""
    _check(request, event_id, pid, t)
    state = request.app.state
    return _agenda(
        request, state.store, state.jobs, event_id, pid,
        base=f"/events/{event_id}/agenda/{pid}", token=t, user=_person(request),
        requested=requested,
    )


@router.post("/events/{event_id}/agenda/{pid}/requests", response_class=HTMLResponse)
async def personal_request(request: Request, event_id: str, pid: str) -> Response:
    form = await form_data(request)
    token = str(form.get("t", ""))
    _check(request, event_id, pid, token)
    state = request.app.state
    to = str(form.get("to", ""))
    error = _request(state.store, event_id, pid, to, f"event-link:{event_id}:{pid}"[:100])
    base = f"/events/{event_id}/agenda/{pid}"
    if error is not None:
        return _agenda(request, state.store, state.jobs, event_id, pid, base=base, token=token,
                       user=_person(request), status_code=422, error=error)
    return RedirectResponse(
        f"{base}?t={quote(token)}&requested={quote(to)}#requests", status_code=303
    )


@router.get("/events/{event_id}/agenda/{pid}/calendar.ics")
def personal_calendar(
    request: Request, event_id: str, pid: str, t: str | None = None
) -> FileResponse:
    _check(request, event_id, pid, t)
    state = request.app.state
    state.store.get_event(event_id)
    path = schedule_file(latest_schedule(state.jobs, event_id), f"agendas/{pid}.ics")
    return FileResponse(path, media_type="text/calendar; charset=utf-8", filename=path.name)
