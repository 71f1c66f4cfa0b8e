"""Sentence-aware chunking: spans index the text, every token is covered, no chunk exceeds
the budget, neighbouring chunks overlap by whole sentences, long sentences and giant words
are cut rather than dropped."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.errors import InvalidInputError
from recommender.text.chunking import chunk_text, sentence_spans
from tests.recommender.persian_texts import PASSAGES

_WORD = re.compile(r"\S+")


def word_offsets(text: str) -> list[tuple[int, int]]:
    """One token per whitespace-separated word: a stand-in for a model tokenizer."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def _check_invariants(text: str, chunks, max_tokens: int) -> None:
    tokens = word_offsets(text)
    assert chunks, "a text with tokens has at least one chunk"
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text)
        assert 1 <= c.n_tokens <= max_tokens
        inside = [t for t in tokens if c.start <= t[0] and t[1] <= c.end]
        assert len(inside) >= c.n_tokens
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    for t_start, t_end in tokens:  # nothing dropped
        assert any(c.start <= t_start and t_end <= c.end for c in chunks)


def test_sentence_spans_index_the_text() -> None:
    text = "ما یک تیم هستیم. محصول ما خوب است!\nآیا شما؟ بله 3.5 میلیون تومان"
    spans = sentence_spans(text)
    pieces = [text[a:b] for a, b in spans]
    assert pieces == ["ما یک تیم هستیم.", "محصول ما خوب است!", "آیا شما؟", "بله 3.5 میلیون تومان"]


def test_short_text_is_one_chunk() -> None:
    text = PASSAGES[0]
    chunks = chunk_text(text, word_offsets, max_tokens=1000)
    assert len(chunks) == 1
    assert chunks[0].n_tokens == len(word_offsets(text))


def test_long_text_chunks_fit_and_overlap_by_whole_sentences() -> None:
    text = " ".join(PASSAGES)
    chunks = chunk_text(text, word_offsets, max_tokens=60, overlap_tokens=20)
    _check_invariants(text, chunks, 60)
    assert len(chunks) > 5
    sentence_starts = {a for a, _ in sentence_spans(text)}
    overlapping = 0
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start in sentence_starts  # chunks start at a sentence
        overlapping += nxt.start < prev.end
    assert overlapping >= len(chunks) // 2  # most neighbours share a sentence


def test_no_overlap_when_asked_for_none() -> None:
    text = " ".join(PASSAGES[:6])
    chunks = chunk_text(text, word_offsets, max_tokens=50, overlap_tokens=0)
    _check_invariants(text, chunks, 50)
    assert all(b.start >= a.end for a, b in zip(chunks, chunks[1:], strict=False))
    assert sum(c.n_tokens for c in chunks) == len(word_offsets(text))


def test_a_sentence_longer_than_the_budget_is_cut_at_words() -> None:
    text = " ".join(f"کلمه{i}" for i in range(500))  # one sentence, no punctuation
    chunks = chunk_text(text, word_offsets, max_tokens=64, overlap_tokens=16)
    _check_invariants(text, chunks, 64)
    for c in chunks:
        assert c.start == 0 or text[c.start - 1] == " "


def test_a_giant_word_is_cut_at_token_boundaries() -> None:
    text = "x" * 5000

    def char_tokens(t: str) -> list[tuple[int, int]]:
        return [(i, i + 1) for i in range(len(t))]

    chunks = chunk_text(text, char_tokens, max_tokens=100, overlap_tokens=0)
    assert sum(c.n_tokens for c in chunks) == 5000
    assert all(c.n_tokens <= 100 for c in chunks)
    assert chunks[-1].end == 5000


def test_empty_text_has_no_chunks_and_bad_budgets_are_refused() -> None:
    assert chunk_text("", word_offsets, max_tokens=10) == []
    with pytest.raises(InvalidInputError):
        chunk_text("متن", word_offsets, max_tokens=0)
    with pytest.raises(InvalidInputError):
        chunk_text("متن", word_offsets, max_tokens=10, overlap_tokens=-1)


def test_a_megabyte_of_text_is_chunked_whole() -> None:
    unit = " ".join(PASSAGES[:4]) + "\n"
    text = unit * (1_000_000 // len(unit.encode("utf-8")) + 1)
    assert len(text.encode("utf-8")) >= 1_000_000
    chunks = chunk_text(text, word_offsets, max_tokens=500, overlap_tokens=32)
    assert len(chunks) > 100
    assert chunks[-1].end >= len(text.rstrip())
    assert max(c.n_tokens for c in chunks) <= 500


_persian_words = st.sampled_from(
    ["استارتاپ", "ما", "بازار", "سرمایه", "تیم", "محصول", "۱۴۰۲", "SaaS", "رشد", "مشتری"]
)
_sentence = st.lists(_persian_words, min_size=1, max_size=30).map(lambda ws: " ".join(ws) + ".")


@settings(max_examples=40, deadline=None)
@given(
    sentences=st.lists(_sentence, min_size=1, max_size=25),
    max_tokens=st.integers(min_value=3, max_value=80),
    overlap=st.integers(min_value=0, max_value=20),
)
def test_chunk_invariants_hold_for_any_text(sentences, max_tokens, overlap) -> None:
    text = " ".join(sentences)
    chunks = chunk_text(text, word_offsets, max_tokens=max_tokens, overlap_tokens=overlap)
    _check_invariants(text, chunks, max_tokens)
