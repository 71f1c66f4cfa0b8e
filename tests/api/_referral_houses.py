"""Two houses for the referral tests: the app's own house `main` (which holds the catalogue of
tests/api/conftest.py and its `staff` account), a second house `shiraz` with a program and
staff of its own, an inactive house, and a network operator.

`add_houses(env)` returns a `Houses` with bearer headers per account; with `passwords=True`
each account also gets a password (web sign-in) stored in `env.passwords`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.accounts import Accounts
from recommender import schemas

from .conftest import PLAN, Env, application_body

HOUSE_A = "main"
HOUSE_B = "shiraz"
HOUSE_CLOSED = "closed-house"

HOUSE_B_PROGRAM = schemas.Program(
    id="pay-shz",
    name="شتاب‌دهنده کیف پول شیراز",
    kind="accelerator",
    description="شتاب‌دهنده کیف پول دیجیتال و درگاه پرداخت برای فروشگاه‌های کوچک در شیراز.",
    sectors=["fintech"],
    stages=["mvp"],
    province="فارس",
    city="شیراز",
    residency_seats=6,
    org_id=HOUSE_B,
)

ORGS = [
    schemas.Organization(
        id=HOUSE_B, name="خانه خلاق شیراز", kind="creative_house", province="فارس", city="شیراز"
    ),
    schemas.Organization(
        id=HOUSE_CLOSED, name="خانه بسته", kind="innovation_center", province="یزد", active=False
    ),
]


@dataclass
class Houses:
    env: Env
    headers: dict[str, dict[str, str]]

    def auth(self, who: str) -> dict[str, str]:
        return self.headers[who]

    def submit(self, who: str = "applicant", **overrides: Any) -> str:
        """A new application (in house A unless told otherwise); returns its id."""
        body = application_body(org_id=HOUSE_A, **overrides)
        response = self.env.client.post("/v1/applications", json=body, headers=self.auth(who))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def refer(self, app_id: str, who: str = "staff", **body: Any) -> Any:
        payload = {"to_org": HOUSE_B, "note": "برای برنامهٔ کیف پول شیراز مناسب است"} | body
        return self.env.client.post(
            f"/v1/applications/{app_id}/referrals", json=payload, headers=self.auth(who)
        )

    def step(self, referral_id: str, action: str, who: str) -> Any:
        return self.env.client.post(f"/v1/referrals/{referral_id}/{action}", headers=self.auth(who))


def add_houses(env: Env, *, passwords: bool = False) -> Houses:
    """House B (with one program), an inactive house, staff of B and a network operator."""
    store = env.store
    store.upsert_organizations(ORGS)
    store.upsert_programs([HOUSE_B_PROGRAM])
    if HOUSE_B_PROGRAM not in env.recommender.programs:
        env.recommender.programs.append(HOUSE_B_PROGRAM)
    accounts = Accounts(store)
    extra = {"staff_b": ("staff", HOUSE_B), "network": ("network", None)}
    for name, (role, org) in extra.items():
        password = f"{name}-password-1" if passwords else None
        user, token = accounts.add_user(name, role, password, org_id=org)
        env.tokens[name], env.user_ids[name] = token, user.id
        if password:
            env.passwords[name] = password
    headers = {who: env.auth(who) for who in env.tokens}
    return Houses(env, headers)


__all__ = ["HOUSE_A", "HOUSE_B", "HOUSE_CLOSED", "HOUSE_B_PROGRAM", "PLAN", "Houses", "add_houses"]
