"""The network operator's page in a real browser (Debian's Chromium through Playwright, as
test_browser.py): the operator signs in, lands on /network, sees the three charts drawn and the
tables, at a desktop and a phone width, with no serious or critical axe-core violation and
nothing wider than the screen. Screenshots: artifacts/screenshots/network.png and
network_phone.png."""

from __future__ import annotations

import pytest

from .test_browser import SCREENSHOTS, _sign_in, _watch_console
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser import server as server  # noqa: F401  (the fixture)
from .test_browser_ux import PHONE, _axe, _page, _width
from .test_network import add_network_operator, fill_network

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1366, "height": 900}
SHOT_NAMES = {"desktop": "network.png", "phone": "network_phone.png"}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_network_operator_sees_the_network(server, browser, size):  # noqa: F811
    base, env = server
    add_network_operator(env)
    fill_network(env.store)
    viewport = DESKTOP if size == "desktop" else PHONE
    page = _page(browser, viewport, axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "netop", env.passwords["netop"])
    assert page.url.endswith("/network")  # the operator's home
    assert page.inner_text("h1") == "نمای شبکه"
    for chart in ("chart-fill-rate", "chart-sectors", "chart-referrals"):
        image = page.locator(f"#{chart} img")
        image.scroll_into_view_if_needed()
        assert image.is_visible()
        # the SVG was decoded and drawn, at a readable size
        drawn = page.evaluate(
            "id => { const i = document.querySelector('#' + id + ' img');"
            " return [i.complete, i.naturalWidth, i.getBoundingClientRect().width]; }",
            chart,
        )
        assert drawn[0] and drawn[1] > 0 and drawn[2] > 300, (chart, drawn)
    assert "انرژی" in page.inner_text("#gaps")
    assert "۵۰٪" in page.inner_text("#houses")
    assert _width(page) <= viewport["width"]
    if size == "phone":
        # tables become one card per house, each value with its column's name
        card = page.locator("#houses tbody tr").first
        assert card.evaluate("tr => getComputedStyle(tr).display") == "block"
    page.click("#definitions summary")
    assert page.is_visible("#definitions dl")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / SHOT_NAMES[size]), full_page=True)
    _axe(page, f"network ({size})")
    assert problems == []
