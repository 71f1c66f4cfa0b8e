"""A referral end to end in a real browser (Debian's Chromium through Playwright, as
test_browser.py): staff of house A open an application, see that a program of house B fits
better and refer it; the applicant consents on their page; staff of house B find it among
their incoming referrals, read the application and accept. Each page passes an axe-core check
(no violation of impact serious or critical). Screenshots: artifacts/screenshots/referral_*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._referral_houses import HOUSE_B, HOUSE_B_PROGRAM, Houses, add_houses
from .conftest import Env
from .test_browser import SCREENSHOTS, _sign_in, _watch_console, serve
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser_ux import _axe, _page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def two_houses(tmp_path: Path) -> Iterator[tuple[str, Houses]]:
    for base, env in serve(tmp_path):
        yield base, add_houses(env, passwords=True)


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"referral_{name}.png"), full_page=True)


def _as(browser: Any, base: str, env: Env, who: str) -> tuple[Any, list[str]]:
    page = _page(browser, {"width": 1366, "height": 900}, axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, who, env.passwords[who])
    return page, problems


def test_staff_a_refers_applicant_consents_staff_b_reads_and_accepts(two_houses, browser):
    base, houses = two_houses
    env = houses.env
    app_id = houses.submit()  # the applicant's plan, at house A, not shared with the network

    # Staff of house A: the better-fitting house is named, and the form refers to it.
    staff_a, problems_a = _as(browser, base, env, "staff")
    staff_a.goto(f"{base}/staff/applications/{app_id}")
    suggestion = staff_a.inner_text("#referral-suggestion")
    assert "برنامه‌های مناسب‌تر در خانه‌های دیگر" in suggestion
    assert "خانه خلاق شیراز" in suggestion and HOUSE_B_PROGRAM.name in suggestion
    assert staff_a.input_value("#to_org") == HOUSE_B  # the suggested house comes chosen
    staff_a.select_option("#program_id", HOUSE_B_PROGRAM.id)
    staff_a.fill("#note", "طرح کیف پول؛ برنامهٔ شیراز به آن نزدیک‌تر است.")
    _axe(staff_a, "staff application page with the refer form")
    _shot(staff_a, "1_staff_a_suggests")
    staff_a.click("#refer-form button[type=submit]")
    staff_a.wait_for_load_state("networkidle")
    assert staff_a.url.endswith(f"/staff/applications/{app_id}#referrals")
    assert "در انتظار رضایت متقاضی" in staff_a.inner_text("#application-referrals")
    staff_a.goto(f"{base}/staff/referrals")
    assert "در انتظار رضایت متقاضی" in staff_a.inner_text("#referrals-outgoing")
    _axe(staff_a, "staff referrals page (house A)")
    _shot(staff_a, "2_staff_a_outgoing")

    # The applicant consents on their page.
    applicant, problems_applicant = _as(browser, base, env, "applicant")
    applicant.goto(f"{base}/me/applications/{app_id}")
    assert "خانه خلاق شیراز" in applicant.inner_text("#my-referrals")
    _axe(applicant, "applicant page with a referral to consent to")
    _shot(applicant, "3_applicant_consents")
    applicant.click("#my-referrals button.consent")
    applicant.wait_for_load_state("networkidle")
    assert "باز" in applicant.inner_text("#my-referrals .referral-state")
    assert applicant.locator("#my-referrals button.consent").count() == 0

    # Staff of house B: the referral is incoming, the application readable, then accepted.
    staff_b, problems_b = _as(browser, base, env, "staff_b")
    staff_b.goto(f"{base}/staff/referrals")
    incoming = staff_b.inner_text("#referrals-incoming")
    assert "کیف‌پول نو" in incoming and "باز" in incoming
    _axe(staff_b, "staff referrals page (house B)")
    _shot(staff_b, "4_staff_b_incoming")
    staff_b.click("#referrals-incoming a:has-text('کیف‌پول نو')")
    staff_b.wait_for_load_state("networkidle")
    assert staff_b.inner_text("h1") == "کیف‌پول نو"
    assert "کیف پول دیجیتال" in staff_b.inner_text(".plan-text")
    _shot(staff_b, "5_staff_b_reads")
    staff_b.go_back()
    staff_b.click("#referrals-incoming button.accept")
    staff_b.wait_for_load_state("networkidle")
    assert "پذیرفته شد" in staff_b.inner_text("#referrals-incoming")
    assert staff_b.locator("#referrals-incoming button.accept").count() == 0
    _shot(staff_b, "6_staff_b_accepted")

    (referral,) = env.store.list_referrals()
    assert referral.status == "accepted" and referral.program_id == HOUSE_B_PROGRAM.id
    assert problems_a == problems_applicant == problems_b == []
