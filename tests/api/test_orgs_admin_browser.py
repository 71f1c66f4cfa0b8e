"""The admin's users page with houses in a real browser: it fits a phone and a desktop screen,
and the admin moves a staff account to another house with the house picker."""

from __future__ import annotations

import pytest

from recommender.schemas import Organization

from .test_browser import _sign_in, _watch_console
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser import server as server  # noqa: F401  (the fixture)
from .test_browser_ux import WIDTHS, _page, _shot, _width

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_admin_moves_staff_between_houses_on_any_screen(server, browser, size):  # noqa: F811
    base, env = server
    env.store.upsert_organizations(
        [
            Organization(
                id="kerman-ic",
                name="مرکز نوآوری کرمان",
                kind="innovation_center",
                province="کرمان",
                city="کرمان",
            ),
            Organization(
                id="isfahan-inc",
                name="مرکز رشد فناوری سپاهان",
                kind="incubator",
                province="اصفهان",
                city="اصفهان",
            ),
        ]
    )
    page = _page(browser, WIDTHS[size])
    problems = _watch_console(page)
    _sign_in(page, base, "admin", env.passwords["admin"])
    page.goto(f"{base}/admin")
    assert _width(page) <= WIDTHS[size]["width"]
    _shot(page, f"admin_houses_{size}")
    staff = env.user_ids["staff"]
    page.select_option(f"#house-{staff}", "isfahan-inc")
    page.click("button[aria-label='تغییر خانهٔ staff']")
    page.wait_for_selector("#admin-notice")
    assert env.app.state.accounts.get_user(staff).org_id == "isfahan-inc"
    assert page.input_value(f"#house-{staff}") == "isfahan-inc"
    page.fill("#new-name", "kerman.staff")
    page.select_option("#new-role", "staff")
    page.select_option("#new-house", "kerman-ic")
    page.click("#add-user button[type=submit]")
    page.wait_for_selector("#secret-value")
    assert env.app.state.accounts.find_user("kerman.staff").org_id == "kerman-ic"
    assert problems == []
