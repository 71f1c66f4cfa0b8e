"""What a program's page shows (`recommender.workflow.program_page`) on SQLite and PostgreSQL
with scoped stores: the house, the open rounds (the rule `apply` uses to pick a round), which
of the caller's applications applied; and who reads which program (`programs_readable`):
staff every program, an applicant the active ones and those their own records name."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from recommender import schemas, workflow
from recommender.errors import NotFoundError
from recommender.store.tenancy import Scope
from recommender.workflow import Actor

TODAY = dt.date(2026, 5, 10)
DAY = dt.timedelta(days=1)
OWNER = Actor("user:owner", "applicant")


def _program(program_id: str, house: str, **changes: Any) -> schemas.Program:
    return schemas.Program(
        id=program_id,
        name=f"برنامهٔ {program_id}",
        kind="accelerator",
        description="شتاب‌دهی",
        province="تهران",
        org_id=house,
        **changes,
    )


def _round(round_id: str, opens: dt.date, closes: dt.date, **program: Any) -> Any:
    return schemas.IntakeRound(
        id=round_id,
        name=f"دورهٔ {round_id}",
        opens_on=opens,
        closes_on=closes,
        org_id="house-b",
        programs=[schemas.RoundProgram(program_id="pb", **program)],
    )


@pytest.fixture
def seeded(store: Any) -> Any:
    store.upsert_organizations(
        [
            schemas.Organization(id="house-a", name="خانهٔ الف", province="تهران"),
            schemas.Organization(id="house-b", name="مرکز ب", province="فارس"),
        ]
    )
    store.upsert_programs(
        [
            _program("pa", "house-a"),
            _program("pb", "house-b", residency_seats=4),
            _program("old", "house-a", active=False),
        ]
    )
    store.upsert_rounds(
        [
            _round("closed", TODAY - 30 * DAY, TODAY - DAY),
            _round("later", TODAY + 10 * DAY, TODAY + 30 * DAY),
            _round("long", TODAY - 5 * DAY, TODAY + 40 * DAY),
            _round("short", TODAY - 5 * DAY, TODAY + 5 * DAY, seats=2, budget=1_500),
        ]
    )
    store.upsert_applications(
        [
            schemas.Application(
                id=app_id,
                startup_name=app_id,
                business_plan="طرح یک کیف پول دیجیتال برای فروشگاه‌های کوچک.",
                province="تهران",
                org_id="house-a",
            )
            for app_id in ("x", "y")
        ]
    )
    from api.accounts import Accounts

    accounts = Accounts(store)
    owner, _ = accounts.add_user("owner", "applicant", "owner-password-1")
    other, _ = accounts.add_user("other", "applicant", "other-password-1")
    with store.session() as session:
        accounts.set_owner("x", owner.id, session=session)
        accounts.set_owner("y", owner.id, session=session)
    return store, owner.id, other.id


def test_page_facts_open_rounds_and_applied(seeded: Any):
    store, owner_id, _ = seeded
    mine = store.scoped(Scope.owner(owner_id))
    page = workflow.program_page(mine, "pb", application_ids=["x", "y"], today=TODAY)
    assert page.program.residency_seats == 4
    assert page.house is not None and page.house.name == "مرکز ب"
    # Open today only, the one closing first first (the round apply picks).
    assert [o.round.id for o in page.open_rounds] == ["short", "long"]
    assert (page.open_rounds[0].seats, page.open_rounds[0].budget) == (2, 1_500)
    assert (page.open_rounds[1].seats, page.open_rounds[1].budget) == (None, None)
    assert page.applied == frozenset()

    applied, _ = workflow.apply(mine, OWNER, "x", "pb", today=TODAY)
    assert applied.round_id == "short"
    page = workflow.program_page(mine, "pb", application_ids=["x", "y"], today=TODAY)
    assert page.applied == {"x"}
    # On the last day of "short" it is still open; the day after only "long" is.
    assert [r.id for r in workflow.open_rounds(mine, "pb", TODAY + 5 * DAY)] == ["short", "long"]
    assert [r.id for r in workflow.open_rounds(mine, "pb", TODAY + 6 * DAY)] == ["long"]


def test_staff_see_the_open_rounds_of_their_own_house_only(seeded: Any):
    store, _, _ = seeded
    house_a = store.scoped(Scope.house("house-a"))
    house_b = store.scoped(Scope.house("house-b"))
    assert [o.round.id for o in workflow.program_page(house_b, "pb", today=TODAY).open_rounds] == [
        "short",
        "long",
    ]
    # House A reads house B's program (the catalogue is the network's) but not its rounds.
    page = workflow.program_page(house_a, "pb", today=TODAY)
    assert page.program.id == "pb" and page.open_rounds == []


def test_who_reads_an_inactive_program(seeded: Any):
    store, owner_id, other_id = seeded
    mine = store.scoped(Scope.owner(owner_id))
    theirs = store.scoped(Scope.owner(other_id))
    for staff in (
        store,
        store.scoped(Scope.house("house-a")),
        store.scoped(Scope.house("house-b")),
    ):
        assert workflow.program_page(staff, "old", today=TODAY).program.active is False
    for applicant in (mine, theirs):
        with pytest.raises(NotFoundError):
            workflow.program_page(applicant, "old", today=TODAY)
        with pytest.raises(NotFoundError):
            applicant.readable_program("missing")
    # Once the owner's application is on record with it, the owner reads it; nobody else.
    store.add_applied("y", "old", None)
    assert workflow.program_page(mine, "old", today=TODAY).program.id == "old"
    with pytest.raises(NotFoundError):
        workflow.program_page(theirs, "old", today=TODAY)


def test_a_referral_naming_an_inactive_program_opens_it_to_the_owner(seeded: Any):
    store, owner_id, _ = seeded
    mine = store.scoped(Scope.owner(owner_id))
    store.add_referral(
        "x",
        "house-a",
        from_org="house-b",
        program_id="old",
        note="",
        status="pending_consent",
        created_by="user:b",
    )
    assert mine.readable_program("old").id == "old"
