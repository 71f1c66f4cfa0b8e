"""Persian reasons, contributions and number/date formatting."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from recommender.scoring.explain import (
    ApplicantFacts,
    Evidence,
    Explainer,
    contributions,
    reason_groups,
)
from recommender.text.persian import (
    format_jalali,
    format_number,
    format_percent,
    format_rial,
    to_persian_digits,
)
from tests.recommender._pipeline_fakes import make_programs

LABELS = {"fintech": "فین‌تک و خدمات مالی", "agritech": "کشاورزی هوشمند"}
KEYWORDS = {"fintech": ["پرداخت", "کیف پول"], "agritech": ["گلخانه", "رطوبت خاک"]}


def _program(pid: str):
    return next(p for p in make_programs() if p.id == pid)


# ------------------------------------------------------------------ persian


def test_persian_digits_and_separators():
    assert to_persian_digits("abc 2026") == "abc ۲۰۲۶"
    assert format_number(1234567) == "۱٬۲۳۴٬۵۶۷"
    assert format_number(-1500) == "-۱٬۵۰۰"
    assert format_number(1234.5, decimals=2) == "۱٬۲۳۴٫۵"
    assert format_number(7.0, decimals=2) == "۷"
    assert format_rial(2_000_000_000) == "۲٬۰۰۰٬۰۰۰٬۰۰۰ ریال"
    assert format_rial(0) == "۰ ریال"
    assert format_percent(0.735) == "۷۴٪"


def test_jalali_dates():
    assert format_jalali(dt.date(2026, 11, 26)) == "۱۴۰۵/۰۹/۰۵"
    assert format_jalali("2026-11-26", long=True) == "۵ آذر ۱۴۰۵"
    assert format_jalali(dt.datetime(2024, 3, 20, 12, 0)) == "۱۴۰۳/۰۱/۰۱"  # Nowruz
    with pytest.raises(ValueError):
        format_jalali("not a date")


# ------------------------------------------------------------------ reasons


def test_fit_reason_names_stage_and_province_naturally():
    program = _program("fin-isf")
    facts = ApplicantFacts(stage="mvp", province="اصفهان")
    assert Explainer.fit_reason(program, facts) == (
        "این برنامه، تیم‌های در مرحلهٔ «محصول اولیه» را می‌پذیرد و در همان استان شما، "
        "اصفهان، است."
    )


def test_fit_reason_mentions_remote_and_skips_unknowns():
    remote = _program("edu-shz")
    assert "راه دور" in Explainer.fit_reason(remote, ApplicantFacts(province="تهران"))
    assert Explainer.fit_reason(_program("fin-teh"), ApplicantFacts()) is None
    # a stage the program does not take is never claimed
    assert Explainer.fit_reason(_program("fin-teh"), ApplicantFacts(stage="idea")) is None


def test_money_reason_says_amounts_as_people_do():
    program = _program("fin-teh")
    text = Explainer.money_reason(program, ApplicantFacts(funding_ask=2_834_000_000))
    assert text == (
        "مبلغ درخواستی شما (حدود ۲٫۸ میلیارد ریال) در بازهٔ تأمین مالی این برنامه "
        "(از ۱ میلیارد ریال تا ۵ میلیارد ریال) است."
    )
    assert Explainer.money_reason(program, ApplicantFacts(funding_ask=9_000_000_000)) is None
    assert "تا سقف" in Explainer.money_reason(_program("edu-shz"), ApplicantFacts())
    assert Explainer.money_reason(_program("agri-isf"), ApplicantFacts()) is None  # no money


def test_seats_reason_only_when_seats_and_not_declined():
    assert Explainer.seats_reason(ApplicantFacts(needs_residency=True), 12) == (
        "این برنامه ۱۲ جای خالی برای استقرار تیم‌ها دارد."
    )
    assert Explainer.seats_reason(ApplicantFacts(needs_residency=False), 12) is None
    assert Explainer.seats_reason(ApplicantFacts(), 0) is None


def test_evidence_quotes_the_best_chunk_and_its_best_sentence():
    plan = "ما گلخانه داریم. " + "محصول ما کیف پول و درگاه پرداخت است. تیم ما سه نفر است."
    spans = [(0, 16), (17, len(plan))]
    v = np.eye(4, dtype=np.float32)
    chunks = np.stack([v[0], v[1]])
    explainer = Explainer(LABELS, KEYWORDS)
    ev = explainer.evidence(plan, chunks, spans, _program("fin-teh"), v[1])
    assert ev is not None and ev.chunk == 1
    assert ev.quote == "محصول ما کیف پول و درگاه پرداخت است"
    assert plan[ev.span[0]:ev.span[1]] == ev.quote
    assert ev.similarity == pytest.approx(1.0)


def test_long_quotes_are_cut_at_a_word_boundary():
    sentence = " ".join(f"پرداخت خرد فروشگاه شماره{i}" for i in range(20)) + "."
    explainer = Explainer(quote_chars=40)
    ev = explainer.evidence(sentence, np.ones((1, 2), np.float32), [(0, len(sentence))],
                            _program("fin-teh"), np.ones(2, np.float32))
    assert ev.quote.endswith("…") and len(ev.quote) <= 41
    assert not ev.quote[:-1].endswith(" ")


def test_evidence_without_chunks_is_none():
    explainer = Explainer()
    assert explainer.evidence("x", np.zeros((0, 3)), [], _program("fin-teh"), np.ones(3)) is None


def test_reasons_put_content_first_and_order_the_rest_by_contribution():
    explainer = Explainer(LABELS, KEYWORDS)
    program = _program("fin-isf")
    facts = ApplicantFacts(stage="mvp", province="اصفهان", funding_ask=1_000_000_000,
                           needs_residency=True, sectors=("fintech",))
    ev = Evidence(chunk=0, span=(0, 10), quote="پرداخت خرد", similarity=0.8)
    money_first = explainer.reasons(program, facts, evidence=ev,
                                    group_contributions={"money": 0.5, "fit": 0.1})
    assert len(money_first) == 3
    assert money_first[0].startswith("این بخش از طرح شما با تمرکز این برنامه بر حوزهٔ «فین‌تک")
    assert "«پرداخت خرد»" in money_first[0]
    assert money_first[1].startswith("مبلغ درخواستی")
    assert money_first[2].startswith("این برنامه، تیم‌های")
    fit_first = explainer.reasons(program, facts, evidence=ev,
                                  group_contributions={"money": 0.0, "fit": 0.3})
    assert fit_first[1].startswith("این برنامه، تیم‌های")


def test_no_sector_is_claimed_without_evidence_of_it():
    explainer = Explainer(LABELS, KEYWORDS)
    program = _program("agri-isf")
    facts = ApplicantFacts(sectors=("fintech",))
    ev = Evidence(chunk=0, span=(0, 5), quote="کیف پول", similarity=0.2)
    reasons = explainer.reasons(program, facts, plan_text="کیف پول برای همه", evidence=ev)
    assert "کشاورزی" not in reasons[0]
    assert reasons[0] == "نزدیک‌ترین بخش طرح شما به کار این برنامه: «کیف پول»"
    # keywords in the plan name the sector when none is declared
    inferred = explainer.reasons(program, ApplicantFacts(), plan_text="گلخانه ما", evidence=ev)
    assert "«کشاورزی هوشمند»" in inferred[0]


def test_reasons_never_show_raw_feature_values():
    explainer = Explainer(LABELS, KEYWORDS)
    facts = ApplicantFacts(stage="mvp", province="تهران", funding_ask=2_000_000_000,
                           needs_residency=True, sectors=("fintech",))
    for program in make_programs():
        for reason in explainer.reasons(program, facts, plan_text="پرداخت"):
            assert "=" not in reason and "_" not in reason
            assert not any(ch.isdigit() and ch.isascii() for ch in reason)


# ------------------------------------------------------------------ contributions


def test_contributions_of_a_linear_score_are_its_centred_terms():
    rng = np.random.default_rng(1)
    w = rng.normal(size=5)
    X = rng.normal(size=(4, 5)).astype(np.float32)
    base = X.mean(axis=0)
    got = contributions(lambda Z: Z @ w, X, base)
    np.testing.assert_allclose(got, w * (X - base), atol=1e-5)


def test_contributions_of_an_interaction_are_one_at_a_time():
    X = np.array([[1.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    got = contributions(lambda Z: Z[:, 0] * Z[:, 1], X, np.zeros(2))
    # row 2 scores 0 either way: x0 alone explains nothing without x1
    np.testing.assert_allclose(got, [[1.0, 1.0], [0.0, 0.0]])


def test_contributions_of_nothing():
    assert contributions(lambda Z: Z.sum(axis=1), np.zeros((0, 3)), np.zeros(3)).shape == (0, 3)


def test_reason_groups_follow_feature_names():
    groups = reason_groups(["sem_pooled", "stage_match", "same_province", "funding_inside",
                            "seats_log", "kind_vc_fund"])
    assert groups == {"content": [0], "fit": [1, 2], "seats": [4], "money": [3]}
