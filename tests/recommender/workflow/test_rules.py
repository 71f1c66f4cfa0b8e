"""The workflow rules (`recommender.workflow`) on SQLite and PostgreSQL with scoped stores,
without the API: who may apply, shortlist, note and decide; the history of decisions and the
outcome; the timeline with a referral in it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from recommender import schemas, workflow
from recommender.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from recommender.store.tenancy import Scope
from recommender.workflow import Actor

TODAY = dt.date(2026, 5, 10)
OWNER = Actor("user:owner", "applicant")
STAFF_A = Actor("user:a", "staff", "house-a")
STAFF_B = Actor("user:b", "staff", "house-b")
NETWORK = Actor("user:net", "network")


def _program(program_id: str, house: str, **changes: Any) -> schemas.Program:
    return schemas.Program(
        id=program_id,
        name=f"برنامهٔ {program_id}",
        kind="accelerator",
        description="شتاب‌دهی",
        sectors=["fintech"],
        province="تهران",
        funding_min=0,
        funding_max=1_000,
        org_id=house,
        **changes,
    )


@pytest.fixture
def seeded(store: Any) -> Any:
    store.upsert_organizations(
        [
            schemas.Organization(id="house-a", name="خانهٔ الف"),
            schemas.Organization(id="house-b", name="خانهٔ ب"),
        ]
    )
    store.upsert_programs([_program("pa", "house-a"), _program("pb", "house-b")])
    store.upsert_rounds(
        [
            schemas.IntakeRound(
                id="rb",
                name="دورهٔ ب",
                opens_on=TODAY - dt.timedelta(days=5),
                closes_on=TODAY + dt.timedelta(days=5),
                org_id="house-b",
                programs=[schemas.RoundProgram(program_id="pb", budget=1_500)],
            )
        ]
    )
    store.upsert_applications(
        [
            schemas.Application(
                id=app_id,
                startup_name=app_id,
                business_plan="طرح یک کیف پول دیجیتال برای فروشگاه‌های کوچک.",
                stage="mvp",
                province="تهران",
                city="تهران",
                team_size=2,
                funding_ask=100,
                org_id="house-a",
            )
            for app_id in ("x", "y")
        ]
    )
    from api.accounts import Accounts

    accounts = Accounts(store)
    user, _ = accounts.add_user("owner", "applicant", "owner-password-1")
    with store.session() as session:
        accounts.set_owner("x", user.id, session=session)
        accounts.set_owner("y", user.id, session=session)
    return store, user.id


def test_rules_apply_decide_history_and_timeline(seeded: Any):
    store, owner_id = seeded
    mine = store.scoped(Scope.owner(owner_id))
    house_a, house_b = store.scoped(Scope.house("house-a")), store.scoped(Scope.house("house-b"))

    with pytest.raises(NotFoundError):
        house_b.get_application("x")
    applied, created = workflow.apply(mine, OWNER, "x", "pb", today=TODAY)
    assert created and applied.round_id == "rb"
    assert workflow.apply(mine, OWNER, "x", "pb", today=TODAY) == (applied, False)
    assert house_b.get_application("x").id == "x"
    with pytest.raises(NotFoundError):
        house_b.get_application("y")  # only the application that applied

    with pytest.raises(PermissionDeniedError):
        workflow.apply(house_a, STAFF_A, "x", "pa", today=TODAY)
    with pytest.raises(PermissionDeniedError):
        workflow.decide(mine, OWNER, "x", "pb", residency_granted=True, funded_amount=0)
    with pytest.raises(NotFoundError):  # house A reads x, but pb is house B's
        workflow.decide(house_a, STAFF_A, "x", "pb", residency_granted=True, funded_amount=0)

    first = workflow.decide(
        house_b, STAFF_B, "x", "pb", residency_granted=False, funded_amount=800, today=TODAY
    )
    assert (first.applied, first.round_id, first.org_id) == (True, "rb", "house-b")
    # A correction to 1,000 (the program's max) fits rb's budget of 1,500: x's own earlier
    # 800 is not counted twice.
    second = workflow.decide(
        house_b, STAFF_B, "x", "pb", residency_granted=True, funded_amount=1_000, today=TODAY
    )
    with pytest.raises(InvalidInputError, match="funding_max of 1,000"):
        workflow.decide(house_b, STAFF_B, "x", "pb", residency_granted=True, funded_amount=1_001)
    assert [d.id for d in store.list_decisions("x")] == [first.id, second.id]
    (outcome,) = store.list_outcomes()
    assert (outcome.funded_amount, outcome.decided_by) == (1_000, "user:b")

    # The network operator decides on a program x did not apply to: kept as such.
    elsewhere = workflow.decide(
        store, NETWORK, "x", "pa", residency_granted=False, funded_amount=0, today=TODAY
    )
    assert elsewhere.applied is False

    store.add_referral(
        "x",
        "house-b",
        from_org="house-a",
        program_id=None,
        note="",
        status="open",
        created_by="user:a",
    )
    kinds = [e.kind for e in workflow.timeline(mine, OWNER, "x")]
    assert kinds == ["submitted", "applied", "decided", "decided", "decided", "referred"]
    # House B sees its own decisions only, not the network's at house A's program.
    staff_b_kinds = [e.kind for e in workflow.timeline(house_b, STAFF_B, "x")]
    assert staff_b_kinds.count("decided") == 2


def test_round_budget_counts_the_other_applications(seeded: Any):
    store, owner_id = seeded
    mine = store.scoped(Scope.owner(owner_id))
    house_b = store.scoped(Scope.house("house-b"))
    for app_id in ("x", "y"):
        workflow.apply(mine, OWNER, app_id, "pb", today=TODAY)
    workflow.decide(house_b, STAFF_B, "x", "pb", residency_granted=False, funded_amount=1_000)
    with pytest.raises(InvalidInputError, match="500 rials left"):
        workflow.decide(house_b, STAFF_B, "y", "pb", residency_granted=False, funded_amount=600)
    assert [d.application_id for d in store.list_decisions("y")] == []
    workflow.decide(house_b, STAFF_B, "y", "pb", residency_granted=False, funded_amount=500)


def test_notes_are_never_the_applicants(seeded: Any):
    store, owner_id = seeded
    mine = store.scoped(Scope.owner(owner_id))
    house_a = store.scoped(Scope.house("house-a"))
    note = workflow.add_note(house_a, STAFF_A, "x", "  مصاحبه شود  ")
    assert note.body == "مصاحبه شود" and note.org_id == "house-a"
    assert [n.id for n in workflow.notes(house_a, STAFF_A, "x")] == [note.id]
    with pytest.raises(PermissionDeniedError):
        workflow.notes(mine, OWNER, "x")
    assert mine.list_notes("x") == []  # the store's rule too
    with pytest.raises(NotFoundError):
        workflow.add_note(store.scoped(Scope.house("house-b")), STAFF_B, "x", "نه")
