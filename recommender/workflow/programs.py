"""What a program's page shows, read through the caller's scoped store: the program (as
`Store.readable_program` lets the caller read it), the house that runs it, its open rounds and
which of the caller's applications already applied to it.

Open rounds are one rule shared with `apply` (an application goes into the program's open
round that closes first): a round the caller can see (`tenancy.rounds_visible`: staff their
house's, applicants every one) that holds the program and is open today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from recommender import schemas
from recommender.errors import NotFoundError
from recommender.store.database import Store


@dataclass(frozen=True)
class RoundOffer:
    """An open round of a program: the round, and its seats and budget for the program when
    the round sets them (None: the program's own figures hold)."""

    round: schemas.IntakeRound
    seats: int | None = None
    budget: int | None = None


@dataclass(frozen=True)
class ProgramPage:
    """The facts of a program's page. `house` is None for a program with no house (or one
    whose house is gone); `applied` the ids of the given applications that applied to it."""

    program: schemas.Program
    house: schemas.Organization | None
    open_rounds: list[RoundOffer]
    applied: frozenset[str] = field(default_factory=frozenset)


def open_rounds(
    store: Store, program_id: str, today: dt.date, *, session: Session | None = None
) -> list[schemas.IntakeRound]:
    """The rounds the store's scope sees that hold `program_id` and are open on `today`,
    the one closing first first (ties by id)."""
    found = [
        r
        for r in store.list_rounds(session=session)
        if program_id in r.program_ids and r.opens_on <= today <= r.closes_on
    ]
    return sorted(found, key=lambda r: (r.closes_on, r.id))


def program_page(
    store: Store,
    program_id: str,
    *,
    application_ids: Sequence[str] = (),
    today: dt.date | None = None,
) -> ProgramPage:
    """The page of a program as the store's scope may read it.

    Args:
        application_ids: the caller's own applications (an applicant's); the page says which
            of them already applied to the program.

    Raises:
        NotFoundError: unknown id, or a program the scope may not read (the same answer).
    """
    today = today or dt.date.today()
    with store.session() as s:
        program = store.readable_program(program_id, session=s)
        house = None
        if program.org_id:
            try:
                house = store.get_organization(program.org_id, session=s)
            except NotFoundError:
                house = None
        offers = []
        for intake in open_rounds(store, program_id, today, session=s):
            own = next((p for p in intake.programs if p.program_id == program_id), None)
            offers.append(
                RoundOffer(
                    intake,
                    seats=own.seats if own else None,
                    budget=own.budget if own else None,
                )
            )
        applied = frozenset(
            a for a in application_ids if store.get_applied(a, program_id, session=s) is not None
        )
    return ProgramPage(program, house, offers, applied)
