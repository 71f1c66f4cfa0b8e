"""Staff matching: free text or a stored application against every program, with filters."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import AccountsDep, MetricsDep, RecommenderDep, StaffDep, StoreDep
from ..matching import run_match, visible_application
from ..schemas import MatchRequest, MatchResponse

router = APIRouter(prefix="/v1/staff", tags=["staff"])


@router.post("/match", response_model=MatchResponse)
def match(
    body: MatchRequest,
    store: StoreDep,
    accounts: AccountsDep,
    user: StaffDep,
    recommender: RecommenderDep,
    metrics: MetricsDep,
) -> MatchResponse:
    """Rank programs for a business plan (`text`) or a stored application (`application_id`):
    the same items as `peyvand recommend --json`, best first; for free text also the `facts`
    read from the plan, which `facts` in the request corrects."""
    application = None
    if body.application_id is not None:
        application = visible_application(store, user, body.application_id, "match")
    return run_match(
        recommender,
        metrics,
        "match",
        store=store,
        text=body.text,
        application=application,
        filters=body.filters.to_program_filter(),
        top=body.top,
        facts=body.facts.corrections() if body.facts is not None else None,
    )
