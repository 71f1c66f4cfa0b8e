"""The web UI in a real browser: Debian's Chromium driven by Playwright against a uvicorn server
started here on a free localhost port. An applicant signs in, submits a plan and sees ranked
suggestions on a right-to-left page; staff sign in, search, and watch a round being scored.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

from .conftest import PLAN, Env, make_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
FONTS = Path(__file__).resolve().parents[2] / "api" / "web" / "static" / "fonts"



def serve(tmp_path: Path, **app_kwargs: Any) -> Iterator[tuple[str, Env]]:
    """A uvicorn server on 127.0.0.1:<free port> in a thread, with password accounts."""
    import uvicorn

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    db = f"sqlite:///{tmp_path / 'p.db'}"
    for env in make_env(db, tmp_path / "home", passwords=True, **app_kwargs):
        port = free_port()
        config = uvicorn.Config(
            env.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        try:
            yield f"http://127.0.0.1:{port}", env
        finally:
            server.should_exit = True
            thread.join(10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Env]]:
    yield from serve(tmp_path)


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _sign_in(page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


def _watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_applicant_submits_a_plan_and_reads_suggestions_right_to_left(server, browser):
    base, env = server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fa-IR")
    problems = _watch_console(page)
    _sign_in(page, base, "applicant", env.passwords["applicant"])
    assert page.url.endswith("/me")
    page.click("text=ثبت طرح تازه")
    page.fill("#startup_name", "کیف‌پول نو")
    page.select_option("#stage", "mvp")
    page.fill("#province", "تهران")
    page.fill("#business_plan", PLAN)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    if page.locator("#results").count() == 0:
        page.screenshot(path=str(SCREENSHOTS / "applicant_failed.png"), full_page=True)
        raise AssertionError(page.url + "\n" + page.inner_text("main")[:2000])

    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "fa"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    titles = page.locator("#results h3").all_inner_texts()
    assert "شتاب‌دهنده پرداخت نو" in titles[0]
    assert page.locator("#results .reasons li").count() >= 1
    assert "۵۰٪" in page.inner_text("#results")
    # Persian text starts at the right edge: the heading's right side is near the page's.
    box = page.locator("h1").bounding_box()
    assert box is not None and box["x"] + box["width"] > 1366 * 0.8
    if (FONTS / "Vazirmatn-Regular.woff2").exists():
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('16px Vazirmatn')")
    page.screenshot(path=str(SCREENSHOTS / "applicant_suggestions.png"), full_page=True)
    assert problems == []


def test_staff_search_and_round_progress(server, browser):
    base, env = server
    staff = env.auth("staff")
    env.client.post(
        "/v1/rounds",
        json={
            "id": "r-browser",
            "name": "دوره بهار",
            "opens_on": "2026-03-21",
            "closes_on": "2026-05-21",
            "programs": [{"program_id": "fin-teh"}, {"program_id": "agri-isf"}],
        },
        headers=staff,
    )
    for name in ("الف", "ب"):
        env.client.post(
            "/v1/applications",
            json={"startup_name": name, "business_plan": PLAN, "round_id": "r-browser"},
            headers=staff,  # staff may file into a closed round; the round needs applications
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fa-IR")
    problems = _watch_console(page)
    _sign_in(page, base, "staff", env.passwords["staff"])
    assert page.url.endswith("/staff")
    page.fill("#text", PLAN)
    page.check("input[name=kinds][value=accelerator]")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results")
    assert page.locator("#results h3").count() == 1  # only the accelerator
    assert "شتاب‌دهنده پرداخت نو" in page.inner_text("#results")
    page.screenshot(path=str(SCREENSHOTS / "staff_search.png"), full_page=True)

    page.goto(f"{base}/staff/rounds/r-browser")
    page.click("#run-scoring")
    page.wait_for_selector("#job-progress[data-status=succeeded]", timeout=20_000)
    assert "۱۰۰٪" in page.inner_text("#job-progress")
    links = page.locator("#job-progress .job-files a").all_inner_texts()
    assert "امتیاز همهٔ جفت‌ها (CSV)" in links  # files named in Persian
    page.screenshot(path=str(SCREENSHOTS / "round_scoring.png"), full_page=True)
    assert problems == []


def test_staff_import_applications_and_watch_their_plans_prepared(server, browser, tmp_path):
    """An applications file uploaded on the imports page: the counts, and the background job's
    progress card, which says how many plans are ready once it ends (the page stays the
    import's answer: nothing reloads the form)."""
    import json

    base, env = server
    rows = [
        {"id": f"imp-{k}", "startup_name": name, "business_plan": PLAN, "stage": "mvp",
         "province": "تهران", "sectors": ["fintech"]}
        for k, name in enumerate(("کیف‌پول", "حسابداری ابری"))
    ]
    upload = tmp_path / "درخواست‌ها.json"
    upload.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fa-IR")
    problems = _watch_console(page)
    _sign_in(page, base, "staff", env.passwords["staff"])
    page.goto(f"{base}/staff/imports")
    page.select_option("#kind", "applications")
    page.set_input_files("#file", str(upload))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#job-progress[data-status=succeeded]", timeout=30_000)
    assert "۲ ردیف تازه" in page.inner_text("#import-result")  # still the import's answer
    assert "در پس‌زمینه آغاز شد" in page.inner_text("#import-result")
    assert "طرح آماده است" in page.inner_text("#job-progress")
    page.screenshot(path=str(SCREENSHOTS / "staff_import_plans.png"), full_page=True)
    assert problems == []
