"""Reasons that help the decision, end to end: the API's recommendation fields from the real
recommender glue (drawback, fit in words, «not applicable» residency, meaningful quotes,
spoken money) and how the web results show them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender.scoring.fit_level import FIT_LABELS_FA
from recommender.scoring.quotes import MIN_CONTENT_WORDS, content_words

from .conftest import Env, run_real_app
from .test_web import csrf, sign_in

PLAN_WITH_HEADINGS = """کیف‌پول نو

خلاصه طرح:
- کیف پول دیجیتال
همچنین، ما یک کیف پول دیجیتال و درگاه پرداخت برای فروشگاه‌های کوچک محله ساخته‌ایم.
## بازار
بازار ما فروشگاه‌های کوچکی است که هنوز پرداخت خرد آنلاین ندارند و پول نقد می‌گیرند.
"""


@pytest.fixture
def real_app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], object]]:
    yield from run_real_app(tmp_path, user_prefix="reasons")


@pytest.mark.slow
def test_match_items_carry_drawback_fit_words_and_no_residency_flag(real_app):
    client, headers, _ = real_app
    response = client.post(
        "/v1/staff/match",
        json={
            "text": PLAN_WITH_HEADINGS,
            "top": 4,
            "facts": {"stage": "idea", "province": "فارس", "needs_residency": True,
                      "funding_ask": 60_000_000_000},
        },
        headers=headers["staff"],
    )
    assert response.status_code == 200, response.text
    items = {item["program_id"]: item for item in response.json()["items"]}
    assert set(items) == {"fin-teh", "agri-isf", "health-fund", "creative-shz"}
    for item in items.values():
        assert item["fit_level"] in FIT_LABELS_FA
        assert item["fit_label"] == FIT_LABELS_FA[item["fit_level"]]
        for reason in item["reasons"]:
            assert "«همچنین»" not in reason and "«کیف‌پول نو»" not in reason
            if "«" in reason and ": «" in reason:
                quote = reason.split(": «", 1)[1].rstrip("»").rstrip("…")
                assert len(content_words(quote)) >= MIN_CONTENT_WORDS
    # a fund with no seats: residency does not apply
    fund = items["health-fund"]
    assert fund["offers_residency"] is False and fund["p_residency"] is None
    # in Tehran without remote teams (worse than the stage it does not take, or no seats)
    assert fund["drawback_kind"] == "place"
    # Tehran takes remote teams; the stage is the catch there too
    assert items["fin-teh"]["offers_residency"] is True
    assert items["fin-teh"]["drawback"].startswith("این برنامه تیم‌های در مرحلهٔ «ایده»")
    # Isfahan takes ideas but no remote teams from Fars
    assert items["agri-isf"]["drawback_kind"] == "place"
    assert "استان اصفهان" in items["agri-isf"]["drawback"]
    # Shiraz: same province, takes any stage, has seats, funds nothing: the ask is the catch
    assert items["creative-shz"]["drawback"] == (
        "این برنامه تأمین مالی نمی‌کند، ولی شما ۶۰ میلیارد ریال سرمایه خواسته‌اید."
    )
    # the fin-teh quote is the sentence of the plan, without its leading connective
    assert any("«ما یک کیف پول دیجیتال و درگاه پرداخت" in r for r in items["fin-teh"]["reasons"])


def _with_decision_fields(env: Env) -> None:
    """The fake recommender's items, given the fields the real pipeline fills."""
    original = env.recommender.recommend

    def recommend(*args, **kwargs):
        result = original(*args, **kwargs)
        for item in result.items:
            item.fit_level, item.fit_label = "good", FIT_LABELS_FA["good"]
            item.expected_funding = 2_834_000_000
            if item.program_id == "health-fund":
                item.offers_residency, item.p_residency = False, None
                item.drawback_kind = "money"
                item.drawback = ("مبلغ درخواستی شما (۲ میلیارد ریال) از کمترین مبلغ تأمین مالی "
                                 "این برنامه (۵ میلیارد ریال) کمتر است.")
        return result

    env.recommender.recommend = recommend  # type: ignore[method-assign]


def test_web_results_show_fit_words_drawback_and_residency_not_applicable(web_env: Env):
    _with_decision_fields(web_env)
    client = sign_in(web_env, "staff")
    page = client.post(
        "/staff",
        data={"text": "صندوق سلامت دیجیتال و شتاب‌دهنده پرداخت",
              "csrf_token": csrf(client, "/staff")},
    )
    assert page.status_code == 200
    html = page.text
    assert "امتیاز تناسب:" in html and "— تناسب خوب" in html
    assert "سرمایهٔ مورد انتظار: حدود ۲٫۸ میلیارد ریال" in html
    assert '<span class="not-applicable">اقامت ندارد</span>' in html
    assert html.count("اقامت ندارد") == 1  # only the fund has no seats
    assert "شانس پذیرش در اقامت: ۵۰٪" in html
    assert (
        '<p class="drawback" role="note"><strong class="drawback-label">نکتهٔ منفی:</strong> '
        "مبلغ درخواستی شما (۲ میلیارد ریال)" in html
    )
    assert html.count('class="drawback"') == 1

    api = client.post("/v1/staff/match", json={"text": "صندوق سلامت دیجیتال"},
                      headers=web_env.auth("staff")).json()
    fund = next(i for i in api["items"] if i["program_id"] == "health-fund")
    assert fund["offers_residency"] is False and fund["p_residency"] is None
    assert fund["drawback_kind"] == "money" and fund["fit_label"] == "تناسب خوب"
