"""Houses over the API and the admin page: `GET /v1/orgs`, accounts with a role and a house
(`POST /v1/users`, `PATCH /v1/users/{id}`) and the admin's users page."""

from __future__ import annotations

import re

import pytest

from recommender.schemas import Organization

from .conftest import Env
from .test_web import csrf, sign_in

HOUSES = [
    Organization(id="shiraz-ch", name="خانه خلاق پارس شیراز", province="فارس", city="شیراز"),
    Organization(
        id="tabriz-ic",
        name="مرکز نوآوری آذربایجان",
        kind="innovation_center",
        province="آذربایجان شرقی",
        city="تبریز",
    ),
    Organization(id="closed-ch", name="خانه خلاق بسته", province="یزد", city="یزد", active=False),
]


@pytest.fixture
def houses(env: Env) -> Env:
    env.store.upsert_organizations(HOUSES)
    return env


def test_every_signed_in_user_reads_the_houses(houses: Env):
    for who in ("admin", "staff", "applicant"):
        response = houses.client.get("/v1/orgs", headers=houses.auth(who))
        assert response.status_code == 200
        body = response.json()
        assert [o["id"] for o in body] == ["closed-ch", "main", "shiraz-ch", "tabriz-ic"]
        tabriz = body[-1]
        assert tabriz == {
            "id": "tabriz-ic",
            "name": "مرکز نوآوری آذربایجان",
            "kind": "innovation_center",
            "province": "آذربایجان شرقی",
            "city": "تبریز",
            "active": True,
        }
    assert houses.client.get("/v1/orgs").status_code == 401


def test_admin_adds_staff_of_a_house_and_a_network_operator(houses: Env):
    admin = houses.auth("admin")
    made = houses.client.post(
        "/v1/users", json={"name": "sara", "role": "staff", "org_id": "tabriz-ic"}, headers=admin
    )
    assert made.status_code == 201, made.text
    assert made.json()["user"]["org_id"] == "tabriz-ic"
    token = made.json()["token"]
    assert (
        houses.client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"}).json()[
            "org_id"
        ]
        == "tabriz-ic"
    )
    network = houses.client.post(
        "/v1/users", json={"name": "net.op", "role": "network"}, headers=admin
    )
    assert network.status_code == 201 and network.json()["user"]["org_id"] is None
    listed = {u["name"]: u for u in houses.client.get("/v1/users", headers=admin).json()}
    assert listed["sara"]["org_id"] == "tabriz-ic" and listed["staff"]["org_id"] == "main"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"name": "x1", "role": "staff"}, "staff belong to one house"),  # several houses now
        ({"name": "x2", "role": "staff", "org_id": "nowhere"}, "no house with id 'nowhere'"),
        ({"name": "x3", "role": "staff", "org_id": "closed-ch"}, "is not active"),
        ({"name": "x4", "role": "network", "org_id": "tabriz-ic"}, "only staff belong"),
        ({"name": "x5", "role": "staff", "org_id": "Bad House!"}, ""),
    ],
)
def test_a_bad_house_is_refused_and_nothing_is_created(houses: Env, body: dict, why: str):
    response = houses.client.post("/v1/users", json=body, headers=houses.auth("admin"))
    assert response.status_code == 422
    assert why in response.text
    assert houses.app.state.accounts.find_user(body["name"]) is None


def test_admin_moves_staff_to_another_house_and_its_scope_follows(houses: Env):
    admin, staff_id = houses.auth("admin"), houses.user_ids["staff"]
    moved = houses.client.patch(
        f"/v1/users/{staff_id}", json={"org_id": "shiraz-ch"}, headers=admin
    )
    assert moved.status_code == 200 and moved.json()["org_id"] == "shiraz-ch"
    me = houses.client.get("/v1/users/me", headers=houses.auth("staff")).json()
    assert me["org_id"] == "shiraz-ch"
    bad = houses.client.patch(
        f"/v1/users/{staff_id}", json={"org_id": "nowhere", "active": False}, headers=admin
    )
    assert bad.status_code == 422
    user = houses.app.state.accounts.get_user(staff_id)
    assert user.org_id == "shiraz-ch" and user.active  # nothing changed
    applicant = houses.user_ids["applicant"]
    refused = houses.client.patch(
        f"/v1/users/{applicant}", json={"org_id": "shiraz-ch"}, headers=admin
    )
    assert refused.status_code == 422
    assert (
        houses.client.patch(
            f"/v1/users/{staff_id}", json={"org_id": "main"}, headers=houses.auth("staff")
        ).status_code
        == 403
    )
    actions = [(e.action, e.target_id) for e in houses.store.list_audit()]
    assert ("update", "staff") in actions


def test_admin_page_shows_houses_and_adds_and_moves_staff(web_env: Env):
    web_env.store.upsert_organizations(HOUSES)
    client = sign_in(web_env, "admin")
    page = client.get("/admin").text
    assert 'data-label="خانه" data-org="main"' in page
    assert "خانه خلاق پارس شیراز" in page and "گردانندهٔ شبکه" in page  # houses, roles
    assert "هنوز در سامانه تعریف نشده" not in page
    token = csrf(client, "/admin")
    added = client.post(
        "/admin/users",
        data={
            "name": "reza",
            "role": "staff",
            "org_id": "shiraz-ch",
            "password": "",
            "csrf_token": token,
        },
    )
    assert added.status_code == 200, added.text
    reza = web_env.app.state.accounts.find_user("reza")
    assert reza is not None and reza.org_id == "shiraz-ch"
    no_house = client.post(
        "/admin/users",
        data={
            "name": "nohouse",
            "role": "staff",
            "org_id": "",
            "password": "",
            "csrf_token": token,
        },
    )
    assert no_house.status_code == 422 and "کارشناس عضو یک خانه است" in no_house.text
    assert web_env.app.state.accounts.find_user("nohouse") is None
    operator = client.post(
        "/admin/users",
        data={
            "name": "net.op",
            "role": "network",
            "org_id": "",
            "password": "",
            "csrf_token": token,
        },
    )
    assert operator.status_code == 200
    assert web_env.app.state.accounts.find_user("net.op").role == "network"

    moved = client.post(
        f"/admin/users/{reza.id}/house",
        data={"org_id": "tabriz-ic", "csrf_token": token},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/admin?done=house"
    assert web_env.app.state.accounts.get_user(reza.id).org_id == "tabriz-ic"
    closed = client.post(
        f"/admin/users/{reza.id}/house", data={"org_id": "closed-ch", "csrf_token": token}
    )
    assert closed.status_code == 422 and "فعال نیست" in closed.text
    assert web_env.app.state.accounts.get_user(reza.id).org_id == "tabriz-ic"
    row = re.search(r'<tr data-user="reza">(.*?)</tr>', client.get("/admin").text, re.S)
    assert row and 'value="tabriz-ic" selected' in row.group(1)
    no_csrf = client.post(f"/admin/users/{reza.id}/house", data={"org_id": "shiraz-ch"})
    assert no_csrf.status_code in (400, 403)
    assert web_env.app.state.accounts.get_user(reza.id).org_id == "tabriz-ic"
