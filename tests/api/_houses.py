"""A network of three houses for isolation tests: the service on one database with an account
per actor and objects owned by house A, house B and two applicants.

Actors (user name = actor): `admin`, `network` (the network's operator), `staff_a` (staff of
house A), `staff_b` (staff of house B), `owner` (the applicant who owns house A's
application), `other` (an applicant who owns house B's application). Every account has a
token and the password `<actor>-password-1` (web sign-in).

Objects (ids in `Houses.ids`):

- programs: `fin-teh`, `agri-isf` (house A), `health-fund`, `creative-shz` (house B);
- rounds `round-a` (A, with fin-teh), `round-b` (B, with health-fund), open today;
- applications `app-a` (A, round-a, owned by `owner`), `app-b` (B, round-b, owned by `other`);
- outcomes (app-a, fin-teh) and (app-b, health-fund);
- finished round jobs `job_a`, `job_b` with a report.html and a scores.csv each;
- audit entries made by each house's staff;
- referrals `ref-a` (app-a, A -> C, open) and `ref-b` (app-b, B -> C, pending consent); house
  C has no staff.

Use `yield from make_houses(db_url, home)` in a fixture.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.accounts import Accounts
from api.main import create_app
from api.settings import Settings
from recommender import schemas
from recommender.retrieval.filters import ProgramFilter
from recommender.scoring.pipeline import RecommendationList
from recommender.store.tenancy import Scope
from tests._jobs import finished_job

from .conftest import GENEROUS_LIMITS, PLAN, PROGRAMS, FakeRecommender

HOUSE_A, HOUSE_B, HOUSE_C = "house-a", "house-b", "house-c"
ORGS = [
    schemas.Organization(
        id=HOUSE_A, name="خانهٔ خلاق الف", kind="creative_house", province="تهران", city="تهران"
    ),
    schemas.Organization(
        id=HOUSE_B, name="مرکز نوآوری ب", kind="innovation_center", province="فارس", city="شیراز"
    ),
    schemas.Organization(id=HOUSE_C, name="خانهٔ خلاق ج", kind="creative_house"),
]
HOUSE_NAMES = {o.id: o.name for o in ORGS}
PROGRAM_HOUSE = {
    "fin-teh": HOUSE_A,
    "agri-isf": HOUSE_A,
    "health-fund": HOUSE_B,
    "creative-shz": HOUSE_B,
}
HOUSE_PROGRAMS = [p.model_copy(update={"org_id": PROGRAM_HOUSE[p.id]}) for p in PROGRAMS]
ACTORS = ("admin", "network", "staff_a", "staff_b", "owner", "other")
ACTOR_ROLES: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "network": ("network", None),
    "staff_a": ("staff", HOUSE_A),
    "staff_b": ("staff", HOUSE_B),
    "owner": ("applicant", None),
    "other": ("applicant", None),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def password(actor: str) -> str:
    return f"{actor}-password-1"


class HouseRecommender(FakeRecommender):
    """The service tests' fake recommender, aware of houses: items carry their program's
    house and a house filter narrows the programs (as the real `Recommender` does)."""

    def recommend(
        self,
        text: str | None = None,
        application: schemas.Application | None = None,
        filters: ProgramFilter | None = None,
        top: int | None = None,
        facts: dict | None = None,
    ) -> RecommendationList:
        every = self.programs
        if filters is not None and filters.org_id is not None:
            self.programs = [p for p in every if p.org_id == filters.org_id]
        try:
            result = super().recommend(text, application, filters, top, facts)
        finally:
            self.programs = every
        house = {p.id: p.org_id for p in every}
        for item in result.items:
            item.org_id = house[item.program_id]
        return result


@dataclass
class Houses:
    """The running service with its actors and objects."""

    client: TestClient
    app: Any
    settings: Settings
    tokens: dict[str, str]
    user_ids: dict[str, int]
    ids: dict[str, str]
    web_clients: dict[str, TestClient] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        return self.app.state.store

    def auth(self, actor: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"} if actor else {}

    def web(self, actor: str | None) -> TestClient:
        """A browser session signed in as `actor` (None: signed out), made once."""
        key = actor or "anonymous"
        if key not in self.web_clients:
            client = TestClient(self.app)
            if actor is not None:
                sign_in(client, actor)
            self.web_clients[key] = client
        return self.web_clients[key]

    def csrf(self, actor: str | None) -> str:
        """The CSRF token of `actor`'s browser session."""
        return csrf_of(self.web(actor))


def csrf_of(client: TestClient) -> str:
    match = CSRF.search(client.get("/login").text)
    assert match
    return match.group(1)


def sign_in(client: TestClient, actor: str) -> None:
    response = client.post(
        "/login",
        data={"name": actor, "password": password(actor), "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def application(application_id: str, house: str, round_id: str, **changes: Any) -> Any:
    return schemas.Application(
        id=application_id,
        startup_name=f"استارتاپ {application_id}",
        business_plan=PLAN,
        sectors=["fintech"],
        stage="mvp",
        province="تهران",
        city="تهران",
        team_size=3,
        funding_ask=2_000_000_000,
        needs_residency=True,
        round_id=round_id,
        org_id=house,
        **changes,
    )


def _finished_round_job(app: Any, house: str, round_id: str, actor: str) -> str:
    return finished_job(
        app.state.jobs,
        "round_score",
        {"round_id": round_id, "top": 10},
        subject=f"rounds/{round_id}",
        created_by=f"user:{actor}",
        org_id=house,
        files={
            "report.html": "<html><head><style>body{color:#111}</style></head>"
            "<body>گزارش</body></html>",
            "scores.csv": "application_id,program_id,score\n",
        },
    )


def seed(app: Any) -> tuple[dict[str, str], dict[str, int], dict[str, str]]:
    """Houses, programs, accounts and objects into the app's store; returns (tokens, user ids,
    object ids)."""
    store = app.state.store
    store.upsert_organizations(ORGS)
    store.upsert_programs(HOUSE_PROGRAMS)
    accounts = Accounts(store)
    tokens: dict[str, str] = {}
    user_ids: dict[str, int] = {}
    for actor, (role, house) in ACTOR_ROLES.items():
        user, token = accounts.add_user(actor, role, password(actor), org_id=house)
        tokens[actor], user_ids[actor] = token, user.id
    spare, _ = accounts.add_user("spare", "applicant", password("spare"))
    user_ids["spare"] = spare.id
    today = dt.date.today()
    store.upsert_rounds(
        [
            schemas.IntakeRound(
                id=f"round-{x}",
                name=f"دورهٔ {x}",
                opens_on=today - dt.timedelta(days=10),
                closes_on=today + dt.timedelta(days=30),
                org_id=house,
                programs=[schemas.RoundProgram(program_id=program)],
            )
            for x, house, program in (("a", HOUSE_A, "fin-teh"), ("b", HOUSE_B, "health-fund"))
        ]
    )
    with store.session() as session:
        store.upsert_applications(
            [application("app-a", HOUSE_A, "round-a"), application("app-b", HOUSE_B, "round-b")],
            session=session,
        )
        accounts.set_owner("app-a", user_ids["owner"], session=session)
        accounts.set_owner("app-b", user_ids["other"], session=session)
    store.upsert_outcomes(
        [
            schemas.Outcome(application_id="app-a", program_id="fin-teh", round_id="round-a"),
            schemas.Outcome(application_id="app-b", program_id="health-fund", round_id="round-b"),
        ]
    )
    for house, actor in ((HOUSE_A, "staff_a"), (HOUSE_B, "staff_b")):
        store.scoped(Scope.house(house)).audit(f"user:{actor}", "read", "application", "seed")
    ref_a = store.add_referral(
        "app-a",
        HOUSE_C,
        from_org=HOUSE_A,
        program_id=None,
        note="",
        status="open",
        created_by="user:staff_a",
    )
    ref_b = store.add_referral(
        "app-b",
        HOUSE_C,
        from_org=HOUSE_B,
        program_id=None,
        note="",
        status="pending_consent",
        created_by="user:staff_b",
    )
    ids = {
        "app_a": "app-a",
        "app_b": "app-b",
        "round_a": "round-a",
        "round_b": "round-b",
        "program_a": "fin-teh",
        "program_a2": "agri-isf",
        "program_b": "health-fund",
        "job_a": _finished_round_job(app, HOUSE_A, "round-a", "staff_a"),
        "job_b": _finished_round_job(app, HOUSE_B, "round-b", "staff_b"),
        "ref_a": ref_a.id,
        "ref_b": ref_b.id,
        "spare": str(user_ids["spare"]),
    }
    return tokens, user_ids, ids


def make_houses(db_url: str, home: Path, **app_kwargs: Any) -> Iterator[Houses]:
    """The service (jobs are not run: no worker) on `db_url` with the houses seeded."""
    settings = Settings(home=home, database_url=db_url)
    app = create_app(
        settings,
        recommender=HouseRecommender(HOUSE_PROGRAMS),
        start_worker=False,
        rate_rules=GENEROUS_LIMITS,
        **app_kwargs,
    )
    with TestClient(app) as client:
        tokens, user_ids, ids = seed(app)
        yield Houses(client, app, settings, tokens, user_ids, ids)
