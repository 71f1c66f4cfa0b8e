"""Referrals through the API, on SQLite and PostgreSQL (row-level security included): staff of
house A refer, the applicant consents, staff of house B read the application and accept; bad
requests are clear 4xx that change nothing; a referral or application of another house is a
404 like a missing id; two racing accepts give one 200 and one 409."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from ._referral_houses import HOUSE_A, HOUSE_B, HOUSE_B_PROGRAM, HOUSE_CLOSED, Houses, add_houses
from .conftest import Env


@pytest.fixture
def houses(env: Env) -> Houses:
    return add_houses(env)


def _status(env: Env, referral_id: str) -> str:
    return env.store.get_referral(referral_id).status


def _audit_actions(env: Env, referral_id: str) -> list[str]:
    entries = env.store.list_audit(target_kind="referral")
    return [e.action for e in reversed(entries) if e.target_id == referral_id]


def test_refer_consent_read_accept_end_to_end(houses: Houses):
    env = houses.env
    app_id = houses.submit()
    # Before any referral house B cannot read the application: 404 like a missing id.
    assert (
        env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("staff_b")).status_code
        == 404
    )

    made = houses.refer(app_id, program_id=HOUSE_B_PROGRAM.id)
    assert made.status_code == 201, made.text
    referral = made.json()
    assert referral["status"] == "pending_consent"
    assert (referral["from_org"], referral["to_org"]) == (HOUSE_A, HOUSE_B)
    rid = referral["id"]

    # Still no reading before the applicant's consent, and the house's list hides it.
    assert (
        env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("staff_b")).status_code
        == 404
    )
    incoming = env.client.get("/v1/referrals?direction=incoming", headers=houses.auth("staff_b"))
    assert incoming.status_code == 200 and incoming.json() == []
    outgoing = env.client.get("/v1/referrals?direction=outgoing", headers=houses.auth("staff"))
    assert [r["id"] for r in outgoing.json()] == [rid]
    # Before consent the referral is not the receiving house's yet: not found, like a missing id.
    assert houses.step(rid, "accept", "staff_b").status_code == 404

    # The owner sees the referral of their application and consents.
    mine = env.client.get(f"/v1/applications/{app_id}/referrals", headers=houses.auth("applicant"))
    assert [r["id"] for r in mine.json()] == [rid]
    consented = houses.step(rid, "consent", "applicant")
    assert consented.status_code == 200 and consented.json()["status"] == "open"

    read = env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("staff_b"))
    assert read.status_code == 200 and read.json()["startup_name"] == "کیف‌پول نو"
    listed = env.client.get("/v1/applications", headers=houses.auth("staff_b")).json()
    assert [a["id"] for a in listed] == [app_id]  # referred in, and nothing else of house A
    incoming = env.client.get("/v1/referrals?direction=incoming", headers=houses.auth("staff_b"))
    assert [r["id"] for r in incoming.json()] == [rid]

    accepted = houses.step(rid, "accept", "staff_b")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert (
        env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("staff_b")).status_code
        == 200
    )
    assert _status(env, rid) == "accepted"
    assert _audit_actions(env, rid) == ["refer", "consent", "accept"]
    # The network operator sees every referral.
    every = env.client.get("/v1/referrals", headers=houses.auth("network")).json()
    assert [r["id"] for r in every] == [rid]


def test_shared_application_starts_open_and_decline_ends_reading(houses: Houses):
    env = houses.env
    app_id = houses.submit(share_with_network=True)
    made = houses.refer(app_id)
    assert made.status_code == 201 and made.json()["status"] == "open"
    rid = made.json()["id"]
    assert (
        env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("staff_b")).status_code
        == 200
    )
    declined = houses.step(rid, "decline", "staff_b")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert (
        env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("staff_b")).status_code
        == 404
    )
    # Once declined, a new referral to the same house may be made.
    assert houses.refer(app_id).status_code == 201


def test_refuse_and_withdraw(houses: Houses):
    env = houses.env
    app_id = houses.submit()
    rid = houses.refer(app_id).json()["id"]
    refused = houses.step(rid, "refuse", "applicant")
    assert refused.status_code == 200 and refused.json()["status"] == "withdrawn"
    assert houses.step(rid, "consent", "applicant").status_code == 409  # already answered
    assert (
        env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("staff_b")).status_code
        == 404
    )

    second = houses.refer(app_id).json()["id"]
    # Waiting for consent, so not house B's to see (404); and B is not the referring side.
    assert houses.step(second, "withdraw", "staff_b").status_code == 404
    withdrawn = houses.step(second, "withdraw", "staff")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert _audit_actions(env, rid) == ["refer", "refuse"]
    assert _audit_actions(env, second) == ["refer", "withdraw"]


def test_network_operator_refers(houses: Houses):
    app_id = houses.submit(share_with_network=True)
    made = houses.refer(app_id, who="network")
    assert made.status_code == 201
    assert made.json()["from_org"] == HOUSE_A and made.json()["created_by"] == "user:network"


@pytest.mark.parametrize(
    ("body", "status", "english", "persian"),
    [
        ({"to_org": HOUSE_A}, 422, "already at this house", "درخواست در همین خانه است"),
        ({"to_org": HOUSE_CLOSED}, 422, "is not active", "خانهٔ مقصد فعال نیست"),
        ({"to_org": "nowhere"}, 422, "no house with id", "خانهٔ مقصد پیدا نشد"),
        (
            {"to_org": HOUSE_B, "program_id": "fin-teh"},
            422,
            "is not run by the house",
            "از آنِ خانهٔ مقصد نیست",
        ),
        ({"to_org": HOUSE_B, "program_id": "nope"}, 422, "no program with id", "برنامه پیدا نشد"),
    ],
)
def test_bad_referrals_are_refused_and_change_nothing(
    houses: Houses, body: dict, status: int, english: str, persian: str
):
    env = houses.env
    app_id = houses.submit()
    response = houses.refer(app_id, **body)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert english in detail and persian in detail
    assert env.store.list_referrals() == []
    assert env.store.list_audit(target_kind="referral") == []


def test_second_live_referral_to_the_same_house_is_a_conflict(houses: Houses):
    env = houses.env
    app_id = houses.submit()
    assert houses.refer(app_id).status_code == 201
    again = houses.refer(app_id)
    assert again.status_code == 409
    assert "already referred" in again.json()["detail"]
    assert "پیش‌تر به همین خانه ارجاع شده" in again.json()["detail"]
    assert len(env.store.list_referrals()) == 1


def test_who_may_do_what(houses: Houses):
    env = houses.env
    app_id = houses.submit()
    # Staff of B cannot see the application: 404, as for a missing id.
    assert houses.refer(app_id, who="staff_b", to_org=HOUSE_A).status_code == 404
    assert houses.refer("app-missing").status_code == 404
    # Applicants cannot refer.
    assert houses.refer(app_id, who="applicant").status_code == 403
    rid = houses.refer(app_id).json()["id"]
    # Consent: only the owner; another applicant does not even see the referral.
    assert houses.step(rid, "consent", "applicant2").status_code == 404
    assert houses.step(rid, "consent", "staff").status_code == 403
    assert houses.step(rid, "consent", "network").status_code == 403
    assert houses.step("ref-missing", "consent", "applicant").status_code == 404
    assert _status(env, rid) == "pending_consent"
    assert houses.step(rid, "consent", "applicant").status_code == 200
    # Accept: only staff of the receiving house.
    for who in ("staff", "network", "admin", "applicant"):
        response = houses.step(rid, "accept", who)
        assert response.status_code == 403, who
        assert "only staff of the receiving house" in response.json()["detail"]
    assert houses.step(rid, "accept", "applicant2").status_code == 404
    assert _status(env, rid) == "open"
    # Staff of B can read the application now, but not refer it onwards (A holds it).
    onward = houses.refer(app_id, who="staff_b", to_org=HOUSE_A)
    assert onward.status_code == 403
    # Lists are staff-only.
    assert env.client.get("/v1/referrals", headers=houses.auth("applicant")).status_code == 403
    bad = env.client.get("/v1/referrals?direction=sideways", headers=houses.auth("staff"))
    assert bad.status_code == 422


def test_accept_only_when_open(houses: Houses):
    env = houses.env
    app_id = houses.submit(share_with_network=True)
    rid = houses.refer(app_id).json()["id"]
    assert houses.step(rid, "accept", "staff_b").status_code == 200
    for action in ("accept", "decline"):
        response = houses.step(rid, action, "staff_b")
        assert response.status_code == 409
        assert "پیش‌تر پذیرفته شده است" in response.json()["detail"]
    assert houses.step(rid, "withdraw", "staff").status_code == 409
    assert _status(env, rid) == "accepted"
    assert _audit_actions(env, rid) == ["refer", "accept"]


def test_racing_accepts_give_one_200_and_one_409(houses: Houses):
    env = houses.env
    app_id = houses.submit(share_with_network=True)
    rid = houses.refer(app_id).json()["id"]
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def accept() -> None:
        with TestClient(env.app) as client:
            barrier.wait()
            answers.append(
                client.post(
                    f"/v1/referrals/{rid}/accept", headers=houses.auth("staff_b")
                ).status_code
            )

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [200, 409]
    assert _status(env, rid) == "accepted"
    assert _audit_actions(env, rid) == ["refer", "accept"]


def test_application_bodies_carry_house_and_consent(houses: Houses):
    env = houses.env
    app_id = houses.submit(share_with_network=True)
    stored = env.client.get(f"/v1/applications/{app_id}", headers=houses.auth("applicant")).json()
    assert stored["org_id"] == HOUSE_A and stored["share_with_network"] is True
    # PUT without the two fields keeps them.
    body = {k: v for k, v in stored.items() if k not in ("id", "org_id", "share_with_network")}
    body["startup_name"] = "کیف‌پول نوتر"
    put = env.client.put(f"/v1/applications/{app_id}", json=body, headers=houses.auth("applicant"))
    assert put.status_code == 200, put.text
    assert put.json()["share_with_network"] is True and put.json()["org_id"] == HOUSE_A
    assert env.store.get_application(app_id).share_with_network is True
    # ... and sending it false takes the consent back.
    put = env.client.put(
        f"/v1/applications/{app_id}",
        json=body | {"share_with_network": False},
        headers=houses.auth("applicant"),
    )
    assert put.json()["share_with_network"] is False
    # Unknown or inactive houses are refused.
    for org, words in (("nowhere", "no house with id"), (HOUSE_CLOSED, "is not active")):
        response = env.client.post(
            "/v1/applications",
            json={"startup_name": "x", "business_plan": "طرح", "org_id": org},
            headers=houses.auth("applicant"),
        )
        assert response.status_code == 422 and words in response.json()["detail"]
    # Staff of B cannot file an application into house A.
    response = env.client.post(
        "/v1/applications",
        json={"startup_name": "x", "business_plan": "طرح", "org_id": HOUSE_A},
        headers=houses.auth("staff_b"),
    )
    assert response.status_code == 422


def test_racing_referrals_to_one_house_give_one_201_and_one_409(houses: Houses):
    env = houses.env
    app_id = houses.submit()
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def refer() -> None:
        with TestClient(env.app) as client:
            barrier.wait()
            response = client.post(
                f"/v1/applications/{app_id}/referrals",
                json={"to_org": HOUSE_B},
                headers=houses.auth("staff"),
            )
            answers.append(response.status_code)

    threads = [threading.Thread(target=refer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [201, 409]
    assert len(env.store.list_referrals()) == 1
