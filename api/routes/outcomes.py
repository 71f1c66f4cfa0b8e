"""Outcomes: the decisions made on applications (staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from recommender import schemas as contracts

from ..deps import StaffDep, StoreDep
from ..schemas import Counts, OutcomesIn

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"])


class OutcomePublic(contracts.Outcome):
    """A recorded decision."""


@router.post("", response_model=Counts)
def record(body: OutcomesIn, store: StoreDep, user: StaffDep) -> Counts:
    """Record decisions (residency granted, amount funded); one per application and program,
    later ones replace earlier ones."""
    with store.session() as session:
        created, updated = store.upsert_outcomes(body.outcomes, session=session)
        store.audit(
            user.actor,
            "record",
            "outcomes",
            str(len(body.outcomes)),
            {"created": created, "updated": updated},
            session=session,
        )
    return Counts(created=created, updated=updated)


@router.get("", response_model=list[OutcomePublic])
def list_outcomes(
    store: StoreDep, user: StaffDep, round_id: Annotated[str | None, Query(max_length=64)] = None
) -> list[OutcomePublic]:
    return [OutcomePublic.model_validate(o.model_dump()) for o in store.list_outcomes(round_id)]
