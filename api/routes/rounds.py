"""Intake rounds (staff): create, attach programs with seat and budget overrides, score every
application of the round in the background, and accept the round's latest allocation as
decisions (all or nothing; `recommender.workflow.allocation`).

A round belongs to one house and holds only that house's programs (the store checks both,
`Store.assign_orgs`): staff open rounds of their own house; admin and the network operator
name the house. Another house's round answers 404, like a missing one."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from recommender import schemas as contracts
from recommender.errors import ConflictError, InvalidInputError, bilingual
from recommender.rounds.problem import ALLOCATION_STATE_FILE, load_allocation_state
from recommender.workflow.allocation import (
    ACCEPT_NOTE,
    AllocationRefused,
    accept_allocation,
    allocation_pairs,
)

from ..deps import JobsDep, StaffDep, StoreDep, WorkerDep
from ..jobs import Job, JobStore
from ..schemas import (
    JobCreated,
    JobPublic,
    RequestBody,
    RoundCreate,
    RoundProgramIn,
    RoundProgramsIn,
    RoundPublic,
    RoundScoreRequest,
)
from .jobs import job_created, job_public
from .referrals import actor_of
from .workflow import DecisionPublic

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


# ------------------------------------------------------------------- accepting the allocation
@dataclass(frozen=True)
class RoundAllocation:
    """The latest allocation of a round: the run (job) that saved it and its pairs."""

    job: Job
    pairs: list[Any]


def latest_allocation(jobs: JobStore, round_id: str) -> RoundAllocation | None:
    """The allocation saved by the round's newest finished run that made one (allocation.json
    in the job's folder), or None. `jobs` is scoped to the caller."""
    for job in jobs.list(subject=f"rounds/{round_id}", limit=50):
        if job.status != "succeeded":
            continue
        state = load_allocation_state(jobs.output_dir(job.id) / ALLOCATION_STATE_FILE)
        if state is not None:
            return RoundAllocation(job, allocation_pairs(state, round_id))
    return None


def allocation_to_accept(jobs: JobStore, round_id: str, job_id: str | None) -> RoundAllocation:
    """The round's latest allocation, which must be the run `job_id` when one is named (what
    the person confirmed).

    Raises:
        InvalidInputError: the round has no allocation yet.
        ConflictError: a newer allocation than the one named exists.
    """
    found = latest_allocation(jobs, round_id)
    if found is None:
        raise InvalidInputError(
            bilingual(
                f"round '{round_id}' has no allocation yet: run the scoring with allocation",
                "این دوره هنوز تخصیصی ندارد؛ نخست امتیازدهی را با تخصیص اجرا کنید.",
            )
        )
    if job_id and job_id != found.job.id:
        raise ConflictError(
            bilingual(
                f"the latest allocation of round '{round_id}' is run '{found.job.id}', not "
                f"'{job_id}'; review it before accepting",
                "تخصیص تازه‌تری برای این دوره ساخته شده است؛ پیش از پذیرفتن آن را ببینید.",
            )
        )
    return found


class AcceptAllocationIn(RequestBody):
    """Accept the round's latest allocation (`job_id`: the run it must come from)."""

    job_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class AllocationAccepted(BaseModel):
    round_id: str
    job_id: str
    decisions: list[DecisionPublic]


@router.post(
    "/{round_id}/allocation/accept",
    response_model=AllocationAccepted,
    responses={422: {"description": "a pair fails a check: nothing stored; `errors` names each"}},
)
def accept_round_allocation(
    round_id: str,
    store: StoreDep,
    jobs: JobsDep,
    user: StaffDep,
    body: AcceptAllocationIn | None = None,
) -> Any:
    """Turn the round's latest allocation into decisions, all or nothing
    (`recommender.workflow.allocation.accept_allocation`). When a pair fails a check (the
    program's funding max, the round's remaining budget), nothing is stored and the 422
    names each pair in `errors`."""
    request = body or AcceptAllocationIn()
    store.get_round(round_id)
    found = allocation_to_accept(jobs, round_id, request.job_id)
    try:
        decisions = accept_allocation(
            store, actor_of(user), round_id, found.pairs, note=request.note or ACCEPT_NOTE
        )
    except AllocationRefused as exc:
        errors = [
            {"application_id": r.application_id, "program_id": r.program_id, "message": r.reason}
            for r in exc.refusals
        ]
        return JSONResponse({"detail": str(exc), "errors": errors}, status_code=422)
    return AllocationAccepted(
        round_id=round_id,
        job_id=found.job.id,
        decisions=[DecisionPublic.model_validate(dataclasses.asdict(d)) for d in decisions],
    )
