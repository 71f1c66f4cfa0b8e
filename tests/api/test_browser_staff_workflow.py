"""The decision workflow end to end in a real browser (Debian's Chromium through Playwright,
as test_browser.py), at a desktop and a phone width: the applicant applies to a suggested
program; staff shortlist the application, write a private note and decide; the applicant
sees the decision in their timeline (and never the note); staff accept the round's allocation
after its confirmation step. Each page passes an axe-core check
(no violation of impact serious or critical) and is no wider than the screen. Screenshots:
artifacts/screenshots/ux/workflow_*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._allocation import finished_allocation_run, pair

from .conftest import PLAN, PROGRAMS, Env
from .test_browser import _sign_in, _watch_console, serve
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser_ux import WIDTHS, _axe, _page, _shot, _width

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = "مصاحبهٔ حضوری در هفتهٔ آینده"


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[tuple[str, Env]]:
    yield from serve(tmp_path)


def _check(page: Any, name: str, size: str) -> None:
    assert _width(page) <= WIDTHS[size]["width"], f"{name} overflows at {size}"
    _axe(page, f"{name} ({size})")
    _shot(page, f"workflow_{name}_{size}")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_apply_shortlist_note_decide_and_the_applicant_sees_it(web_server, browser, size):  # noqa: F811
    base, env = web_server
    opened = env.client.post(
        "/v1/rounds",
        json={
            "id": "r-flow",
            "name": "دورهٔ بهار",
            "opens_on": "2026-01-01",
            "closes_on": "2099-12-29",
            "programs": [{"program_id": p.id} for p in PROGRAMS],
        },
        headers=env.auth("staff"),
    )
    assert opened.status_code == 201, opened.text
    made = env.client.post(
        "/v1/applications",
        json={"startup_name": "کیف‌پول نو", "business_plan": PLAN, "province": "تهران",
              "round_id": "r-flow"},
        headers=env.auth("applicant"),
    )
    assert made.status_code == 201, made.text
    app_id = made.json()["id"]

    # The applicant applies from a suggestion.
    applicant = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(applicant)
    _sign_in(applicant, base, "applicant", env.passwords["applicant"])
    applicant.goto(f"{base}/me/applications/{app_id}")
    first = applicant.locator("#results form.inline-form").first
    program_id = first.locator("input[name=program_id]").get_attribute("value")
    first.locator("button.apply").click()
    applicant.wait_for_load_state("networkidle")
    assert "درخواست ثبت شد" in applicant.inner_text("#program-statuses")

    # Staff: the application in the list (filtered by the program applied to), then
    # shortlist, a private note and a decision on its page.
    staff = _page(browser, WIDTHS[size], axe=True)
    problems += _watch_console(staff)
    _sign_in(staff, base, "staff", env.passwords["staff"])
    staff.goto(f"{base}/staff/applications?program_id={program_id}&program_link=applied")
    assert "کیف‌پول نو" in staff.inner_text("#applications")
    _check(staff, "list", size)
    staff.click("#applications a:has-text('کیف‌پول نو')")
    staff.wait_for_load_state("networkidle")
    row = f"#wf-programs tr[data-program='{program_id}']"
    assert "درخواست داده" in staff.inner_text(row)
    staff.click(f"{row} button:has-text('افزودن به فهرست کوتاه')")
    staff.wait_for_load_state("networkidle")
    assert "در فهرست کوتاه" in staff.inner_text("#wf-status")
    staff.fill("#note-body", NOTE)
    staff.click("#note-form button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert NOTE in staff.inner_text("#notes-list")
    decision = f".program-decision[data-program='{program_id}']"
    staff.check(f"{decision} input[name=residency_granted][value=yes]")
    staff.fill(f"{decision} input[name=funded_amount]", "۵۰۰۰۰۰۰۰۰")
    staff.fill(f"{decision} textarea[name=note]", "پذیرفته در دور نخست")
    _check(staff, "decide", size)
    staff.click(f"{decision} button:has-text('ثبت تصمیم')")
    staff.wait_for_load_state("networkidle")
    history = staff.inner_text(f"{decision} .decision-history")
    assert "تصمیم کنونی" in history and "۵۰۰٬۰۰۰٬۰۰۰ ریال" in history
    assert "تصمیم ثبت شده" in staff.inner_text("#wf-status")
    _check(staff, "decided", size)

    # The applicant sees the decision in their timeline; the note stays private.
    applicant.goto(f"{base}/me/applications/{app_id}")
    assert "اعلام تصمیم" in applicant.inner_text("#timeline")
    statuses = applicant.inner_text("#program-statuses")
    assert "پذیرفته شد" in statuses and "۵۰۰٬۰۰۰٬۰۰۰ ریال" in statuses
    assert NOTE not in applicant.content()
    _check(applicant, "applicant_timeline", size)

    # The round's allocation (a run that saved one) accepted after the confirmation step:
    # a correction of the decision, shown on the round page beside the shortlist.
    finished_allocation_run(env.app.state.jobs, "r-flow", [pair(app_id, program_id, True, 400)],
                            created_by="user:staff", org_id=env.store.get_round("r-flow").org_id)
    staff.goto(f"{base}/staff/rounds/r-flow")
    staff.click("#accept-allocation")
    staff.wait_for_load_state("networkidle")
    _check(staff, "accept_confirm", size)
    staff.check("#accept-confirm")
    staff.click("#accept-submit")
    staff.wait_for_load_state("networkidle")
    assert "۱ تصمیم ثبت شد" in staff.inner_text("#accepted")
    board = staff.inner_text(f"#decisions .program-board[data-program='{program_id}']")
    assert "در فهرست کوتاه" in board and "۴۰۰ ریال" in board
    _check(staff, "round", size)
    assert [d.funded_amount for d in env.store.list_decisions(app_id)] == [500_000_000, 400]
    assert problems == []
