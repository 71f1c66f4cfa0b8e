"""The network view through the service: `GET /v1/network/summary` and the Persian page
`/network` (network operator and admin only), on SQLite and PostgreSQL, with its empty state."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa

from api.accounts import Accounts
from recommender import schemas
from recommender.store.tables import ProgramRow

from .conftest import PLAN, Env
from .test_web import sign_in

NETWORK_PASSWORD = "netop-password-1"
LATIN_DIGIT = re.compile(r"[0-9]")


def add_network_operator(env: Env, name: str = "netop") -> dict[str, str]:
    """A network operator account (token and password); returns its bearer header."""
    _, token = Accounts(env.store).add_user(name, "network", NETWORK_PASSWORD)
    env.passwords[name] = NETWORK_PASSWORD
    return {"Authorization": f"Bearer {token}"}


def fill_network(store: Any) -> None:
    """Two houses over the service tests' catalogue (house `main`) and one more program:
    rounds, applications, decisions and referrals with figures counted by hand in the tests."""
    store.upsert_organizations(
        [
            schemas.Organization(
                id="isfahan",
                name="مرکز نوآوری اصفهان",
                kind="innovation_center",
                province="اصفهان",
                city="اصفهان",
            )
        ]
    )
    store.upsert_programs(
        [
            schemas.Program(
                id="isf-edu",
                name="شتاب‌دهندهٔ آموزش",
                kind="accelerator",
                description="آموزش آنلاین و یادگیری",
                sectors=["edtech"],
                province="اصفهان",
                residency_seats=4,
                funding_max=2_000_000_000,
                org_id="isfahan",
            )
        ]
    )
    spring = {"opens_on": dt.date(2025, 3, 21), "closes_on": dt.date(2025, 5, 21)}
    store.upsert_rounds(
        [
            schemas.IntakeRound(
                id="r-main",
                name="دوره بهار",
                org_id="main",
                **spring,
                programs=[schemas.RoundProgram(program_id="fin-teh", seats=2)],
            ),
            schemas.IntakeRound(
                id="r-isf",
                name="دوره اصفهان",
                org_id="isfahan",
                **spring,
                programs=[schemas.RoundProgram(program_id="isf-edu")],
            ),
        ]
    )

    def app(aid: str, org: str | None, sectors: list[str], round_id: str | None = None) -> Any:
        return schemas.Application(
            id=aid,
            startup_name=f"استارتاپ {aid}",
            business_plan=PLAN,
            sectors=sectors,
            org_id=org,
            round_id=round_id,
        )

    store.upsert_applications(
        [
            app("n-a1", "main", ["fintech"], "r-main"),
            app("n-a2", "main", ["fintech"], "r-main"),
            app("n-a3", "isfahan", ["edtech"], "r-isf"),
            app("n-a4", "isfahan", ["energy"]),
            app("n-a5", None, []),
        ]
    )
    store.upsert_outcomes(
        [
            schemas.Outcome(
                application_id="n-a1",
                program_id="fin-teh",
                residency_granted=True,
                funded_amount=1_000_000_000,
            ),
            schemas.Outcome(application_id="n-a2", program_id="fin-teh"),
            schemas.Outcome(
                application_id="n-a3",
                program_id="isf-edu",
                residency_granted=True,
                funded_amount=500_000_000,
            ),
        ]
    )
    common = {"note": "", "created_by": "test", "program_id": None}
    store.add_referral("n-a2", "isfahan", from_org="main", status="open", **common)
    store.add_referral("n-a4", "main", from_org="isfahan", status="pending_consent", **common)


def test_only_the_network_operator_and_admin_read_the_summary(env: Env):
    network = add_network_operator(env)
    fill_network(env.store)
    for headers in (network, env.auth("admin")):
        response = env.client.get("/v1/network/summary", headers=headers)
        assert response.status_code == 200, response.text
    assert env.client.get("/v1/network/summary", headers=env.auth("staff")).status_code == 403
    assert env.client.get("/v1/network/summary", headers=env.auth("applicant")).status_code == 403
    assert env.client.get("/v1/network/summary").status_code == 401

    body = env.client.get("/v1/network/summary", headers=network).json()
    houses = {h["org_id"]: h for h in body["houses"]}
    main, isfahan = houses["main"], houses["isfahan"]
    assert (main["programs"], main["seats"], main["applications"]) == (4, 23, 2)
    assert (main["seats_offered"], main["seats_granted"], main["fill_rate"]) == (2, 1, 0.5)
    assert main["funding_granted"] == 1_000_000_000
    assert (isfahan["programs"], isfahan["seats"], isfahan["applications"]) == (1, 4, 2)
    assert (isfahan["seats_offered"], isfahan["fill_rate"]) == (4, 0.25)
    assert (main["referrals_sent"], main["referrals_received"]) == (1, 1)
    assert [g["sector"] for g in body["gaps"]] == ["energy"]
    assert body["applications_without_sector"] == 1
    assert body["totals"]["applications_without_house"] == 1
    assert {(r["from_org"], r["to_org"], r["status"], r["count"]) for r in body["referrals"]} == {
        ("main", "isfahan", "open", 1),
        ("isfahan", "main", "pending_consent", 1),
    }
    assert "business_plan" not in response.text


def _section(html: str, element_id: str) -> str:
    match = re.search(rf'<(table|ol|p|ul)[^>]*id="{element_id}".*?</\1>', html, re.S)
    assert match, element_id
    return re.sub(r"<[^>]+>", " ", match.group(0))


def test_the_network_page_in_persian_with_charts(web_env: Env):
    add_network_operator(web_env)
    fill_network(web_env.store)
    client = sign_in(web_env, "netop")
    page = client.get("/network")
    assert page.status_code == 200, page.text
    html = page.text
    assert "نمای شبکه" in html and "حوزه‌هایی که تقاضا دارند و برنامه ندارند" in html
    houses = _section(html, "houses")
    assert "مرکز نوآوری اصفهان" in houses
    assert "۵۰٪" in houses and "۲۵٪" in houses  # fill rates
    assert "۱٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in houses  # funding granted, rial
    for element_id in ("houses", "sectors", "referrals", "network-totals"):
        text = _section(html, element_id)
        assert not LATIN_DIGIT.search(text), (element_id, LATIN_DIGIT.findall(text))
    assert "انرژی" in _section(html, "gaps")
    assert "نامشخص" in _section(html, "sectors")  # applications naming no sector
    referrals = _section(html, "referrals")
    assert "در انتظار رضایت متقاضی" in referrals and "خانه خلاق" in referrals
    # three charts, each an image with a Persian text alternative and caption
    charts = re.findall(
        r'<figure class="chart" id="(chart-[a-z-]+)">\s*<img alt="([^"]+)" '
        r'src="data:image/svg\+xml;base64,',
        html,
    )
    assert [c[0] for c in charts] == ["chart-fill-rate", "chart-sectors", "chart-referrals"]
    assert all("جدول" in alt for _, alt in charts)  # points to the same figures in a table
    assert "network-empty" not in html
    # a network operator signing in lands here (their home page)
    assert client.get("/", follow_redirects=False).headers["location"] == "/network"


def test_staff_and_applicants_are_refused_the_page(web_env: Env):
    for who in ("staff", "applicant"):
        web_env.client.cookies.clear()
        page = sign_in(web_env, who).get("/network")
        assert page.status_code == 403
        assert "اجازهٔ دسترسی ندارید" in page.text
    web_env.client.cookies.clear()
    admin = sign_in(web_env, "admin").get("/network")
    assert admin.status_code == 200 and "نمای شبکه" in admin.text
    web_env.client.cookies.clear()
    anonymous = web_env.client.get("/network", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_an_empty_network_has_a_helpful_page(web_env: Env):
    with web_env.store.session() as session:
        session.execute(sa.delete(ProgramRow))
    add_network_operator(web_env)
    page = sign_in(web_env, "netop").get("/network")
    assert page.status_code == 200
    assert 'id="network-empty"' in page.text and "هنوز داده‌ای در شبکه نیست" in page.text
    assert "<figure" not in page.text
    body = web_env.client.get("/v1/network/summary", headers=web_env.auth("admin")).json()
    assert body["totals"]["programs"] == 0 and body["sectors"] == [] and body["gaps"] == []
