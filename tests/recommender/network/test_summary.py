"""`network.summary.network_summary`: every figure of the network operator's view, counted by
hand on a small network (three houses, four programs, two rounds, seven applications, five
outcomes, four referrals), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from recommender import schemas
from recommender.network.summary import NetworkSummary, network_summary
from recommender.store.database import Store
from recommender.store.tenancy import Scope

ORGS = [
    schemas.Organization(id="tehran", name="خانه خلاق تهران", province="تهران", city="تهران"),
    schemas.Organization(
        id="isfahan", name="مرکز نوآوری اصفهان", kind="innovation_center", province="اصفهان"
    ),
    schemas.Organization(id="shiraz", name="خانه خلاق شیراز", province="فارس", active=False),
]


def _program(
    pid: str, org: str, sectors: list[str], seats: int, funding_max: int, active: bool = True
) -> schemas.Program:
    return schemas.Program(
        id=pid,
        name=f"برنامه {pid}",
        kind="accelerator",
        description="برنامهٔ آزمایشی",
        sectors=sectors,
        province="تهران",
        residency_seats=seats,
        funding_max=funding_max,
        active=active,
        org_id=org,
    )


PROGRAMS = [
    _program("t-fin", "tehran", ["fintech", "ai"], 10, 1_000),
    _program("t-old", "tehran", ["games"], 5, 9_000, active=False),
    _program("i-agri", "isfahan", ["agritech"], 4, 500),
    _program("i-fund", "isfahan", ["fintech"], 0, 2_000),
]
ROUNDS = [
    schemas.IntakeRound(
        id="r-t",
        name="دوره تهران",
        opens_on=dt.date(2025, 3, 21),
        closes_on=dt.date(2025, 5, 1),
        org_id="tehran",
        programs=[schemas.RoundProgram(program_id="t-fin", seats=3)],
    ),
    schemas.IntakeRound(
        id="r-i",
        name="دوره اصفهان",
        opens_on=dt.date(2025, 3, 21),
        closes_on=dt.date(2025, 5, 1),
        org_id="isfahan",
        programs=[
            schemas.RoundProgram(program_id="i-agri"),
            schemas.RoundProgram(program_id="i-fund", budget=7_000),
        ],
    ),
]


def _application(
    aid: str, org: str | None, sectors: list[str], round_id: str | None = None
) -> schemas.Application:
    return schemas.Application(
        id=aid,
        startup_name=f"استارتاپ {aid}",
        business_plan="طرح",
        sectors=sectors,
        org_id=org,
        round_id=round_id,
    )


APPLICATIONS = [
    _application("a1", "tehran", ["fintech"], "r-t"),
    _application("a2", "tehran", ["fintech", "ai"], "r-t"),
    _application("a3", "tehran", []),  # names no sector: "unknown", not guessed
    _application("a4", "isfahan", ["agritech"], "r-i"),
    _application("a5", "isfahan", ["health"], "r-i"),
    _application("a6", None, ["health"]),  # submitted to the whole network
    _application("a7", "isfahan", ["energy"]),
]
OUTCOMES = [
    # round from the application (r-t): counts towards the fill rate
    schemas.Outcome(
        application_id="a1", program_id="t-fin", residency_granted=True, funded_amount=100
    ),
    schemas.Outcome(
        application_id="a2",
        program_id="t-fin",
        round_id="r-t",
        residency_granted=True,
        funded_amount=200,
    ),
    # no round at all (imported history): granted, but not a seat of a round
    schemas.Outcome(
        application_id="a3", program_id="t-fin", residency_granted=True, funded_amount=50
    ),
    schemas.Outcome(
        application_id="a4",
        program_id="i-agri",
        round_id="r-i",
        residency_granted=True,
        funded_amount=300,
    ),
    schemas.Outcome(
        application_id="a5",
        program_id="i-fund",
        round_id="r-i",
        residency_granted=False,
        funded_amount=700,
    ),
]


@pytest.fixture
def network(store: Store) -> Store:
    store.upsert_organizations(ORGS)
    store.upsert_programs(PROGRAMS)
    store.upsert_rounds(ROUNDS)
    store.upsert_applications(APPLICATIONS)
    store.upsert_outcomes(OUTCOMES)
    refer = {"note": "", "created_by": "test", "program_id": None}
    store.add_referral("a1", "isfahan", from_org="tehran", status="open", **refer)
    store.add_referral("a3", "isfahan", from_org="tehran", status="open", **refer)
    store.add_referral("a2", "isfahan", from_org="tehran", status="pending_consent", **refer)
    store.add_referral("a6", "shiraz", from_org=None, status="accepted", **refer)
    return store


def test_per_house_figures(network: Store) -> None:
    summary = network_summary(network)
    houses = {h.org_id: h for h in summary.houses}
    assert [h.org_id for h in summary.houses] == ["isfahan", "shiraz", "tehran"]
    t, i, s = houses["tehran"], houses["isfahan"], houses["shiraz"]
    assert (t.name, t.active, s.active) == ("خانه خلاق تهران", True, False)
    assert (t.programs, t.inactive_programs, t.seats, t.applications) == (1, 1, 10, 3)
    # round r-t lists t-fin with 3 seats (override); budget = funding_max x seats
    assert (t.seats_offered, t.budget_offered) == (3, 3_000)
    # a1 (round from its application) and a2 count; a3 has no round
    assert (t.seats_granted, t.residency_granted, t.funding_granted) == (2, 3, 350)
    assert t.fill_rate == pytest.approx(2 / 3)
    assert (t.referrals_sent, t.referrals_received) == (3, 0)
    assert (i.programs, i.inactive_programs, i.seats, i.applications) == (2, 0, 4, 3)
    # i-agri: its own 4 seats, budget 500 x 4; i-fund: 0 seats, budget override 7000
    assert (i.seats_offered, i.budget_offered) == (4, 9_000)
    assert (i.seats_granted, i.residency_granted, i.funding_granted) == (1, 1, 1_000)
    assert i.fill_rate == pytest.approx(0.25)
    assert (i.referrals_sent, i.referrals_received) == (0, 3)
    assert (s.programs, s.seats, s.applications, s.seats_offered) == (0, 0, 0, 0)
    assert s.fill_rate is None  # no seats offered: no rate, not 0
    assert (s.referrals_sent, s.referrals_received) == (0, 1)


def test_sector_demand_supply_and_gaps(network: Store) -> None:
    summary = network_summary(network)
    rows = {x.sector: x for x in summary.sectors}
    # taxonomy order; games has only an inactive program and no demand: not listed
    assert [x.sector for x in summary.sectors] == ["fintech", "health", "agritech", "energy", "ai"]
    fintech = rows["fintech"]
    assert (fintech.applications, fintech.programs, fintech.seats) == (2, 2, 10)
    assert fintech.budget == 1_000 * 10 + 2_000 * 1  # funding_max x max(1, seats)
    assert fintech.applications_per_seat == pytest.approx(0.2)
    assert rows["fintech"].name_fa == "فین\u200cتک و خدمات مالی"
    assert (rows["ai"].applications, rows["ai"].programs, rows["ai"].seats) == (1, 1, 10)
    assert (rows["agritech"].applications, rows["agritech"].budget) == (1, 2_000)
    assert (rows["health"].applications, rows["health"].programs) == (2, 0)
    assert rows["health"].applications_per_seat is None
    assert [(g.sector, g.applications) for g in summary.gaps] == [("health", 2), ("energy", 1)]
    assert all(x.is_gap == (x.sector in ("health", "energy")) for x in summary.sectors)
    assert summary.applications_without_sector == 1


def test_referral_routes_and_totals(network: Store) -> None:
    summary = network_summary(network)
    assert [(r.from_org, r.to_org, r.status, r.count) for r in summary.referrals] == [
        (None, "shiraz", "accepted", 1),
        ("tehran", "isfahan", "open", 2),
        ("tehran", "isfahan", "pending_consent", 1),
    ]
    t = summary.totals
    assert (t.houses, t.active_houses) == (3, 2)
    assert (t.programs, t.inactive_programs, t.seats) == (3, 1, 14)
    assert (t.applications, t.applications_without_house) == (7, 1)
    assert (t.seats_offered, t.seats_granted) == (7, 3)
    assert t.fill_rate == pytest.approx(3 / 7)
    assert (t.residency_granted, t.funding_granted, t.referrals) == (4, 1_350, 4)
    assert not summary.is_empty
    # JSON round trip (what the API answers)
    assert NetworkSummary.model_validate_json(summary.model_dump_json()) == summary


def test_a_house_scoped_store_sees_only_its_part(network: Store) -> None:
    summary = network_summary(network.scoped(Scope.house("isfahan")))
    houses = {h.org_id: h for h in summary.houses}
    # isfahan's own three and the two referred to it while open (a1, a3)
    assert houses["isfahan"].applications == 3 and houses["tehran"].applications == 2
    assert summary.totals.applications == 5
    # outcomes at isfahan's programs only; referrals from isfahan, or to it once opened (not
    # a2's, which waits for consent)
    assert houses["tehran"].funding_granted == 0 and houses["isfahan"].funding_granted == 1_000
    assert summary.totals.referrals == 2


def test_an_empty_network(store: Store) -> None:
    summary = network_summary(store)
    assert summary.is_empty
    assert summary.sectors == [] and summary.gaps == [] and summary.referrals == []
    assert summary.totals.fill_rate is None and summary.applications_without_sector == 0
