"""Accepting a round's allocation (issue 12): `POST /v1/rounds/{id}/allocation/accept` and
the round page's confirmation step; both on `workflow.allocation.accept_allocation`, all or
nothing, with every failing pair named; another house's staff get 404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._allocation import finished_allocation_run, pair

from ._houses import HOUSE_A, Houses, application, make_houses

PAIRS = [
    pair("app-a", "fin-teh", True, 1_000_000_000),
    pair("app-a2", "fin-teh", False, 2_000_000_000),
]


def allocation_job(h: Houses, round_id: str = "round-a", pairs: list = PAIRS) -> str:
    """A finished run of the round that saved an allocation (as the round_score job does)."""
    return finished_allocation_run(
        h.app.state.jobs, round_id, pairs, created_by="user:staff_a", org_id=HOUSE_A
    )


@pytest.fixture
def houses(tmp_path: Path) -> Iterator[Houses]:
    for h in make_houses(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home"):
        h.store.upsert_applications([application("app-a2", HOUSE_A, "round-a")])
        yield h


def _budget(h: Houses, amount: int) -> None:
    intake = h.store.get_round("round-a")
    programs = [p.model_copy(update={"budget": amount}) for p in intake.programs]
    h.store.upsert_rounds([intake.model_copy(update={"programs": programs})])


def _outcomes(h: Houses) -> dict[str, int]:
    return {
        o.application_id: o.funded_amount
        for o in h.store.list_outcomes("round-a")
        if o.program_id == "fin-teh"
    }


def test_api_accepts_the_latest_allocation(houses: Houses):
    h = houses
    url = "/v1/rounds/round-a/allocation/accept"
    assert h.client.post(url, headers=h.auth("staff_a")).status_code == 422  # none yet
    old = allocation_job(h, pairs=[pair("app-a", "fin-teh", True, 5)])
    job_id = allocation_job(h)
    assert h.client.post(url, headers=h.auth("staff_b")).status_code == 404
    assert h.client.post(url, headers=h.auth("owner")).status_code == 403
    stale = h.client.post(url, json={"job_id": old}, headers=h.auth("staff_a"))
    assert stale.status_code == 409
    assert h.store.list_decisions("app-a2") == []

    done = h.client.post(url, json={"job_id": job_id}, headers=h.auth("staff_a"))
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["job_id"] == job_id
    assert [(d["application_id"], d["residency_granted"], d["funded_amount"])
            for d in body["decisions"]] == [
        ("app-a", True, 1_000_000_000),
        ("app-a2", False, 2_000_000_000),
    ]
    assert {d["decided_by"] for d in body["decisions"]} == {"user:staff_a"}
    assert _outcomes(h) == {"app-a": 1_000_000_000, "app-a2": 2_000_000_000}


def test_api_stores_nothing_when_a_pair_fails(houses: Houses):
    h = houses
    allocation_job(h)
    _budget(h, 2_500_000_000)  # the second pair passes the round's remaining budget
    refused = h.client.post("/v1/rounds/round-a/allocation/accept", headers=h.auth("staff_a"))
    assert refused.status_code == 422
    body = refused.json()
    assert [(e["application_id"], e["program_id"]) for e in body["errors"]] == [
        ("app-a2", "fin-teh")
    ]
    assert "1,500,000,000 rials left" in body["errors"][0]["message"]
    assert "none was stored" in body["detail"]
    assert h.store.list_decisions("app-a") == [] and h.store.list_decisions("app-a2") == []
    assert _outcomes(h) == {"app-a": 0}  # the seeded outcome, untouched


def test_round_page_shows_the_board_and_accepting_asks_first(houses: Houses):
    h = houses
    web = h.web("staff_a")
    page = web.get("/staff/rounds/round-a").text
    assert "هنوز تخصیصی ساخته نشده است" in page
    job_id = allocation_job(h)
    h.store.set_shortlisted("app-a2", "fin-teh", on=True, org_id=HOUSE_A, added_by="user:a")
    page = web.get("/staff/rounds/round-a").text
    assert 'id="accept-allocation"' in page and "۲ جفت" in page
    board = page[page.index('id="decisions"'):]
    assert "استارتاپ app-a2" in board and "در فهرست کوتاه" in board
    assert "۲٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in board

    confirm = web.get("/staff/rounds/round-a/allocation/accept")
    assert confirm.status_code == 200
    assert f'name="job_id" value="{job_id}"' in confirm.text
    assert 'name="confirm"' in confirm.text and "۱ صندلی اقامت" in confirm.text
    token = h.csrf("staff_a")
    unconfirmed = web.post(
        "/staff/rounds/round-a/allocation/accept",
        data={"csrf_token": token, "job_id": job_id},
    )
    assert unconfirmed.status_code == 422 and "گزینهٔ تأیید را علامت بزنید" in unconfirmed.text
    assert h.store.list_decisions("app-a2") == []

    done = web.post(
        "/staff/rounds/round-a/allocation/accept",
        data={"csrf_token": token, "job_id": job_id, "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/staff/rounds/round-a?accepted=2#decisions"
    page = web.get(done.headers["location"]).text
    assert "تخصیص پذیرفته شد: ۲ تصمیم ثبت شد" in page
    board = page[page.index('id="decisions"'):]
    assert board.count("اقامت: داده شد") == 1 and "اقامت: داده نشد" in board
    assert _outcomes(h) == {"app-a": 1_000_000_000, "app-a2": 2_000_000_000}


def test_a_refused_allocation_names_each_pair_and_why(houses: Houses):
    h = houses
    job_id = allocation_job(h)
    _budget(h, 2_500_000_000)
    refused = h.web("staff_a").post(
        "/staff/rounds/round-a/allocation/accept",
        data={"csrf_token": h.csrf("staff_a"), "job_id": job_id, "confirm": "yes"},
    )
    assert refused.status_code == 422
    problems = refused.text[refused.text.index('id="accept-problem"'):]
    problems = problems[: problems.index("</div>")]
    assert "هیچ تصمیمی ثبت نشد" in problems
    (item,) = re.findall(r"<li>(.*?)</li>", problems, re.S)
    assert "استارتاپ app-a2" in item and "بودجهٔ باقی‌ماندهٔ دوره" in item
    assert "۱٬۵۰۰٬۰۰۰٬۰۰۰ ریال" in item and "۲٬۰۰۰٬۰۰۰٬۰۰۰ ریال" in item
    assert h.store.list_decisions("app-a") == []


def test_another_houses_staff_get_404_on_the_web(houses: Houses):
    h = houses
    job_id = allocation_job(h)
    web = h.web("staff_b")
    assert web.get("/staff/rounds/round-a/allocation/accept").status_code == 404
    posted = web.post(
        "/staff/rounds/round-a/allocation/accept",
        data={"csrf_token": h.csrf("staff_b"), "job_id": job_id, "confirm": "yes"},
    )
    assert posted.status_code == 404
    assert h.store.list_decisions("app-a2") == []
