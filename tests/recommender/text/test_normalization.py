"""Normalization: one table row per rule with real Persian text, and idempotence on anything."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.text.normalization import (
    ZWNJ,
    _normalize_fixed_point,
    normalize,
    sentences,
    text_hash,
    tokenize,
)

CASES = [
    # Arabic letters to Persian forms
    ("اين كتاب عربي است", "این کتاب عربی است"),
    ("خانۀ خلاق", "خانه خلاق"),
    ("مدرسة", "مدرسه"),
    ("خانهٔ نوآوری", "خانه نوآوری"),
    # diacritics removed
    ("کِتابِ مُفید", "کتاب مفید"),
    # digits unified (Persian, Arabic-Indic, Latin), Persian separators
    ("۱۲۳ و ٤٥٦ و 789", "123 و 456 و 789"),
    ("رشد ۲٫۵ درصدی", "رشد 2.5 درصدی"),
    ("۱۰٬۰۰۰ کاربر", "10,000 کاربر"),
    # half-space repaired
    ("کتاب ها", f"کتاب{ZWNJ}ها"),
    ("می خواهیم", f"می{ZWNJ}خواهیم"),
    (f"{ZWNJ}{ZWNJ}سلام{ZWNJ} {ZWNJ}دنیا", "سلام دنیا"),
    # punctuation spacing
    ("سلام ،خوبی ؟", "سلام، خوبی؟"),
    ("(سلام)«متن»", "(سلام) «متن»"),
    # control characters and emoji stripped
    ("سلام\x00\x07 دنیا 😀👍🏽", "سلام دنیا"),
    # repeated letters shortened
    ("عالیییییی", "عالی"),
    # English words, numbers, URLs and e-mails kept as written
    ("SaaS-based B2B API با نسخه 2.0", "SaaS-based B2B API با نسخه 2.0"),
    ("سایت https://peyvand.ir/a?b=1 است", "سایت https://peyvand.ir/a?b=1 است"),
    ("ایمیل info@peyvand.ir است", "ایمیل info@peyvand.ir است"),
    # whitespace and line breaks
    ("  سلام   دنیا \t\n\n\n خداحافظ  ", "سلام دنیا\nخداحافظ"),
    ("", ""),
    ("   \n\t ", ""),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_rules(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_invalid_surrogates_are_dropped_not_fatal() -> None:
    assert normalize("سلام\udcff دنیا") == "سلام دنیا"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalize_is_idempotent_on_any_text(text: str) -> None:
    once = normalize(text)
    # The computation itself, not the cache of recent results (which would pass trivially).
    assert _normalize_fixed_point(once) == once


PIECES = list("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكۀة۰۱۲۳٤٥0123456789 .،؟!«»()-:\n") + [
    ZWNJ, "می ", " ها", "SaaS", "B2B", "2.5", "😀", "\u200d", "\u064e",
]
PERSIANISH = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(PERSIANISH)
def test_normalize_is_idempotent_on_persian_like_text(text: str) -> None:
    once = normalize(text)
    assert _normalize_fixed_point(once) == once


def test_tokenize_makes_colloquial_formal_and_keeps_english() -> None:
    tokens = tokenize("می‌خوایم اپلیکیشن رو لانچ کنیم و میریم خونه. SaaS B2B ۲٫۵ درصد")
    assert "می\u200cخواهیم" in tokens
    assert "خانه" in tokens
    assert {"saas", "b2b", "2.5"} <= set(tokens)
    assert "و" not in tokens  # stop word


def test_tokenize_same_for_arabic_and_persian_letters() -> None:
    assert tokenize("برنامه كسب و كار مالي") == tokenize("برنامه کسب و کار مالی")


def test_sentences_split_on_punctuation_and_lines() -> None:
    assert sentences("سلام. چطوری؟\nخوبم! ممنون") == ["سلام.", "چطوری؟", "خوبم!", "ممنون"]


def test_text_hash_is_stable() -> None:
    assert text_hash("سلام") == text_hash("سلام")
    assert text_hash("سلام") != text_hash("سلام ")


def test_normalizing_again_is_served_from_recent_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import recommender.text.normalization as norm

    text = "این يك متن تازه برای آزمون حافظه است ۱۲۳"
    once = normalize(text)
    calls = []
    monkeypatch.setattr(norm, "_normalize_fixed_point", lambda t: calls.append(t) or t)
    assert normalize(text) == once
    assert normalize(once) == once
    assert calls == []


INFORMAL_SENTENCES = [
    "ما می‌خوایم یه خونه‌ی خوب بسازیم و نمیدونم چی میشه",
    "بابا یه شغل مناسب واسه بچه هام پیدا کردن که به جایی برنمیخوره !",
    "اجازه بدیم همسرمون در جمع خانواده‌اش احساس آزادی کنه و فکر نکنه که ما دائم هواسمون بهش هست .",
    "اونا دارن میرن خونه‌شون، ما هم میایم؛ کتابارو بیار.",
    "بچه‌ها گفتن که نمیتونن بیان چون کار دارن، ولی فردا حتماً میان",
    "اگه بخوای می‌تونی ۲۰ تا محصولمونو امتحان کنی، قیمتش ۵۰۰ هزار تومنه",
    "شرکتمون سه ساله داره کار می‌کنه و تا حالا ۱۲۰۰ مشتری داشتیم.",
]


@pytest.mark.slow
def test_trimmed_informal_normalizer_gives_hazms_own_results() -> None:
    """The serving copy of hazm's InformalNormalizer drops the parts our use never reads and
    shares hazm's lexicon and verb forms with the other hazm objects; every word of real,
    colloquial and mixed texts, and whole colloquial sentences, must get the same formal forms
    as an untouched instance (the trimmed one is what `tokenize` uses)."""
    import hazm

    from recommender.text.normalization import _informal_normalizer
    from tests.recommender.persian_texts import PARITY_TEXTS

    trimmed = _informal_normalizer()
    assert not hasattr(trimmed, "ilemmatizer")
    untouched = hazm.InformalNormalizer()
    words = sorted({w for text in PARITY_TEXTS for w in hazm.word_tokenize(normalize(text))})
    words += sorted({w for text in INFORMAL_SENTENCES for w in hazm.word_tokenize(text)})
    words += ["می‌خوایم", "خونه‌هامون", "میریم", "نمیدونم", "بهش", "اینجوری", "داریم",
              "برنمیگردیم", "نمیخوام", "بزنین", "گفتین", "کتابامون", "دوستاشون", "میدون",
              "میخواسته", "شم", "هارو", "چقد", "نیس", "اومدند", "بیخیال", "رفتیم", "بشه"]
    assert len(words) > 150
    for word in words:
        assert trimmed.normalize(word) == untouched.normalize(word), word
    for text in INFORMAL_SENTENCES + PARITY_TEXTS:
        assert trimmed.normalize(text) == untouched.normalize(text), text


@pytest.mark.slow
def test_hazm_objects_share_one_lexicon_and_tokenize_as_hazm_does() -> None:
    """hazm builds its 190,000-word lexicon in every tokenizer, normalizer and lemmatizer
    (~50 MB each): the serving objects hold one copy, and tokenizing on it gives what
    `hazm.word_tokenize` gives."""
    import hazm

    from recommender.text.normalization import (
        _hazm_normalizer,
        _informal_normalizer,
        _word_tokenizer,
    )
    from tests.recommender.persian_texts import PARITY_TEXTS

    lexicon = _hazm_normalizer().tokenizer.words
    informal = _informal_normalizer()
    assert _word_tokenizer().words is lexicon
    assert informal.tokenizer.words is lexicon
    assert informal.word_tokenizer.words is lexicon
    assert informal.lemmatizer.words is lexicon
    assert informal.verbs is _hazm_normalizer().verbs
    for text in INFORMAL_SENTENCES + PARITY_TEXTS:
        for line in normalize(text).split("\n"):
            assert _word_tokenizer().tokenize(line) == hazm.word_tokenize(line), line
