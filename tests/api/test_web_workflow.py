"""The applicant's side of the workflow on the web: each suggestion has a «درخواست برای این
برنامه» button (a CSRF form); after applying, the page shows the status per program and
the timeline in Jalali dates; applying twice changes nothing; a decision appears."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.text.persian import format_jalali

from ._houses import Houses, csrf_of, make_houses


@pytest.fixture
def houses(tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home")


def test_apply_from_a_suggestion_and_see_status_and_timeline(houses: Houses):
    h = houses
    web = h.web("owner")
    page = web.get("/me/applications/app-a")
    assert page.status_code == 200
    assert "درخواست برای این برنامه" in page.text
    assert 'name="program_id" value="health-fund"' in page.text
    assert "هنوز برای هیچ برنامه‌ای درخواست نداده‌اید" in page.text

    # Without the CSRF token nothing is applied.
    refused = web.post("/me/applications/app-a/programs", data={"program_id": "health-fund"})
    assert refused.status_code == 403
    assert h.store.list_applied("app-a") == []

    for _ in range(2):  # twice: the same single record
        done = web.post(
            "/me/applications/app-a/programs",
            data={"program_id": "health-fund", "csrf_token": csrf_of(web)},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/me/applications/app-a#workflow"
    assert [a.program_id for a in h.store.list_applied("app-a")] == ["health-fund"]

    decided = h.client.post(
        "/v1/applications/app-a/decisions",
        json={"program_id": "health-fund", "residency_granted": True, "funded_amount": 0},
        headers=h.auth("staff_b"),
    )
    assert decided.status_code == 201

    page = web.get("/me/applications/app-a").text
    assert 'id="program-statuses"' in page
    assert "تصمیم گرفته شد" in page and "پذیرفته شد" in page
    assert "درخواست شما برای این برنامه ثبت شده است" in page
    assert 'name="program_id" value="health-fund"' not in page  # no second button
    assert "ثبت درخواست" in page and "درخواست برای برنامه" in page and "اعلام تصمیم" in page
    assert format_jalali(dt.date.today()) in page  # Jalali dates, Persian digits


def test_applying_to_an_inactive_program_is_a_persian_error_page(houses: Houses):
    h = houses
    program = h.store.get_program("agri-isf")
    h.store.upsert_programs([program.model_copy(update={"active": False})])
    web = h.web("owner")
    page = web.get("/me/applications/app-a")
    response = web.post(
        "/me/applications/app-a/programs",
        data={"program_id": "agri-isf", "csrf_token": csrf_of(web)},
    )
    assert page.status_code == 200
    assert response.status_code == 422
    assert "این برنامه فعال نیست" in response.text
    assert h.store.list_applied("app-a") == []
