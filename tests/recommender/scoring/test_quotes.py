"""What a reason may quote from a plan: meaningful sentences only (hand-written Persian plans
with headings, lists, one line, a leading connective), the main drawback, the fit score in
words and money said as people say it."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.schemas import Program
from recommender.scoring.drawbacks import drawback
from recommender.scoring.explain import ApplicantFacts, Explainer
from recommender.scoring.fit_level import FIT_LABELS_FA, FIT_THRESHOLDS, fit_level
from recommender.scoring.quotes import (
    MIN_CONTENT_WORDS,
    MIN_WORDS,
    content_words,
    plan_sentences,
)
from recommender.text.normalization import normalize
from recommender.text.persian import format_rial_spoken, to_persian_digits
from tests.recommender._pipeline_fakes import make_programs
from tests.recommender.persian_texts import PASSAGES

KEYWORDS = {"agritech": ["گلخانه", "رطوبت خاک", "آبیاری"], "fintech": ["پرداخت", "کیف پول"]}

STRUCTURED_PLAN = """طرح کسب‌وکار سبزینه

خلاصه طرح:
• سامانه هوشمند آبیاری برای گلخانه‌های کوچک با حسگر رطوبت خاک و اپلیکیشن موبایل
- کاهش مصرف آب
۱. فروش اشتراک ماهانه به گلخانه‌داران
همچنین
## بازار هدف
همچنین، ما با سه تعاونی کشاورزی در اصفهان برای آزمایش حسگرهای گلخانه قرارداد بسته‌ایم.
بازار ما حدود ۴۰ هزار گلخانه کوچک در کشور است؛ بیشتر آن‌ها هنوز آبیاری دستی دارند.
"""


def _program(pid: str) -> Program:
    return next(p for p in make_programs() if p.id == pid)


def _agri() -> Program:
    return _program("agri-isf")


def _one_chunk(plan: str, explainer: Explainer | None = None, name: str | None = None):
    """Evidence with the whole plan as one chunk."""
    explainer = explainer or Explainer(sector_keywords=KEYWORDS)
    return explainer.evidence(plan, np.ones((1, 2), np.float32), [(0, len(plan))], _agri(),
                              np.ones(2, np.float32), name=name)


def _assert_meaningful(plan: str, ev) -> None:
    body = ev.quote.rstrip("…")
    assert to_persian_digits(plan[ev.span[0]:ev.span[1]]) == body
    assert len(content_words(body)) >= MIN_CONTENT_WORDS
    assert len(body.split()) >= MIN_WORDS


# ------------------------------------------------------------------ quotable sentences


def test_headings_short_items_and_lone_connectives_are_never_quotable():
    plan = normalize(STRUCTURED_PLAN)
    quotable = [plan[s.quote[0]:s.quote[1]] for s in plan_sentences(plan) if s.quote]
    assert quotable == [
        "سامانه هوشمند آبیاری برای گلخانه‌های کوچک با حسگر رطوبت خاک و اپلیکیشن موبایل",
        "ما با سه تعاونی کشاورزی در اصفهان برای آزمایش حسگرهای گلخانه قرارداد بسته‌ایم.",
        "بازار ما حدود 40 هزار گلخانه کوچک در کشور است؛ بیشتر آن‌ها هنوز آبیاری دستی دارند.",
    ]


def test_a_long_title_line_is_not_quotable_but_a_one_line_plan_is():
    # the sample plan's title: nine words, no sentence end, first of several lines
    titled = normalize(
        "طرح کسب‌وکار «آب‌یار»: آبیاری هوشمند باغ‌های پسته با حسگر (نمونه ساختگی)\n\n"
        "ما با حسگرهای رطوبت خاک مصرف آب باغ‌های پسته رفسنجان را کم می‌کنیم."
    )
    quotable = [titled[s.quote[0]:s.quote[1]] for s in plan_sentences(titled) if s.quote]
    assert quotable == ["ما با حسگرهای رطوبت خاک مصرف آب باغ‌های پسته رفسنجان را کم می‌کنیم."]
    alone = normalize("ما با حسگرهای رطوبت خاک مصرف آب باغ‌های پسته رفسنجان را کم می‌کنیم")
    assert [s.quote for s in plan_sentences(alone)] == [(0, len(alone))]


def test_a_structured_plan_quotes_a_whole_sentence_without_marker_or_connective():
    plan = normalize(STRUCTURED_PLAN)
    ev = _one_chunk(plan)
    assert ev is not None
    _assert_meaningful(plan, ev)
    assert not ev.quote.startswith(("همچنین", "•", "-", "1"))
    assert "طرح کسب" not in ev.quote and "خلاصه" not in ev.quote


def test_a_chunk_that_starts_with_a_connective_quotes_from_after_it():
    plan = normalize(
        "همچنین، ما حسگرهای رطوبت خاک را برای گلخانه‌داران اصفهان نصب و نگهداری می‌کنیم. "
        "تیم ما کوچک است."
    )
    ev = _one_chunk(plan)
    assert ev.quote == "ما حسگرهای رطوبت خاک را برای گلخانه‌داران اصفهان نصب و نگهداری می‌کنیم"
    _assert_meaningful(plan, ev)


def test_a_chunk_cut_after_a_lone_connective_does_not_quote_it():
    plan = normalize(
        "ما سامانه آبیاری هوشمند گلخانه را با حسگر رطوبت خاک ساخته‌ایم. همچنین\n"
        "فروش اشتراکی به گلخانه‌داران کوچک جنوب کشور را آغاز کرده‌ایم."
    )
    cut = plan.index("همچنین")
    # the closest chunk is the first one, which ends right after «همچنین»
    chunks = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    ev = Explainer(sector_keywords=KEYWORDS).evidence(
        plan, chunks, [(0, cut + len("همچنین")), (cut, len(plan))], _agri(),
        np.array([1.0, 0.0], np.float32),
    )
    assert ev is not None and ev.chunk == 0
    assert ev.quote == "ما سامانه آبیاری هوشمند گلخانه را با حسگر رطوبت خاک ساخته‌ایم"


def test_one_line_plans_quote_a_sentence_or_nothing():
    short = normalize("اپلیکیشن آبیاری گلخانه")
    assert _one_chunk(short) is None
    title_only = normalize("سامانه هوشمند آبیاری گلخانه سبزینه")
    assert _one_chunk(title_only) is None
    sentence = normalize("ما برای گلخانه‌های کوچک یک سامانه آبیاری هوشمند با حسگر ساخته‌ایم.")
    ev = _one_chunk(sentence)
    assert ev.quote == "ما برای گلخانه‌های کوچک یک سامانه آبیاری هوشمند با حسگر ساخته‌ایم"


def test_no_quote_rather_than_a_bad_one():
    explainer = Explainer(sector_keywords=KEYWORDS)
    plan = normalize("خلاصه طرح:\n- آبیاری\n- گلخانه\nهمچنین")
    assert _one_chunk(plan, explainer) is None
    reasons = explainer.reasons(_agri(), ApplicantFacts(), plan_text=plan, evidence=None)
    assert all("«همچنین»" not in r and ": «" not in r for r in reasons)


def test_a_sentence_that_only_names_the_startup_is_not_quoted():
    plan = normalize(
        "سبزینه سامانه هوشمند آبیاری گلخانه سبزینه است.\n"
        "کشاورزان با حسگر رطوبت خاک ما مصرف آب گلخانه را کم می‌کنند."
    )
    name = "سبزینه سامانه هوشمند آبیاری گلخانه"
    ev = _one_chunk(plan, name=name)
    assert ev.quote == "کشاورزان با حسگر رطوبت خاک ما مصرف آب گلخانه را کم می‌کنند"


def test_the_next_closest_chunk_is_used_when_the_closest_has_only_headings():
    plan = normalize(
        "بازار هدف گلخانه‌ها\n"
        "ما برای گلخانه‌داران کوچک حسگر رطوبت خاک و اپلیکیشن آبیاری ساخته‌ایم."
    )
    head = plan.index("\n")
    chunks = np.array([[1.0, 0.0], [0.6, 0.8]], np.float32)
    ev = Explainer(sector_keywords=KEYWORDS).evidence(
        plan, chunks, [(0, head), (head + 1, len(plan))], _agri(),
        np.array([1.0, 0.0], np.float32),
    )
    assert ev is not None and ev.chunk == 1
    assert ev.quote.startswith("ما برای گلخانه‌داران")


def test_long_sentences_are_cut_at_a_clause_with_an_ellipsis():
    plan = normalize(
        "ما یک سامانه هوشمند آبیاری برای گلخانه‌های کوچک و متوسط ساخته‌ایم که با حسگرهای "
        "رطوبت خاک کار می‌کند، داده‌ها را به اپلیکیشن موبایل کشاورز می‌فرستد و در فصل "
        "تابستان مصرف آب را تا سی درصد کم می‌کند، بدون آنکه محصول آسیب ببیند."
    )
    ev = _one_chunk(plan, Explainer(sector_keywords=KEYWORDS, quote_chars=140))
    assert ev.quote.endswith("کار می‌کند…")
    _assert_meaningful(plan, ev)


@pytest.mark.parametrize("passage", PASSAGES[:12])
def test_every_quote_of_the_test_passages_is_a_meaningful_part_of_the_plan(passage):
    plan = normalize(passage)
    ev = _one_chunk(plan)
    assert ev is not None  # each passage has whole sentences to quote
    _assert_meaningful(plan, ev)
    assert len(ev.quote) <= 161
    assert not any(ch.isascii() and ch.isdigit() for ch in ev.quote)


# ------------------------------------------------------------------ drawbacks


def _program_with(**changes) -> Program:
    return _program("fin-teh").model_copy(update=changes)


def test_the_most_serious_drawback_comes_first():
    program = _program_with(province="فارس", accepts_remote=False, stages=["growth"],
                            residency_seats=0, funding_max=5_000_000_000)
    facts = ApplicantFacts(stage="idea", province="تهران", needs_residency=True,
                           funding_ask=9_000_000_000)
    assert drawback(program, facts) == (
        "place",
        "این برنامه در استان فارس است و حضور از راه دور را نمی‌پذیرد، ولی تیم شما در تهران است.",
    )
    kind, text = drawback(program.model_copy(update={"accepts_remote": True}), facts)
    assert kind == "stage" and "«ایده»" in text and "«رشد»" in text
    kind, text = drawback(program.model_copy(update={"accepts_remote": True,
                                                     "stages": ["idea"]}), facts)
    assert kind == "seats"
    assert text == "تیم شما به استقرار نیاز دارد، ولی این برنامه جای استقرار ندارد."


def test_seats_that_ran_out_and_money_outside_the_range():
    program = _program_with(province="تهران", stages=["mvp"], residency_seats=10,
                            funding_min=1_000_000_000, funding_max=5_000_000_000)
    facts = ApplicantFacts(stage="mvp", province="تهران", needs_residency=True,
                           funding_ask=12_340_000_000)
    assert drawback(program, facts, open_seats=0)[1] == (
        "تیم شما به استقرار نیاز دارد، ولی جای استقرار این برنامه پر شده است."
    )
    assert drawback(program, facts, open_seats=3) == (
        "money",
        "مبلغ درخواستی شما (حدود ۱۲٫۳ میلیارد ریال) از سقف تأمین مالی این برنامه "
        "(۵ میلیارد ریال) بیشتر است.",
    )
    low = ApplicantFacts(funding_ask=300_000_000)
    assert drawback(program, low)[1] == (
        "مبلغ درخواستی شما (۳۰۰ میلیون ریال) از کمترین مبلغ تأمین مالی این برنامه "
        "(۱ میلیارد ریال) کمتر است."
    )
    no_money = program.model_copy(update={"funding_min": 0, "funding_max": 0})
    assert "تأمین مالی نمی‌کند" in drawback(no_money, low)[1]


def test_no_drawback_from_unknown_facts_or_a_good_pair():
    program = _program_with(province="فارس", accepts_remote=False, residency_seats=0)
    assert drawback(program, ApplicantFacts()) is None
    fine = _program_with(province="تهران", stages=["mvp"], residency_seats=4,
                         funding_min=0, funding_max=5_000_000_000)
    facts = ApplicantFacts(stage="mvp", province="تهران", needs_residency=True,
                           funding_ask=2_000_000_000)
    assert drawback(fine, facts) is None
    # a team that does not need a seat misses nothing at a program without seats
    assert drawback(fine.model_copy(update={"residency_seats": 0}),
                    ApplicantFacts(needs_residency=False)) is None


# ------------------------------------------------------------------ fit words, money


def test_fit_levels_per_kind_of_score():
    assert [fit_level(s, "probability") for s in (0.62, 0.5, 0.31, 0.2, 0.05)] == [
        "very_good", "very_good", "good", "fair", "low"]
    assert [fit_level(s, "rule") for s in (1.05, 0.75, 0.6, 0.4, 0.1)] == [
        "very_good", "very_good", "good", "fair", "low"]
    # free text: measured on the hand-written plans (benchmarks/fit_labels.py)
    assert [fit_level(s, "text") for s in (1.0, 0.9, 0.85, 0.7, 0.6)] == [
        "very_good", "very_good", "good", "fair", "low"]
    assert FIT_LABELS_FA["fair"] == "تناسب متوسط"
    for lows in FIT_THRESHOLDS.values():
        assert list(lows) == sorted(lows, reverse=True)


@pytest.mark.parametrize(("amount", "said"), [
    (2_834_000_000, "حدود ۲٫۸ میلیارد ریال"),
    (2_000_000_000, "۲ میلیارد ریال"),
    (1_500_000_000, "۱٫۵ میلیارد ریال"),
    (283_400_000, "حدود ۲۸۳ میلیون ریال"),
    (50_000_000, "۵۰ میلیون ریال"),
    (999_960_000, "حدود ۱ میلیارد ریال"),
    (750_000, "۷۵۰ هزار ریال"),
    (500, "۵۰۰ ریال"),
    (0, "۰ ریال"),
])
def test_money_as_people_say_it(amount, said):
    assert format_rial_spoken(amount) == said
