"""The decision workflow through the API, on SQLite and PostgreSQL (row-level security
included): the owner applies to house B's program, house B then reads the application,
shortlists it, decides and corrects the decision; the timeline shows each step oldest first.
Bad requests are clear 4xx that change nothing; another house's staff get 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from recommender import schemas
from recommender.store.tenancy import TENANT_ROLE, Scope

from ._houses import Houses, make_houses


@pytest.fixture
def houses(db_url: str, tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(db_url, tmp_path / "home")


def _post(h: Houses, actor: str, url: str, body: dict) -> tuple[int, dict | list]:
    response = h.client.post(url, json=body, headers=h.auth(actor))
    return response.status_code, response.json() if response.content else {}


def _get(h: Houses, actor: str, url: str) -> tuple[int, dict | list]:
    response = h.client.get(url, headers=h.auth(actor))
    return response.status_code, response.json()


def _outcome(h: Houses, app_id: str, program_id: str) -> schemas.Outcome | None:
    found = [
        o
        for o in h.store.list_outcomes()
        if (o.application_id, o.program_id) == (app_id, program_id)
    ]
    return found[0] if found else None


def test_apply_shortlist_decide_correct_timeline(houses: Houses):
    h = houses
    base = "/v1/applications/app-a"
    # House B cannot read house A's application before it applies to B's program.
    assert _get(h, "staff_b", base)[0] == 404

    status, applied = _post(h, "owner", f"{base}/programs", {"program_id": "health-fund"})
    assert status == 201, applied
    assert applied["round_id"] == "round-b"  # the program's open round
    again_status, again = _post(h, "owner", f"{base}/programs", {"program_id": "health-fund"})
    assert (again_status, again) == (200, applied)  # idempotent: the same record
    assert len(h.store.list_applied("app-a")) == 1

    assert _get(h, "staff_b", base)[0] == 200  # the program's house now reads it
    assert _get(h, "staff_b", "/v1/applications/app-b")[0] == 200  # its own, as before

    status, entry = _post(h, "staff_b", f"{base}/shortlist", {"program_id": "health-fund"})
    assert status == 201, entry
    assert _post(h, "staff_b", f"{base}/shortlist", {"program_id": "health-fund"})[0] == 200

    status, note = _post(h, "staff_b", f"{base}/notes", {"body": "تیم قوی؛ مصاحبه شود."})
    assert status == 201, note
    assert note["author"] == "user:staff_b"

    decision_body = {
        "program_id": "health-fund",
        "residency_granted": False,
        "funded_amount": 3_000_000_000,
        "note": "پذیرش با مبلغ کمتر",
    }
    status, first = _post(h, "staff_b", f"{base}/decisions", decision_body)
    assert status == 201, first
    assert (first["applied"], first["decided_by"], first["round_id"]) == (
        True,
        "user:staff_b",
        "round-b",
    )
    outcome = _outcome(h, "app-a", "health-fund")
    assert outcome is not None and outcome.funded_amount == 3_000_000_000
    assert outcome.decided_on == dt.date.today() and outcome.round_id == "round-b"

    corrected = decision_body | {"residency_granted": True, "funded_amount": 4_000_000_000}
    status, second = _post(h, "staff_b", f"{base}/decisions", corrected)
    assert status == 201, second
    outcome = _outcome(h, "app-a", "health-fund")
    assert outcome is not None
    assert (outcome.funded_amount, outcome.residency_granted) == (4_000_000_000, True)
    assert (outcome.decided_by, outcome.note) == ("user:staff_b", "پذیرش با مبلغ کمتر")
    status, history = _get(h, "staff_b", f"{base}/decisions")
    assert status == 200
    assert [d["funded_amount"] for d in history] == [3_000_000_000, 4_000_000_000]

    # The owner's timeline: every step, oldest first, without the staff's notes.
    status, events = _get(h, "owner", f"{base}/timeline")
    assert status == 200, events
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "submitted"
    assert [k for k in kinds if k != "referred"] == [
        "submitted",
        "applied",
        "shortlisted",
        "decided",
        "decided",
    ]
    decided = [e for e in events if e["kind"] == "decided"]
    assert [e["correction"] for e in decided] == [False, True]
    assert all("note" not in e and "decided_by" not in e for e in decided)
    ats = [e["at"] for e in events]
    assert ats == sorted(ats)
    # Staff of the program's house see who decided and the decision note.
    staff_events = _get(h, "staff_b", f"{base}/timeline")[1]
    assert [e["decided_by"] for e in staff_events if e["kind"] == "decided"] == ["user:staff_b"] * 2

    # Private notes: staff of the houses that read it; never the applicant.
    assert _get(h, "owner", f"{base}/notes")[0] == 403
    assert [n["body"] for n in _get(h, "staff_a", f"{base}/notes")[1]] == [note["body"]]
    assert _get(h, "other", f"{base}/timeline")[0] == 404

    # Off the shortlist: the entry goes.
    response = h.client.delete(f"{base}/shortlist/health-fund", headers=h.auth("staff_b"))
    assert response.status_code == 204
    assert h.store.list_shortlist("app-a") == []


def test_another_house_gets_404_and_nothing_changes(houses: Houses):
    h = houses
    body = {"program_id": "health-fund", "funded_amount": 1}
    # House B cannot read app-a (nothing applied): 404 like a missing id.
    assert _post(h, "staff_b", "/v1/applications/app-a/decisions", body)[0] == 404
    assert _post(h, "staff_b", "/v1/applications/missing/decisions", body)[0] == 404
    # House A reads app-a but health-fund is house B's program: 404 too.
    assert _post(h, "staff_a", "/v1/applications/app-a/decisions", body)[0] == 404
    assert (
        _post(h, "staff_a", "/v1/applications/app-a/shortlist", {"program_id": "health-fund"})[0]
        == 404
    )
    assert _post(h, "staff_b", "/v1/applications/app-a/notes", {"body": "x"})[0] == 404
    assert h.store.list_decisions("app-a") == []
    assert h.store.list_shortlist("app-a") == []
    assert h.store.list_notes("app-a") == []
    # Applicants cannot decide, shortlist or write notes; staff cannot apply.
    assert _post(h, "owner", "/v1/applications/app-a/decisions", body)[0] == 403
    assert (
        _post(h, "staff_a", "/v1/applications/app-a/programs", {"program_id": "fin-teh"})[0] == 403
    )
    assert _post(h, "other", "/v1/applications/app-a/programs", {"program_id": "fin-teh"})[0] == 404
    assert h.store.list_applied("app-a") == []


def test_decision_on_a_program_not_applied_to_is_recorded_as_such(houses: Houses):
    status, decision = _post(
        houses,
        "staff_a",
        "/v1/applications/app-a/decisions",
        {"program_id": "agri-isf", "funded_amount": 0},
    )
    assert status == 201, decision
    assert decision["applied"] is False
    assert _outcome(houses, "app-a", "agri-isf") is not None


def test_funding_above_the_program_max_or_the_round_budget(houses: Houses):
    h = houses
    url = "/v1/applications/app-a/decisions"
    status, body = _post(
        h, "staff_a", url, {"program_id": "fin-teh", "funded_amount": 11_000_000_000}
    )
    assert status == 422
    assert "10,000,000,000" in body["detail"] and "11,000,000,000" in body["detail"]
    assert "۱۰٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in body["detail"]  # the Persian half, Persian digits

    # Round A gives fin-teh a budget of 5e9; app-c already has 2e9 of it.
    intake = h.store.get_round("round-a")
    h.store.upsert_rounds(
        [
            intake.model_copy(
                update={
                    "programs": [schemas.RoundProgram(program_id="fin-teh", budget=5_000_000_000)]
                }
            )
        ]
    )
    from ._houses import HOUSE_A, application

    h.store.upsert_applications([application("app-c", HOUSE_A, "round-a")])
    h.store.upsert_outcomes(
        [
            schemas.Outcome(
                application_id="app-c",
                program_id="fin-teh",
                round_id="round-a",
                funded_amount=2_000_000_000,
            )
        ]
    )
    status, body = _post(
        h, "staff_a", url, {"program_id": "fin-teh", "funded_amount": 4_000_000_000}
    )
    assert status == 422
    assert "3,000,000,000" in body["detail"]  # what is left
    assert "۳٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in body["detail"]
    assert h.store.list_decisions("app-a") == []
    assert _outcome(h, "app-a", "fin-teh").funded_amount == 0  # the seeded outcome unchanged
    # Within what is left: accepted (and correcting it does not count itself twice).
    for amount in (3_000_000_000, 3_000_000_000):
        status, body = _post(h, "staff_a", url, {"program_id": "fin-teh", "funded_amount": amount})
        assert status == 201, body


def test_applying_to_an_inactive_program_or_a_closed_round(houses: Houses):
    h = houses
    url = "/v1/applications/app-a/programs"
    program = h.store.get_program("agri-isf")
    h.store.upsert_programs([program.model_copy(update={"active": False})])
    status, body = _post(h, "owner", url, {"program_id": "agri-isf"})
    assert status == 422 and "not active" in body["detail"]
    assert _post(h, "owner", url, {"program_id": "no-such"})[0] == 422

    today = dt.date.today()
    h.store.upsert_rounds(
        [
            schemas.IntakeRound(
                id="round-old",
                name="دورهٔ گذشته",
                opens_on=today - dt.timedelta(days=90),
                closes_on=today - dt.timedelta(days=60),
                org_id="house-a",
                programs=[schemas.RoundProgram(program_id="fin-teh")],
            )
        ]
    )
    status, body = _post(h, "owner", url, {"program_id": "fin-teh", "round_id": "round-old"})
    assert status == 422 and "closed" in body["detail"]
    status, body = _post(h, "owner", url, {"program_id": "fin-teh", "round_id": "round-b"})
    assert status == 422  # round B does not take fin-teh
    assert h.store.list_applied("app-a") == []
    # Without a round named: the program's open round (round A, not the closed one).
    status, body = _post(h, "owner", url, {"program_id": "fin-teh"})
    assert status == 201 and body["round_id"] == "round-a"


def test_notes_must_have_text(houses: Houses):
    status, body = _post(houses, "staff_a", "/v1/applications/app-a/notes", {"body": "   "})
    assert status == 422
    assert houses.store.list_notes("app-a") == []


def _raw(h: Houses, scope: Scope, table: str, key: str) -> set[str]:
    with h.store.scoped(scope).session() as session:
        assert session.execute(sa.text("SELECT current_user")).scalar_one() == TENANT_ROLE
        return {str(v) for v in session.execute(sa.text(f"SELECT {key} FROM {table}")).scalars()}


@pytest.mark.postgres
def test_row_level_security_of_the_workflow_tables(houses: Houses):
    """Raw SELECTs under the tenant role (a second wall behind the store's filters)."""
    h = houses
    if h.store.dialect != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    house_a, house_b = Scope.house("house-a"), Scope.house("house-b")
    owner, other = Scope.owner(h.user_ids["owner"]), Scope.owner(h.user_ids["other"])
    assert _raw(h, house_b, "applications", "id") == {"app-b"}
    assert (
        _post(h, "owner", "/v1/applications/app-a/programs", {"program_id": "health-fund"})[0]
        == 201
    )
    assert _raw(h, house_b, "applications", "id") == {"app-a", "app-b"}  # applied to B
    body = {"program_id": "health-fund", "funded_amount": 0, "note": "n"}
    assert _post(h, "staff_b", "/v1/applications/app-a/decisions", body)[0] == 201
    assert (
        _post(h, "staff_b", "/v1/applications/app-a/shortlist", {"program_id": "health-fund"})[0]
        == 201
    )
    assert _post(h, "staff_b", "/v1/applications/app-b/notes", {"body": "فقط برای ب"})[0] == 201
    assert _post(h, "staff_a", "/v1/applications/app-a/notes", {"body": "برای الف"})[0] == 201

    pair = "application_id || '/' || program_id"
    assert _raw(h, house_a, "applied_programs", pair) == set()  # B's program
    assert _raw(h, house_b, "applied_programs", pair) == {"app-a/health-fund"}
    assert _raw(h, owner, "applied_programs", pair) == {"app-a/health-fund"}
    assert _raw(h, other, "applied_programs", pair) == set()
    assert _raw(h, house_a, "decisions", pair) == set()
    assert _raw(h, house_b, "decisions", pair) == {"app-a/health-fund"}
    assert _raw(h, owner, "decisions", pair) == {"app-a/health-fund"}
    assert _raw(h, other, "shortlist_entries", pair) == set()
    assert _raw(h, house_b, "shortlist_entries", pair) == {"app-a/health-fund"}
    # Notes: the houses that read the application; never an applicant.
    assert _raw(h, house_a, "application_notes", "body") == {"برای الف"}
    assert _raw(h, house_b, "application_notes", "body") == {"فقط برای ب", "برای الف"}
    assert _raw(h, owner, "application_notes", "body") == set()
