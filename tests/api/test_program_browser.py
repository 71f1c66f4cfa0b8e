"""A program's page in a real browser, at a desktop and a phone width (axe-core, nothing wider
than the screen): the applicant follows a suggestion's name to the program's page and applies
from there; staff follow a name in the program list to the page, with its edit link, and see
an inactive program marked as such. Screenshots go to artifacts/screenshots/ux/."""

from __future__ import annotations

import pytest

from .conftest import application_body
from .test_browser import _sign_in, _watch_console
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser import server as server  # noqa: F401  (the fixture)
from .test_browser_ux import WIDTHS, _axe, _page, _shot, _width

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_applicant_opens_a_suggested_program_and_applies(server, browser, size):  # noqa: F811
    base, env = server
    made = env.client.post(
        "/v1/applications", json=application_body(), headers=env.auth("applicant")
    )
    assert made.status_code == 201, made.text
    application_id = made.json()["id"]
    page = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "applicant", env.passwords["applicant"])
    page.goto(f"{base}/me/applications/{application_id}")
    link = page.locator("#results a.program-link[href='/programs/fin-teh']")
    name = link.inner_text()
    link.click()
    page.wait_for_url(f"{base}/programs/fin-teh")
    assert page.inner_text("h1") == name
    assert "۱۰ صندلی" in page.inner_text("#program-seats")
    assert "ریال" in page.inner_text("#program-funding")
    assert _width(page) <= WIDTHS[size]["width"]
    _axe(page, f"program page, applicant ({size})")
    _shot(page, f"program_applicant_{size}")

    page.click(f"#apply li[data-application='{application_id}'] button[type=submit]")
    page.wait_for_url(f"{base}/me/applications/{application_id}#workflow")
    assert name in page.inner_text("#program-statuses")
    applied = env.app.state.store.list_applied(application_id)
    assert [a.program_id for a in applied] == ["fin-teh"]
    page.goto(f"{base}/programs/fin-teh")
    assert "ثبت شده است" in page.inner_text("#apply")
    assert page.locator("#apply button[type=submit]").count() == 0
    assert problems == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_staff_open_a_program_from_the_list_and_see_it_inactive(server, browser, size):  # noqa: F811
    base, env = server
    page = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "staff", env.passwords["staff"])
    page.goto(f"{base}/staff/programs")
    page.click("#programs a.program-link[href='/programs/agri-isf']")
    page.wait_for_url(f"{base}/programs/agri-isf")
    assert page.is_visible("#edit-program")
    assert page.locator("#apply").count() == 0
    assert _width(page) <= WIDTHS[size]["width"]
    _axe(page, f"program page, staff ({size})")

    gone = env.client.post("/v1/programs/agri-isf/deactivate", headers=env.auth("staff"))
    assert gone.status_code == 200
    page.reload()
    assert "غیرفعال" in page.inner_text("#inactive-notice")
    assert _width(page) <= WIDTHS[size]["width"]
    _axe(page, f"inactive program page, staff ({size})")
    _shot(page, f"program_staff_inactive_{size}")
    page.click("#edit-program")
    page.wait_for_url(f"{base}/staff/programs/agri-isf")
    assert problems == []
