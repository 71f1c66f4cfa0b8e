"""The decision fields of the results in a real browser (Chromium through Playwright, as
test_browser_ux.py), at a desktop and a phone width: the fit score in words, «اقامت ندارد»
instead of a residency chance, the drawback set apart with its label, no horizontal
overflow, and no serious or critical axe-core violation."""

from __future__ import annotations

from typing import Any

import pytest

from .test_browser import _sign_in, _watch_console
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser import server as server  # noqa: F401  (the fixture)
from .test_browser_ux import WIDTHS, _axe, _page, _shot, _width
from .test_reasons import _with_decision_fields

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_results_show_fit_words_drawback_and_no_residency(server, browser, size):  # noqa: F811
    base, env = server
    _with_decision_fields(env)
    page: Any = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "staff", env.passwords["staff"])
    page.goto(f"{base}/staff")
    page.fill("#text", "صندوق سلامت دیجیتال و شتاب‌دهنده پرداخت برای فروشگاه‌ها")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results")
    drawback = page.locator(".result .drawback")
    assert drawback.count() == 1
    assert drawback.inner_text().startswith("نکتهٔ منفی:")
    assert drawback.get_attribute("role") == "note"
    # set apart: its own background and a coloured edge, unlike the reasons above it
    style = page.evaluate(
        """() => { const s = getComputedStyle(document.querySelector('.drawback'));
                   return [s.backgroundColor, s.borderInlineStartWidth]; }"""
    )
    assert style[0] != "rgba(0, 0, 0, 0)" and style[1] == "4px"
    assert page.locator(".not-applicable").all_inner_texts() == ["اقامت ندارد"]
    assert "تناسب خوب" in page.locator(".result .chip.fit").first.inner_text()
    assert _width(page) <= WIDTHS[size]["width"]
    _shot(page, f"results_decision_{size}")
    _axe(page, f"results with drawback ({size})")
    assert problems == []
