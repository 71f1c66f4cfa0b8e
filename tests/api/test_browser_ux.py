"""Issue 13 in a real browser (Debian's Chromium through Playwright, as test_browser.py), at a
desktop (1366×900) and a phone (390×844) width: Persian errors, the plan's character counter,
a session that expires mid-submit, the phone layout (folding menu, tables as cards, nothing
wider than the screen), the round page, the applications list, deactivation with undo, the
admin's users page, the what-if page, report.html in the browser, loading states, and an
axe-core check (no violation of impact serious or critical) on the main pages.
Screenshots go to artifacts/screenshots/ux/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from recommender.store.tables import WebSessionRow

from .conftest import PLAN, Env
from .test_browser import SCREENSHOTS, _sign_in, _watch_console, serve
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser import server as server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = SCREENSHOTS / "ux"
AXE = Path(__file__).resolve().parents[2] / "api/web/node_modules/axe-core/axe.min.js"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


def _page(browser: Any, size: dict[str, int], *, axe: bool = False) -> Any:
    # axe.min.js is injected as an inline script, which the site's CSP refuses: pages that
    # run axe bypass the CSP (the app's own scripts are files either way).
    context = browser.new_context(viewport=size, locale="fa-IR", bypass_csp=axe)
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _axe(page: Any, name: str) -> None:
    """No axe-core violation of impact serious or critical on the page."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in api/web (make test does)")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    assert violations == [], f"{name}: {violations}"


def _round(env: Env, round_id: str = "r-ux", n_applications: int = 3) -> None:
    response = env.client.post(
        "/v1/rounds",
        json={
            "id": round_id,
            "name": "دوره بهار",
            "opens_on": "2026-03-21",
            "closes_on": "2099-05-21",
            "programs": [{"program_id": "fin-teh", "seats": 2}, {"program_id": "agri-isf"}],
        },
        headers=env.auth("staff"),
    )
    assert response.status_code in (200, 201), response.text
    for k in range(n_applications):
        env.client.post(
            "/v1/applications",
            json={"startup_name": f"استارتاپ {k}", "business_plan": PLAN, "round_id": round_id},
            headers=env.auth("applicant"),
        )


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_applicant_errors_counter_expiry_and_suggestions(server, browser, size):  # noqa: F811
    base, env = server
    page = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "applicant", env.passwords["applicant"])
    _axe(page, f"applicant home ({size})")
    page.goto(f"{base}/me/applications/new")
    page.fill("#startup_name", "کیف‌پول نو")
    page.fill("#business_plan", "سلام")
    assert page.inner_text("#business_plan-counter") == "۴ از ۵۰٬۰۰۰ نویسه"
    # A wrong file type: one Persian error, the typed fields kept.
    page.fill("#business_plan", "")
    page.set_input_files(
        "#plan_file", files=[{"name": "plan.png", "mimeType": "image/png", "buffer": b"\x89PNG"}]
    )
    page.click("main button[type=submit]")
    page.wait_for_selector("#form-errors")
    errors = page.locator("#form-errors li").all_inner_texts()
    assert len(errors) == 1 and "پذیرفته نیست" in errors[0], errors
    assert page.input_value("#startup_name") == "کیف‌پول نو"
    _shot(page, f"applicant_error_{size}")

    # The session ends while the plan is typed: sign in again, the plan is still there.
    page.fill("#business_plan", PLAN)
    with env.store.session() as session:
        session.execute(sa.delete(WebSessionRow))
    page.click("main button[type=submit]")
    page.wait_for_selector("#session-expired")
    assert "/login" in page.url
    _shot(page, f"login_expired_{size}")
    _axe(page, f"login ({size})")
    page.fill("#name", "applicant")
    page.fill("#password", env.passwords["applicant"])
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/me/applications/new")
    assert page.input_value("#business_plan") == PLAN
    assert page.input_value("#startup_name") == "کیف‌پول نو"
    assert page.is_visible("#draft-restored")

    # Loading state: the button says what is happening as soon as the form is sent.
    state = page.evaluate(
        """() => { const f = document.querySelector("form[data-draft]");
                   const b = f.querySelector("button[type=submit]");
                   f.requestSubmit();
                   return [b.disabled, b.textContent, f.getAttribute("aria-busy")]; }"""
    )
    assert state[0] is True and "در حال" in state[1] and state[2] == "true"
    page.wait_for_selector("#results", timeout=20_000)
    assert _width(page) <= WIDTHS[size]["width"]
    _shot(page, f"applicant_suggestions_{size}")
    _axe(page, f"applicant suggestions ({size})")
    # Sent: the draft is gone, a new form starts empty.
    page.goto(f"{base}/me/applications/new")
    assert page.input_value("#business_plan") == ""
    assert [p for p in problems if "status of 422" not in p] == []  # the refused file: 422


STAFF_PAGES = [
    "/staff",
    "/staff/applications",
    "/staff/programs",
    "/staff/programs/fin-teh",
    "/staff/rounds",
    "/staff/rounds/r-ux",
    "/staff/rounds/r-ux/what-if",
    "/staff/imports",
    "/admin",
]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_staff_pages_fit_the_screen_with_a_folding_menu(server, browser, size):  # noqa: F811
    base, env = server
    _round(env)
    page = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "admin", env.passwords["admin"])
    assert page.url.endswith("/admin")  # the admin lands on the users page
    for path in STAFF_PAGES:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        width = _width(page)
        name = path.strip("/").replace("/", "_")
        _shot(page, f"{name}_{size}")
        assert width <= WIDTHS[size]["width"], f"{path} is {width}px wide at {size}"
    page.goto(f"{base}/staff/programs")
    if size == "phone":
        assert not page.is_visible("#site-menu")
        page.click("#menu-toggle")
        assert page.is_visible("text=درون‌ریزی")
        assert page.get_attribute("#menu-toggle", "aria-expanded") == "true"
        _shot(page, "menu_open_phone")
        # Each table row is a card; a cell shows its column's name.
        assert page.evaluate(
            "getComputedStyle(document.querySelector('#programs tr')).display"
        ) == "block"
        label = page.evaluate(
            "getComputedStyle(document.querySelector('#programs td'), '::before').content"
        )
        assert "نام" in label
    else:
        assert not page.is_visible("#menu-toggle") and page.is_visible("text=درون‌ریزی")
    # Keyboard: the skip link is the first stop and shows; focus has a visible ring.
    page.goto(f"{base}/staff/programs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.is_visible(".skip-link")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.goto(f"{base}/staff")
    _axe(page, f"staff search ({size})")
    page.goto(f"{base}/staff/rounds/r-ux")
    _axe(page, f"round page ({size})")
    page.goto(f"{base}/admin")
    _axe(page, f"admin users ({size})")
    assert problems == []


def test_round_page_shows_progress_at_the_top_and_keeps_the_table_in_step(
    server,  # noqa: F811
    browser,  # noqa: F811
):
    base, env = server
    _round(env, n_applications=40)
    page = _page(browser, DESKTOP)
    problems = _watch_console(page)
    _sign_in(page, base, "staff", env.passwords["staff"])
    page.goto(f"{base}/staff/rounds")
    assert "باز" in page.inner_text("#rounds")
    page.goto(f"{base}/staff/rounds/r-ux")
    page.click("#run-scoring")
    page.wait_for_selector("#job-progress")
    box = page.locator("#job-progress").bounding_box()
    assert box is not None and box["y"] < DESKTOP["height"]  # seen without scrolling
    page.wait_for_selector("#job-progress[data-status=succeeded]", timeout=30_000)
    assert "پایان یافت — ۱۰۰٪" in page.inner_text("#job-progress .job-label")
    assert page.is_enabled("#run-scoring")
    assert "پایان یافت" in page.inner_text("#past-runs tbody tr:first-child .job-state")
    links = page.locator("#job-progress .job-files a").all_inner_texts()
    assert links and all("." not in name.split("(")[0] for name in links), links
    assert "امتیاز همهٔ جفت‌ها (CSV)" in page.inner_text("#past-runs")
    _shot(page, "round_finished_desktop")
    assert problems == []


def test_applications_pages_and_program_deactivation_with_undo(server, browser):  # noqa: F811
    from recommender import schemas

    base, env = server
    env.store.upsert_applications(
        [
            schemas.Application(id=f"a-{k:03d}", startup_name=f"نمونه {k:03d}", business_plan=PLAN)
            for k in range(1, 61)
        ]
    )
    page = _page(browser, PHONE)
    problems = _watch_console(page)
    _sign_in(page, base, "staff", env.passwords["staff"])
    page.goto(f"{base}/staff/applications")
    assert page.locator("#applications tbody tr").count() == 50
    page.click("a[rel=next]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#applications tbody tr").count() == 10
    page.fill("#q", "نمونه 007")
    page.click("form[role=search] button")
    page.wait_for_load_state("networkidle")
    assert page.locator("#applications tbody tr").count() == 1
    assert _width(page) <= PHONE["width"]
    _shot(page, "applications_search_phone")
    # Opening an application computes its suggestions: the page says so at once.
    state = page.evaluate(
        """() => { const a = document.querySelector("#applications a[data-busy]"); a.click();
                   return [a.getAttribute("aria-busy"),
                           document.getElementById("busy-status").textContent]; }"""
    )
    assert state == ["true", "در حال یافتن برنامه‌های مناسب…"]
    page.wait_for_selector("h1:has-text('نمونه 007')")

    page.goto(f"{base}/staff/programs")
    page.click("a[href='/staff/programs/agri-isf/deactivate']")
    page.wait_for_selector("#confirm-deactivate")
    assert env.store.get_program("agri-isf").active is True
    page.click("#confirm-deactivate")
    page.wait_for_selector("#undo-deactivate")
    assert env.store.get_program("agri-isf").active is False
    _shot(page, "program_deactivated_phone")
    page.click("#undo-deactivate")
    page.wait_for_selector("#program-notice")
    assert "دوباره فعال شد" in page.inner_text("#program-notice")
    assert env.store.get_program("agri-isf").active is True
    assert problems == []


def test_admin_adds_a_user_and_sees_the_token_once(server, browser):  # noqa: F811
    base, env = server
    page = _page(browser, DESKTOP)
    problems = _watch_console(page)
    _sign_in(page, base, "admin", env.passwords["admin"])
    page.fill("#new-name", "reviewer1")
    page.select_option("#new-role", "staff")
    page.click("#add-user button[type=submit]")
    page.wait_for_selector("#secret-value")
    token = page.inner_text("#secret-value")
    assert env.app.state.accounts.user_for_token(token).name == "reviewer1"
    _shot(page, "admin_new_user_desktop")
    page.goto(f"{base}/admin")
    assert token not in page.content()
    page.click("button[aria-label='غیرفعال‌کردن reviewer1']")
    page.wait_for_selector("#admin-notice")
    assert env.app.state.accounts.find_user("reviewer1").active is False
    assert problems == []


@pytest.fixture
def round_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Env]]:
    """A server whose round jobs are the full `api.round_jobs` (allocation, what-if,
    report.html), with the small deterministic model of the round tests."""
    from api import round_jobs
    from api.jobs import default_registry
    from recommender.rounds.scoring import ScoringModel
    from tests.recommender._round_fixtures import fill_store, make_model

    model = make_model()
    monkeypatch.setattr(ScoringModel, "from_recommender", classmethod(lambda cls, r: model))
    registry = default_registry.copy()
    round_jobs.register(registry)
    for base, env in serve(tmp_path, job_registry=registry):
        fill_store(env.store, 12)
        yield base, env


def _wait_job(env: Env, subject: str) -> str:
    jobs = env.app.state.jobs
    deadline = time.monotonic() + 60
    job = jobs.list(subject=subject, limit=1)[0]
    while jobs.get(job.id).status not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)
    assert jobs.get(job.id).status == "succeeded", jobs.get(job.id).error
    return job.id


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_what_if_page_and_report_in_the_browser(round_server, browser, size):  # noqa: F811
    base, env = round_server
    page = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "staff", env.passwords["staff"])
    page.goto(f"{base}/staff/rounds/R1/what-if")
    page.fill("#seats-fin-teh", "۵")
    page.click("#run-what-if")
    page.wait_for_selector("#what-if-result", timeout=60_000)
    text = page.inner_text("#what-if-result")
    assert "استقرار تازه" in text and "fin-teh" not in text
    assert _width(page) <= WIDTHS[size]["width"]
    _shot(page, f"what_if_{size}")
    _axe(page, f"what-if ({size})")

    # report.html opens in the browser (not a download), in Persian, styled, printable.
    job_id = _wait_job(env, "rounds/R1")
    response = page.goto(f"{base}/staff/jobs/{job_id}/report")
    assert response is not None and response.status == 200
    assert "attachment" not in (response.headers.get("content-disposition") or "")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Vazirmatn")
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('16px Vazirmatn')")
    body = page.inner_text("body")
    assert "شکاف بهینگی" not in body.split("جزئیات فنی")[0]
    assert page.locator("img").count() >= 2
    _shot(page, f"report_{size}")
    page.emulate_media(media="print")
    _shot(page, f"report_print_{size}")
    page.emulate_media(media="screen")
    # The round page after a full run: the committee's files by their Persian names.
    page.goto(f"{base}/staff/rounds/R1")
    page.wait_for_selector("#job-progress[data-status=succeeded]")
    links = page.locator("#job-progress .job-files a").all_inner_texts()
    assert links[0] == "گزارش دوره (برای کمیته)" and "کارنامهٔ Excel" in links
    assert page.get_attribute("#job-progress .job-files a >> nth=0", "target") == "_blank"
    _shot(page, f"round_page_{size}")
    _axe(page, f"round page after a run ({size})")
    assert problems == []
