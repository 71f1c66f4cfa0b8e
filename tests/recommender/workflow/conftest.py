"""The workflow rules' fixtures: two houses (A runs `pa`; B runs `pb`, in its open round
`rb` with a budget of 1,500 rials), house A's applications `x` and `y` owned by one
applicant, on SQLite and PostgreSQL (`seeded` gives the store and the owner's user id)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from recommender import schemas
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
