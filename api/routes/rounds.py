"""Intake rounds (staff): create, attach programs with seat and budget overrides, score every
application of the round in the background.

A round belongs to one house and holds only that house's programs (the store checks both,
`Store.assign_orgs`): staff open rounds of their own house; admin and the network operator
name the house. Another house's round answers 404, like a missing one."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from recommender import schemas as contracts

from ..deps import JobsDep, StaffDep, StoreDep, WorkerDep
from ..schemas import (
    JobCreated,
    JobPublic,
    RoundCreate,
    RoundProgramIn,
    RoundProgramsIn,
    RoundPublic,
    RoundScoreRequest,
)
from .jobs import job_created, job_public

router = APIRouter(prefix="/v1/rounds", tags=["rounds"])

ROUND_SCORE_KIND = "round_score"


def round_public(item: contracts.IntakeRound, n_applications: int | None = None) -> RoundPublic:
    return RoundPublic(
        id=item.id,
        name=item.name,
        opens_on=item.opens_on,
        closes_on=item.closes_on,
        programs=[RoundProgramIn(**p.model_dump()) for p in item.programs],
        n_applications=n_applications,
        org_id=item.org_id,
    )


@router.get("", response_model=list[RoundPublic])
def list_rounds(store: StoreDep, user: StaffDep) -> list[RoundPublic]:
    return [round_public(r) for r in store.list_rounds()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RoundPublic)
def create_round(body: RoundCreate, store: StoreDep, user: StaffDep) -> RoundPublic:
    """Open a round (409 when the id is taken; 422 naming unknown programs, another house's
    programs, or no house where the network has several)."""
    item = contracts.IntakeRound.model_validate(body.model_dump())
    with store.session() as session:
        if store.existing_ids("rounds", [item.id], session=session):
            raise HTTPException(409, f"a round with id '{item.id}' already exists")
        store.upsert_rounds([item], session=session)
        store.audit(user.actor, "create", "round", item.id, session=session)
        item = store.get_round(item.id, session=session)
    return round_public(item, 0)


@router.get("/{round_id}", response_model=RoundPublic)
def get_round(round_id: str, store: StoreDep, user: StaffDep) -> RoundPublic:
    item = store.get_round(round_id)
    return round_public(item, len(store.list_applications(round_id=round_id)))


@router.post("/{round_id}/programs", response_model=RoundPublic)
def attach_programs(
    round_id: str, body: RoundProgramsIn, store: StoreDep, user: StaffDep
) -> RoundPublic:
    """Attach programs to a round (or change their seats/budget); `replace` drops the others."""
    with store.session() as session:
        item = store.get_round(round_id, session=session)
        merged = {} if body.replace else {p.program_id: p for p in item.programs}
        for part in body.programs:
            merged[part.program_id] = contracts.RoundProgram(**part.model_dump())
        updated = item.model_copy(
            update={"programs": list(merged.values()), "program_ids": list(merged)}
        )
        updated = contracts.IntakeRound.model_validate(updated.model_dump())
        store.upsert_rounds([updated], session=session)
        store.audit(
            user.actor,
            "attach_programs",
            "round",
            round_id,
            {"programs": [p.program_id for p in body.programs]},
            session=session,
        )
    return round_public(updated)


@router.post("/{round_id}/score", status_code=status.HTTP_202_ACCEPTED, response_model=JobCreated)
def score_round(
    round_id: str,
    store: StoreDep,
    jobs: JobsDep,
    worker: WorkerDep,
    user: StaffDep,
    body: RoundScoreRequest | None = None,
) -> JobCreated:
    """Score every application of the round against its programs, in the background.
    Poll `GET /v1/jobs/{job_id}`; the output files are linked from there when it ends."""
    intake = store.get_round(round_id)
    params = {"round_id": round_id, **(body or RoundScoreRequest()).model_dump()}
    job = jobs.submit(
        ROUND_SCORE_KIND,
        params,
        created_by=user.actor,
        subject=f"rounds/{round_id}",
        org_id=intake.org_id,
    )
    store.audit(user.actor, "score", "round", round_id, {"job_id": job.id})
    worker.wake()
    return job_created(job)


@router.get("/{round_id}/jobs", response_model=list[JobPublic])
def round_jobs(round_id: str, store: StoreDep, jobs: JobsDep, user: StaffDep) -> list[JobPublic]:
    """The round's scoring jobs, newest first."""
    store.get_round(round_id)
    return [job_public(j) for j in jobs.list(subject=f"rounds/{round_id}")]
