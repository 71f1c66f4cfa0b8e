"""The fact reader: what a plan says about its own startup, in the registers people write."""

from __future__ import annotations

import pytest

from recommender.errors import InvalidInputError
from recommender.text.facts import FACT_NAMES, PlanFacts, read_facts

TERMS = {
    "fintech": ["فین‌تک", "پرداخت", "کیف پول", "بیمه"],
    "agritech": ["کشاورزی", "کشاورز", "گلخانه", "آبیاری"],
    "edtech": ["آموزش", "دانش‌آموز", "کلاس"],
}


@pytest.mark.parametrize(
    ("text", "rial"),
    [
        ("برای توسعه به ۲ میلیارد تومان سرمایه نیاز داریم.", 20_000_000_000),
        ("برای توسعه به ٢ میلیارد تومان سرمایه نیاز داریم.", 20_000_000_000),
        ("برای توسعه به 2 میلیارد تومان سرمایه نیاز داریم.", 20_000_000_000),
        ("دنبال ۱٫۵ میلیارد تومن سرمایه‌ایم و می‌خوایم تیم رو بزرگ کنیم.", 15_000_000_000),
        ("به وام ٢٠ میلیارد ریالی نیاز داریم.", 20_000_000_000),
        ("یه کمک بلاعوض حدود سیصد میلیون تومن می‌خوایم.", 3_000_000_000),
        ("برای ساخت نمونه به یک و نیم میلیارد ریال نیاز داریم.", 1_500_000_000),
    ],
)
def test_funding_ask_in_every_digit_script_and_unit(text: str, rial: int) -> None:
    assert read_facts(text).funding_ask.value == rial


def test_revenue_is_not_an_ask() -> None:
    facts = read_facts(
        "درآمد ماهانه ما ۸ میلیارد ریال است. برای دور بعد به ۵۰ میلیارد ریال سرمایه نیاز داریم."
    )
    assert facts.funding_ask.value == 50_000_000_000
    assert facts.funding_kind.value == "equity"


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("هنوز هیچی نساختیم و فقط ایده داریم.", "idea"),
        ("نسخه اول محصول آماده است و ۲۰ کاربر آزمایشی دارد.", "mvp"),
        ("ماهی ۳۰۰ تا سفارش داریم و درآمد داریم.", "early_revenue"),
        ("سودده هستیم و برای دور Series A آماده می‌شویم.", "growth"),
    ],
)
def test_stage(text: str, stage: str) -> None:
    assert read_facts(text).stage.value == stage


def test_place_where_the_team_is_beats_a_mention() -> None:
    facts = read_facts("محصول ما را در تهران هم می‌شناسند، ولی ما تو تبریز هستیم و دفتر لازم داریم.")
    assert facts.province.value == "آذربایجان شرقی"
    assert facts.city.value == "تبریز"
    assert facts.needs_residency.value is True


def test_remote_team_does_not_need_residency() -> None:
    facts = read_facts("تیم ما ۵ نفره است و دورکاری می‌کنیم.")
    assert facts.needs_residency.value is False
    assert facts.team_size.value == 5


def test_colloquial_team_size_and_grant() -> None:
    facts = read_facts("ما سه نفریم و یه کمک بلاعوض کوچیک می‌خوایم.")
    assert facts.team_size.value == 3
    assert facts.funding_kind.value == "grant"


def test_negated_sector_is_read_as_not_that_sector() -> None:
    facts = read_facts(
        "ما فین‌تک نیستیم؛ یک سامانه آموزش آنلاین برای دانش‌آموزان و کلاس‌های مدرسه هستیم.",
        TERMS,
    )
    assert "fintech" in facts.not_sectors.value
    assert facts.sectors.value[0] == "edtech"
    assert "fintech" not in facts.sectors.value


def test_knowledge_based_yes_and_no() -> None:
    assert read_facts("شرکت ما دانش‌بنیان است.").knowledge_based.value is True
    assert read_facts("ما هنوز دانش‌بنیان نیستیم.").knowledge_based.value is False
    assert read_facts("ما یک تیم کوچک هستیم.").knowledge_based.value is None


def test_unstated_facts_are_unknown_with_zero_confidence() -> None:
    facts = read_facts("یک سامانه ساده برای مدیریت کارها.")
    for name in ("province", "funding_ask", "knowledge_based", "team_size"):
        fact = getattr(facts, name)
        assert fact.value is None and fact.confidence == 0.0


def test_to_dict_has_every_fact_with_confidence() -> None:
    out = read_facts("ما در رشت هستیم و ۲ میلیارد تومان سرمایه می‌خواهیم.", TERMS).to_dict()
    assert set(out) == set(FACT_NAMES)
    assert out["province"] == {"value": "گیلان", "confidence": out["province"]["confidence"]}
    assert 0 < out["province"]["confidence"] <= 1


def test_corrections_win_with_full_confidence_and_are_checked() -> None:
    facts = read_facts("فعلاً در حد ایده هستیم.").corrected({"stage": "mvp", "province": "قم"})
    assert facts.stage.value == "mvp" and facts.stage.confidence == 1.0
    assert facts.province.value == "قم"
    with pytest.raises(InvalidInputError):
        PlanFacts().corrected({"stage": "unicorn"})
    with pytest.raises(InvalidInputError):
        PlanFacts().corrected({"colour": "blue"})
    with pytest.raises(InvalidInputError):
        PlanFacts().corrected({"funding_ask": -5})
