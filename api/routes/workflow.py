"""The decision workflow of an application (DESIGN.md, API contract additions): applying to
a program, shortlists, private staff notes, decisions and the timeline.

The rules live in `recommender.workflow`; these handlers only pass the caller and their
scoped store. Applying twice answers 200 with the first record (201 the first time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from recommender import workflow as rules

from ..deps import CurrentUserDep, StaffDep, StoreDep
from ..schemas import RequestBody
from .referrals import actor_of


# ------------------------------------------------------------------------ request bodies
class ApplyIn(RequestBody):
    """Apply to a program (into its open round, or the round named)."""

    program_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    round_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class AppliedPublic(BaseModel):
    application_id: str
    program_id: str
    round_id: str | None
    applied_at: dt.datetime


class ShortlistIn(RequestBody):
    program_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ShortlistPublic(BaseModel):
    application_id: str
    program_id: str
    added_by: str
    added_at: dt.datetime


class NoteIn(RequestBody):
    body: Annotated[str, StringConstraints(max_length=5000)]


class NotePublic(BaseModel):
    id: int
    application_id: str
    org_id: str | None
    author: str
    body: str
    created_at: dt.datetime


class DecisionIn(RequestBody):
    program_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    residency_granted: bool = False
    funded_amount: int = Field(default=0, ge=0)
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class DecisionPublic(BaseModel):
    """A decision (kept in the history; the outcome is the latest one)."""

    id: int
    application_id: str
    program_id: str
    round_id: str | None
    residency_granted: bool
    funded_amount: int
    note: str
    applied: bool
    decided_by: str
    decided_on: dt.date
    decided_at: dt.datetime


class TimelineEvent(BaseModel):
    """One step: {at, kind, program_id?, ...} (the step's own fields follow)."""

    model_config = ConfigDict(extra="allow")

    at: dt.datetime
    kind: str
    program_id: str | None = None


router = APIRouter(prefix="/v1/applications", tags=["workflow"])


@router.post(
    "/{application_id}/programs",
    status_code=status.HTTP_201_CREATED,
    response_model=AppliedPublic,
)
def apply(
    application_id: str, body: ApplyIn, store: StoreDep, user: CurrentUserDep, response: Response
) -> AppliedPublic:
    """The owning applicant applies to a program (201; 200 with the same record again)."""
    applied, created = rules.apply(
        store, actor_of(user), application_id, body.program_id, round_id=body.round_id
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return AppliedPublic.model_validate(dataclasses.asdict(applied))


@router.get("/{application_id}/programs", response_model=list[AppliedPublic])
def applied_programs(
    application_id: str, store: StoreDep, user: CurrentUserDep
) -> list[AppliedPublic]:
    """The programs the application applied to that the caller may see."""
    store.get_application(application_id)
    return [
        AppliedPublic.model_validate(dataclasses.asdict(a))
        for a in store.list_applied(application_id)
    ]


@router.post(
    "/{application_id}/shortlist",
    status_code=status.HTTP_201_CREATED,
    response_model=ShortlistPublic,
)
def add_to_shortlist(
    application_id: str, body: ShortlistIn, store: StoreDep, user: StaffDep, response: Response
) -> ShortlistPublic:
    """Staff of the program's house (or network/admin) shortlist the application (201; 200
    when it already is)."""
    entry, changed = rules.shortlist(store, actor_of(user), application_id, body.program_id)
    if not changed:
        response.status_code = status.HTTP_200_OK
    return ShortlistPublic.model_validate(dataclasses.asdict(entry))


@router.delete("/{application_id}/shortlist/{program_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_from_shortlist(
    application_id: str, program_id: str, store: StoreDep, user: StaffDep
) -> Response:
    """Take the application off the program's shortlist (204, also when it was not on it)."""
    rules.shortlist(store, actor_of(user), application_id, program_id, on=False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{application_id}/notes", status_code=status.HTTP_201_CREATED, response_model=NotePublic
)
def add_note(application_id: str, body: NoteIn, store: StoreDep, user: StaffDep) -> NotePublic:
    """A private staff note (never shown to the applicant)."""
    note = rules.add_note(store, actor_of(user), application_id, body.body)
    return NotePublic.model_validate(dataclasses.asdict(note))


@router.get("/{application_id}/notes", response_model=list[NotePublic])
def list_notes(application_id: str, store: StoreDep, user: StaffDep) -> list[NotePublic]:
    """The staff notes of the houses that read the application."""
    return [
        NotePublic.model_validate(dataclasses.asdict(n))
        for n in rules.notes(store, actor_of(user), application_id)
    ]


@router.post(
    "/{application_id}/decisions",
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionPublic,
)
def decide(
    application_id: str, body: DecisionIn, store: StoreDep, user: StaffDep
) -> DecisionPublic:
    """A decision by staff of the program's house (or network/admin); it becomes the
    outcome, and a later one corrects it (the history is kept)."""
    decision = rules.decide(
        store,
        actor_of(user),
        application_id,
        body.program_id,
        residency_granted=body.residency_granted,
        funded_amount=body.funded_amount,
        note=body.note,
    )
    return DecisionPublic.model_validate(dataclasses.asdict(decision))


@router.get("/{application_id}/decisions", response_model=list[DecisionPublic])
def list_decisions(application_id: str, store: StoreDep, user: StaffDep) -> list[DecisionPublic]:
    """Every decision the caller's house may see, oldest first (staff)."""
    store.get_application(application_id)
    return [
        DecisionPublic.model_validate(dataclasses.asdict(d))
        for d in store.list_decisions(application_id)
    ]


@router.get("/{application_id}/timeline", response_model=list[TimelineEvent])
def timeline(application_id: str, store: StoreDep, user: CurrentUserDep) -> list[TimelineEvent]:
    """Submitted, applied, referred, shortlisted, decided: oldest first (owner or staff who
    may read the application)."""
    return [
        TimelineEvent(at=e.at, kind=e.kind, program_id=e.program_id, **e.detail)
        for e in rules.timeline(store, actor_of(user), application_id)
    ]
