"""Applications: an applicant submits, reads, edits their own and gets suggestions; staff see
every application (each read is written to the audit log)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from recommender import schemas as contracts
from recommender.errors import InvalidInputError, NotFoundError, bilingual
from recommender.retrieval.filters import ProgramFilter
from recommender.store import listing
from recommender.store.listing import ApplicationFilters

from ..deps import (
    AccountsDep,
    CurrentUserDep,
    JobsDep,
    MetricsDep,
    RecommenderDep,
    StaffDep,
    StoreDep,
    WorkerDep,
    rate_limited,
)
from ..embed_tasks import submit as submit_plans_embed
from ..matching import run_match, visible_application
from ..schemas import (
    ApplicationCreate,
    ApplicationCreated,
    ApplicationPublic,
    ApplicationSummary,
    ApplicationUpdate,
    JobCreated,
    SuggestionsResponse,
)
from .jobs import job_created

router = APIRouter(prefix="/v1/applications", tags=["applications"])


def new_application_id() -> str:
    return f"app-{secrets.token_hex(6)}"


def check_round(
    store: StoreDep,
    user: CurrentUserDep,
    round_id: str | None,
    current_round_id: str | None = None,
    today: dt.date | None = None,
) -> None:
    """The round an application is put in must exist and, for an applicant, be open today
    (`opens_on <= today <= closes_on`); keeping the round it is already in is always allowed.
    Staff may file into any round (late entries, corrections).

    Raises:
        InvalidInputError: no such round, or an applicant moving into a round not open today.
    """
    if round_id is None:
        return
    try:
        intake = store.get_round(round_id)
    except NotFoundError:
        raise InvalidInputError(f"round_id: no intake round with id '{round_id}'") from None
    if user.is_staff or round_id == current_round_id:
        return
    today = today or dt.date.today()
    if not intake.opens_on <= today <= intake.closes_on:
        state = "closed" if today > intake.closes_on else "not open yet"
        raise InvalidInputError(
            f"round_id: the intake round '{round_id}' is {state} (it takes applications from "
            f"{intake.opens_on.isoformat()} to {intake.closes_on.isoformat()})"
        )


def check_house(store: StoreDep, org_id: str | None, current_org_id: str | None = None) -> None:
    """The house an application is submitted to must exist and be active (keeping the house
    it is already at is always allowed). Whether staff may write there is the store's rule.

    Raises:
        InvalidInputError: no such house, or an inactive one.
    """
    if org_id is None or org_id == current_org_id:
        return
    try:
        house = store.get_organization(org_id)
    except NotFoundError:
        raise InvalidInputError(
            bilingual(f"org_id: no house with id '{org_id}'", "خانهٔ انتخاب‌شده پیدا نشد.")
        ) from None
    if not house.active:
        raise InvalidInputError(
            bilingual(
                f"org_id: the house '{org_id}' is not active", "خانهٔ انتخاب‌شده فعال نیست."
            )
        )


def create_application(
    store: StoreDep, accounts: AccountsDep, user: CurrentUserDep, body: ApplicationCreate
) -> str:
    """Store a new application (owned by the user when an applicant); returns its id."""
    check_round(store, user, body.round_id)
    check_house(store, body.org_id)
    application = body.to_contract(new_application_id())
    with store.session() as session:
        store.upsert_applications([application], session=session)
        if user.role == "applicant":
            accounts.set_owner(application.id, user.id, session=session)
        else:
            store.audit(user.actor, "create", "application", application.id, session=session)
    return application.id


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationCreated,
    dependencies=[Depends(rate_limited("applicant_write"))],
)
def submit(
    body: ApplicationCreate, store: StoreDep, accounts: AccountsDep, user: CurrentUserDep
) -> ApplicationCreated:
    """Submit a business plan. Applicants own what they submit; staff may enter one for
    someone."""
    return ApplicationCreated(id=create_application(store, accounts, user, body))


@router.post("/embed", status_code=status.HTTP_202_ACCEPTED, response_model=JobCreated)
def embed_plans(
    store: StoreDep,
    jobs: JobsDep,
    worker: WorkerDep,
    user: StaffDep,
    round_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> JobCreated:
    """Embed the business plans of the house's applications (or of one round's: `round_id`)
    in the background, so matches and round scoring find them ready; with queue workers the
    chunks are shared among them. Poll `GET /v1/jobs/{job_id}`."""
    job = submit_plans_embed(
        store, jobs, actor=user.actor, org_id=user.org_id, round_id=round_id
    )
    worker.wake()
    return job_created(job)


@router.get("", response_model=list[ApplicationSummary])
def list_applications(
    store: StoreDep,
    user: CurrentUserDep,
    round_id: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    program_id: Annotated[str | None, Query(max_length=64)] = None,
    program_link: Annotated[str, Query(max_length=20)] = "any",
    status: Annotated[str | None, Query(max_length=20)] = None,
    sector: Annotated[str | None, Query(max_length=64)] = None,
    province: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(max_length=20)] = "id",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> list[ApplicationSummary]:
    """An applicant's own applications; for staff every application they may see. The same
    filters as the staff's web list (`store.listing.list_applications`): search `q`, round,
    program (`program_link`: any | applied | shortlisted), workflow `status` (new | applied |
    shortlisted | decided), sector, province; `sort` (id | newest | oldest | name | funding)
    and, with `page_size`, pages. An unknown status, sector, link or sort is a 422."""
    filters = ApplicationFilters(
        search=q.strip(),
        round_id=round_id or None,
        program_id=program_id or None,
        program_link=program_link,
        status=status or None,
        sector=sector or None,
        province=province or None,
    )
    found = listing.list_applications(
        store, filters=filters, sort=sort, page=page, page_size=page_size
    )
    if user.is_staff:
        store.audit(user.actor, "list", "application", round_id or "*")
    return [ApplicationSummary.of(a) for a in found.items]


@router.get("/{application_id}", response_model=ApplicationPublic)
def get_application(
    application_id: str, store: StoreDep, accounts: AccountsDep, user: CurrentUserDep
) -> ApplicationPublic:
    """One application with its plan (owner or staff; another applicant's id is 404)."""
    return ApplicationPublic.of(visible_application(store, user, application_id, "read"))


@router.put(
    "/{application_id}",
    response_model=ApplicationPublic,
    dependencies=[Depends(rate_limited("applicant_write"))],
)
def update_application(
    application_id: str,
    body: ApplicationUpdate,
    store: StoreDep,
    accounts: AccountsDep,
    user: CurrentUserDep,
) -> ApplicationPublic:
    """Replace an application (owner or staff); `org_id` and `share_with_network` left out
    keep their stored values."""
    current = visible_application(store, user, application_id, "read")
    check_round(store, user, body.round_id, current.round_id)
    check_house(store, body.org_id, current.org_id)
    application: contracts.Application = body.to_contract(application_id, current)
    with store.session() as session:
        store.upsert_applications([application], session=session)
        if user.is_staff:
            store.audit(user.actor, "update", "application", application_id, session=session)
    return ApplicationPublic.of(application)


@router.get(
    "/{application_id}/suggestions",
    response_model=SuggestionsResponse,
    dependencies=[Depends(rate_limited("applicant_suggest"))],
)
def suggestions(
    application_id: str,
    store: StoreDep,
    accounts: AccountsDep,
    user: CurrentUserDep,
    recommender: RecommenderDep,
    metrics: MetricsDep,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SuggestionsResponse:
    """Ranked programs for an application, with reasons and chances (owner or staff)."""
    application = visible_application(store, user, application_id, "suggest")
    result = run_match(
        recommender,
        metrics,
        "suggest",
        store=store,
        application=application,
        filters=ProgramFilter(),
        top=top,
    )
    return SuggestionsResponse(application_id=application_id, **result.model_dump())
