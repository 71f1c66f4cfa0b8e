"""Events end to end in a real browser (Debian's Chromium through Playwright, as
test_browser_staff_workflow.py), at a desktop and a phone width: the organiser imports an
event, runs the schedule and watches it finish, sees the meetings slot by slot and downloads
the workbook; a participant opens their personal agenda link without an account, requests a
meeting from a suggestion and sees it recorded. Each page passes an axe-core check (no
violation of impact serious or critical) and is no wider than the screen. Screenshots:
artifacts/screenshots/ux/event_*.png (the README's
docs/screenshots/event_page.png is a copy of event_scheduled_desktop.png)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.recommender._round_fixtures import FakeEmbedder
from tests.recommender.events._event_fixtures import payload

from .conftest import Env
from .test_browser import _sign_in, _watch_console, serve
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser_ux import WIDTHS, _axe, _page, _shot, _width

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[tuple[str, Env]]:
    for base, env in serve(tmp_path):
        env.recommender.embedder = FakeEmbedder()  # type: ignore[attr-defined]
        yield base, env


def _check(page: Any, name: str, size: str) -> None:
    assert _width(page) <= WIDTHS[size]["width"], f"{name} overflows at {size}"
    _axe(page, f"{name} ({size})")
    _shot(page, f"event_{name}_{size}")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_organiser_schedules_and_a_participant_requests_a_meeting(
    web_server, browser, size, tmp_path  # noqa: F811
):
    base, env = web_server
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(payload(), ensure_ascii=False), encoding="utf-8")

    # The organiser imports the event and opens its page.
    staff = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(staff)
    _sign_in(staff, base, "staff", env.passwords["staff"])
    if size == "phone":
        staff.click("#menu-toggle")
    staff.click("nav a:has-text('رویدادها')")
    staff.wait_for_load_state("networkidle")
    _check(staff, "list_empty", size)
    staff.set_input_files("#event-file", str(event_file))
    staff.click("#event-import button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert "رویداد با ۶ شرکت‌کننده ثبت شد" in staff.inner_text("#event-notice")
    assert "سرمایه‌گذار" in staff.inner_text("#participant-table")
    assert "تناسب" in staff.inner_text("#suggestions")
    _check(staff, "before", size)

    # Runs the schedule: the progress box follows the job and the page shows the result.
    staff.click("#run-schedule")
    staff.wait_for_selector("#schedule-summary", timeout=30_000)
    summary = staff.inner_text("#schedule-summary")
    assert "بهینه (اثبات‌شده)" in summary and "درخواست دوطرفه ۱ از ۱" in summary
    slot = staff.inner_text("#schedule")
    assert "۰۹:۰۰ تا ۰۹:۲۰" in slot and "پرداخت‌یار" in slot and "صندوق نوآوری" in slot
    _check(staff, "scheduled", size)
    with staff.expect_download() as download:
        staff.click("#schedule-files a[href$='schedule.xlsx']")
    assert download.value.suggested_filename == "schedule.xlsx"

    # A participant opens the personal link (no account) and requests a suggested meeting.
    link = staff.get_attribute("tr[data-participant='health'] a.personal-link", "href")
    assert link and "?t=" in link
    guest = _page(browser, WIDTHS[size], axe=True)
    problems += _watch_console(guest)
    guest.goto(link)
    assert "برنامهٔ سلامت‌یار" in guest.inner_text("h1")
    agenda = guest.inner_text("#meetings")
    assert "۱۴۰۵/۰۲/۲۰" in agenda and "میز" in agenda
    _check(guest, "agenda", size)
    first = guest.locator("#agenda-suggestions li").first
    other = first.get_attribute("data-other")
    name = first.locator("strong").inner_text()
    first.locator("button:has-text('درخواست ملاقات')").click()
    guest.wait_for_load_state("networkidle")
    assert f"درخواست دیدار با «{name}» ثبت شد" in guest.inner_text("#request-recorded")
    assert name in guest.inner_text("#my-requests")
    _check(guest, "requested", size)
    assert other in env.store.get_event("demo-day").by_id()["health"].requests
    # The organiser sees the request in the participant list.
    staff.reload()
    assert name in staff.inner_text("tr[data-participant='health']")
    assert problems == []
