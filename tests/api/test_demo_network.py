"""The demo's network: every house has an open round on the build day, the demo accounts carry
their houses (written to demo_accounts.json and printed by `peyvand serve`), and the demo
applicant has an application in demo-staff's house."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from api.accounts import DEMO_HOUSES, Accounts, create_demo_accounts, read_demo_accounts
from api.cli.demo_cmds import DEMO_APPLICATION_ID, demo_application, demo_history, demo_referrals
from api.cli.serve_cmds import demo_account_lines
from data.catalog import load_organizations, load_programs, seed_store
from recommender import schemas
from recommender.store.database import Store
from recommender.store.tenancy import Scope


@pytest.mark.parametrize("today", [dt.date(2026, 11, 27), dt.date(2031, 3, 22), None])
def test_every_house_has_one_round_open_on_the_build_day(today: dt.date | None):
    history, open_rounds, outcomes = demo_history(
        load_programs(), seed=42, rounds=3, per_round=20, today=today
    )
    day = today or dt.date.today()
    houses = {p.org_id for p in load_programs() if p.active}
    assert sorted(r["org_id"] for r in open_rounds) == sorted(houses)
    open_ids = {r["id"] for r in open_rounds}
    for intake in (schemas.IntakeRound.model_validate(r) for r in history.rounds):
        if intake.id in open_ids:
            assert intake.opens_on <= day <= intake.closes_on
        else:
            assert intake.closes_on < day
    assert outcomes and not any(o["round_id"] in open_ids for o in outcomes)
    assert max(dt.date.fromisoformat(o["decided_on"]) for o in outcomes) <= day


def test_open_rounds_are_named_by_their_jalali_season_and_house():
    _, open_rounds, _ = demo_history(
        load_programs(), seed=42, rounds=3, per_round=10, today=dt.date(2026, 11, 27)
    )
    names = {o.id: o.name for o in load_organizations()}
    # Opened 2026-11-13..20 = 22-29 Aban 1405: autumn (the third season) of 1405.
    for intake in open_rounds:
        assert intake["id"] == f"round-1405-3-{intake['org_id']}"
        assert "پاییز" in intake["name"] and names[intake["org_id"]] in intake["name"]


@pytest.fixture
def network(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        store.upgrade()
        seed_store(store)
        yield store


def test_demo_accounts_have_roles_and_houses(network: Store, tmp_path: Path):
    accounts = create_demo_accounts(network, tmp_path)
    by_name = {a.name: a for a in accounts}
    assert {a.name: a.role for a in accounts} == {
        "demo-admin": "admin",
        "demo-network": "network",
        "demo-staff": "staff",
        "demo-staff-2": "staff",
        "demo-applicant": "applicant",
    }
    names = {o.id: o.name for o in load_organizations()}
    assert (by_name["demo-staff"].org_id, by_name["demo-staff-2"].org_id) == DEMO_HOUSES
    assert by_name["demo-staff"].org_name == names[DEMO_HOUSES[0]]
    assert all(by_name[n].org_id is None for n in ("demo-admin", "demo-network", "demo-applicant"))
    for account in accounts:  # stored as recorded
        user = Accounts(network).authenticate(account.name, account.password)
        assert user is not None and (user.role, user.org_id) == (account.role, account.org_id)
    saved = json.loads((tmp_path / "demo_accounts.json").read_text(encoding="utf-8"))
    assert saved[2] == {
        "name": "demo-staff",
        "role": "staff",
        "password": by_name["demo-staff"].password,
        "org_id": DEMO_HOUSES[0],
        "org_name": names[DEMO_HOUSES[0]],
    }
    assert read_demo_accounts(tmp_path) == accounts
    lines = demo_account_lines(read_demo_accounts(tmp_path))
    staff_line = next(line for line in lines if "demo-staff " in line)
    assert names[DEMO_HOUSES[0]] in staff_line and DEMO_HOUSES[0] in staff_line
    assert by_name["demo-staff"].password in staff_line
    assert create_demo_accounts(network, tmp_path) == accounts  # once: same passwords


def test_an_older_demo_file_without_houses_still_reads(tmp_path: Path):
    (tmp_path / "demo_accounts.json").write_text(
        json.dumps([{"name": "demo-staff", "role": "staff", "password": "pw"}]), encoding="utf-8"
    )
    (old,) = read_demo_accounts(tmp_path)
    assert old.org_id is None
    assert demo_account_lines([old]) == [f"  {'کارشناس خانه':<14} {'demo-staff':<16} pw"]


def test_the_demo_applicant_has_an_application_in_demo_staffs_house(network: Store, tmp_path: Path):
    history, open_rounds, _ = demo_history(
        load_programs(), seed=42, rounds=8, per_round=80, today=dt.date(2026, 11, 27)
    )  # the demo's own sizes
    network.upsert_rounds([schemas.IntakeRound(**r) for r in history.rounds])
    accounts = create_demo_accounts(network, tmp_path)
    assert demo_application(network, accounts, open_rounds) == DEMO_APPLICATION_ID
    registry = Accounts(network)
    applicant = registry.find_user("demo-applicant")
    assert registry.owned_ids(applicant.id) == [DEMO_APPLICATION_ID]
    stored = network.get_application(DEMO_APPLICATION_ID)
    house = DEMO_HOUSES[0]
    assert stored.org_id == house and not stored.share_with_network
    assert network.get_round(stored.round_id).org_id == house
    # demo-staff's house reads it; demo-staff-2's house does not (until a referral)
    assert network.scoped(Scope.house(house)).get_application(DEMO_APPLICATION_ID)
    other = network.scoped(Scope.house(DEMO_HOUSES[1]))
    assert DEMO_APPLICATION_ID not in {a.id for a in other.list_applications()}
    demo_application(network, accounts, open_rounds)  # again: updated, not duplicated
    assert registry.owned_ids(applicant.id) == [DEMO_APPLICATION_ID]


def test_demo_referrals_go_between_houses_through_the_rules(network: Store):
    history, _, outcomes = demo_history(
        load_programs(), seed=42, rounds=3, per_round=40, today=dt.date(2026, 11, 27)
    )
    network.upsert_rounds([schemas.IntakeRound.model_validate(r) for r in history.rounds])
    network.upsert_applications(
        [schemas.Application.model_validate(a) for a in history.applications]
    )
    network.upsert_outcomes([schemas.Outcome.model_validate(o) for o in outcomes])
    made = demo_referrals(network, seed=42, count=12)
    referrals = network.list_referrals()
    assert made == len(referrals) and 0 < made <= 12
    applications = {a.id: a for a in network.list_applications()}
    for referral in referrals:
        application = applications[referral.application_id]
        assert application.share_with_network  # shared, so no consent was needed
        assert referral.from_org == application.org_id != referral.to_org
        assert referral.status in {"open", "accepted", "declined"}
    audited = {e.action for e in network.list_audit()}
    assert "refer" in audited
    assert demo_referrals(network, seed=42, count=12) == made  # a second demo adds none
    assert len(network.list_referrals()) == made


def test_demo_event_is_stored_through_the_import_and_can_be_scheduled(
    network: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from api.cli.demo_cmds import _demo_event
    from recommender.embedding.encoder import Embedder
    from recommender.events.planner import schedule_event
    from tests.recommender._embedding_fakes import register_fake_model

    history, open_rounds, _ = demo_history(
        load_programs(), seed=42, rounds=8, per_round=80, today=dt.date(2026, 11, 27)
    )  # the demo's own sizes
    network.upsert_rounds([schemas.IntakeRound(**r) for r in history.rounds])
    network.upsert_applications([schemas.Application(**a) for a in history.applications])
    house = DEMO_HOUSES[0]
    staff_round = next(r["id"] for r in open_rounds if r["org_id"] == house)
    _demo_event(network, tmp_path, staff_round, seed=42)
    _demo_event(network, tmp_path, staff_round, seed=42)  # again: replaced, not doubled

    [(event, count)] = network.list_events()
    data = network.get_event(event.id)
    assert event.org_id == house and len(event.slots) == 8 and count >= 60
    assert len(data.participants) == count
    kinds = {p.kind for p in data.participants}
    assert kinds == {"startup", "mentor", "investor", "program"}
    houses_apps = {a.id for a in network.list_applications() if a.org_id == house}
    startups = [p for p in data.participants if p.kind == "startup"]
    assert startups and all(p.application_id in houses_apps for p in startups)
    assert any(p.requests for p in data.participants)
    assert (tmp_path / "demo_event.json").is_file()

    model = register_fake_model(tmp_path, monkeypatch)
    embedder = Embedder(model=model, models_dir=tmp_path).fit()
    schedule = schedule_event(data, embedder, time_limit_s=60)
    assert schedule.solution.optimal and schedule.meetings
    met = {p for m in schedule.meetings for p in (m.participant_a, m.participant_b)}
    assert {p.id for p in startups} <= met  # the fairness level gives every startup a meeting
    by_id = data.by_id()
    mutual = {
        tuple(sorted((p.id, q))) for p in data.participants for q in p.requests
        if p.id in by_id.get(q, p).requests
    }
    pairs = {(m.participant_a, m.participant_b) for m in schedule.meetings}
    assert mutual and mutual <= pairs
