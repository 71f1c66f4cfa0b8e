"""Program writes stay in their house: staff create, edit and deactivate their own house's
programs (another house's answers 404, like a missing one), read every house's; admin and
the network operator choose the house. Rounds belong to one house and hold its programs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._houses import HOUSE_A, HOUSE_B, Houses, make_houses


@pytest.fixture
def houses(db_url: str, tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(db_url, tmp_path / "home")


def _program(program_id: str, **extra: object) -> dict:
    return {
        "id": program_id,
        "name": "برنامهٔ تازه",
        "kind": "accelerator",
        "description": "شتاب‌دهندهٔ تازه.",
        "province": "تهران",
        **extra,
    }


def test_staff_change_only_their_own_houses_programs(houses: Houses):
    h, a_program = houses, houses.ids["program_a"]
    before = h.store.get_program(a_program)
    for method, url, body in (
        ("PATCH", f"/v1/programs/{a_program}", {"name": "ربوده"}),
        ("POST", f"/v1/programs/{a_program}/deactivate", None),
    ):
        other = h.client.request(method, url, json=body, headers=h.auth("staff_b"))
        missing = h.client.request(
            method, url.replace(a_program, "no-such"), json=body, headers=h.auth("staff_b")
        )
        assert other.status_code == missing.status_code == 404
        assert other.json()["detail"].replace(a_program, "X") == missing.json()["detail"].replace(
            "no-such", "X"
        )
    assert h.store.get_program(a_program) == before  # nothing changed
    read = h.client.get(f"/v1/programs/{a_program}", headers=h.auth("staff_b"))
    assert read.status_code == 200  # reading stays network-wide
    own = h.client.patch(
        f"/v1/programs/{a_program}", json={"residency_seats": 7}, headers=h.auth("staff_a")
    )
    assert own.status_code == 200 and own.json()["org_id"] == HOUSE_A
    assert h.store.get_program(a_program).residency_seats == 7


def test_new_programs_go_to_the_staffs_house_admin_names_one(houses: Houses):
    h = houses
    made = h.client.post("/v1/programs", json=_program("b-new"), headers=h.auth("staff_b"))
    assert made.status_code == 201 and made.json()["org_id"] == HOUSE_B
    elsewhere = h.client.post(
        "/v1/programs", json=_program("b-into-a", org_id=HOUSE_A), headers=h.auth("staff_b")
    )
    assert elsewhere.status_code == 422
    unnamed = h.client.post("/v1/programs", json=_program("n-new"), headers=h.auth("network"))
    assert unnamed.status_code == 422  # several houses: name one
    named = h.client.post(
        "/v1/programs", json=_program("n-new", org_id=HOUSE_B), headers=h.auth("network")
    )
    assert named.status_code == 201 and h.store.get_program("n-new").org_id == HOUSE_B
    assert "b-into-a" not in h.store.existing_ids("programs")


def test_web_program_pages_follow_the_same_rule(houses: Houses):
    h = houses
    staff_b = h.web("staff_b")
    assert staff_b.get(f"/staff/programs/{h.ids['program_a']}").status_code == 404
    listing = staff_b.get("/staff/programs").text
    assert f'href="/staff/programs/{h.ids["program_a"]}"' not in listing  # no edit link
    assert f'href="/staff/programs/{h.ids["program_b"]}"' in listing
    assert 'name="org_id"' not in staff_b.get("/staff/programs/new").text
    admin = h.web("admin")
    assert 'name="org_id"' in admin.get("/staff/programs/new").text  # admin picks the house
    form = {
        "id": "web-b",
        "name": "برنامهٔ وب",
        "kind": "accelerator",
        "description": "شتاب‌دهندهٔ تازه.",
        "province": "تهران",
        "stages": ["mvp"],
        "active": "on",
        "org_id": HOUSE_B,
        "csrf_token": h.csrf("admin"),
    }
    made = admin.post("/staff/programs/new", data=form, follow_redirects=False)
    assert made.status_code == 303 and h.store.get_program("web-b").org_id == HOUSE_B
    no_house = admin.post(
        "/staff/programs/new", data=form | {"id": "web-c", "org_id": ""}, follow_redirects=False
    )
    assert no_house.status_code == 422 and "خانه" in no_house.text


def test_rounds_belong_to_one_house_and_hold_its_programs(houses: Houses):
    h = houses
    body = {"id": "r-new", "name": "دوره", "opens_on": "2026-01-01", "closes_on": "2026-06-01"}
    made = h.client.post("/v1/rounds", json=body, headers=h.auth("staff_b"))
    assert made.status_code == 201 and made.json()["org_id"] == HOUSE_B
    mixed = h.client.post(
        "/v1/rounds",
        json=body | {"id": "r-mixed", "programs": [{"program_id": h.ids["program_a"]}]},
        headers=h.auth("staff_b"),
    )
    assert mixed.status_code == 422
    assert "belongs to another house" in str(mixed.json())
    unnamed = h.client.post("/v1/rounds", json=body | {"id": "r-n"}, headers=h.auth("admin"))
    assert unnamed.status_code == 422
    named = h.client.post(
        "/v1/rounds", json=body | {"id": "r-n", "org_id": HOUSE_A}, headers=h.auth("admin")
    )
    assert named.status_code == 201 and named.json()["org_id"] == HOUSE_A
    taken = h.client.post("/v1/rounds", json=body | {"id": "round-a"}, headers=h.auth("staff_b"))
    assert taken.status_code == 409  # the same on SQLite and PostgreSQL
