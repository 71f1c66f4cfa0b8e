"""Staff search and suggestions across the network: every house's programs are searched
whoever asks, each item names its house, and a house filter narrows to one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._houses import HOUSE_A, HOUSE_B, HOUSE_NAMES, PROGRAM_HOUSE, Houses, make_houses
from .conftest import PLAN


@pytest.fixture
def houses(db_url: str, tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(db_url, tmp_path / "home")


def _match(h: Houses, actor: str, **body: object) -> dict:
    response = h.client.post(
        "/v1/staff/match", json={"text": PLAN, "top": 10, **body}, headers=h.auth(actor)
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_staff_of_one_house_search_every_houses_programs_each_named(houses: Houses):
    items = _match(houses, "staff_b")["items"]
    assert {i["org_id"] for i in items} == {HOUSE_A, HOUSE_B}  # not only staff B's house
    for item in items:
        assert item["org_id"] == PROGRAM_HOUSE[item["program_id"]]
        assert item["org_name"] == HOUSE_NAMES[item["org_id"]]


def test_a_house_filter_narrows_to_that_house(houses: Houses):
    items = _match(houses, "staff_b", filters={"org_id": HOUSE_A})["items"]
    assert items and {i["org_id"] for i in items} == {HOUSE_A}
    unknown = houses.client.post(
        "/v1/staff/match",
        json={"text": PLAN, "filters": {"org_id": "nowhere"}},
        headers=houses.auth("staff_a"),
    )
    assert unknown.status_code == 422
    assert "nowhere" in unknown.json()["detail"]


def test_stored_application_suggestions_carry_the_house(houses: Houses):
    response = houses.client.get(
        f"/v1/applications/{houses.ids['app_a']}/suggestions", headers=houses.auth("owner")
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert {i["org_id"] for i in items} == {HOUSE_A, HOUSE_B}
    assert all(i["org_name"] == HOUSE_NAMES[i["org_id"]] for i in items)


def test_the_web_search_page_offers_the_houses_and_shows_each_items_house(houses: Houses):
    client = houses.web("staff_a")
    page = client.get("/staff")
    assert 'name="org_id"' in page.text and HOUSE_NAMES[HOUSE_B] in page.text
    token = houses.csrf("staff_a")
    found = client.post("/staff", data={"text": PLAN, "org_id": HOUSE_B, "csrf_token": token})
    assert found.status_code == 200
    assert HOUSE_NAMES[HOUSE_B] in found.text.split('id="results"', 1)[1]
    assert "صندوق سلامت دیجیتال" in found.text  # house B's program
    assert "شتاب‌دهنده پرداخت نو" not in found.text.split('id="results"', 1)[1]
