from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from recommender.errors import CorruptArtifactError, InvalidInputError, NotFittedError
from recommender.retrieval.lexical import BM25Index

DOCS = [
    "شتاب‌دهنده فناوری مالی و پرداخت در تهران",
    "مرکز رشد کشاورزی هوشمند و آب در مشهد",
    "صندوق سرمایه‌گذاری بازی‌های رایانه‌ای",
    "!!!",
]


def test_the_document_with_the_query_words_ranks_first() -> None:
    index = BM25Index().fit(DOCS)
    scores = index.scores("کشاورزی هوشمند")
    assert scores.shape == (4,)
    assert scores.dtype == np.float32
    assert int(np.argmax(scores)) == 1
    assert scores[[0, 2, 3]].max() == 0.0


def test_arabic_letters_and_half_spaces_match_their_persian_forms() -> None:
    index = BM25Index().fit(DOCS)
    # Arabic yeh/kaf and a plain space where the document has a half-space
    assert int(np.argmax(index.scores("بازي هاي رايانه اي"))) == 2


def test_scores_match_bm25_computed_by_hand() -> None:
    docs = ["alpha beta", "alpha alpha gamma", "delta"]
    k1, b = 1.5, 0.75
    index = BM25Index(k1=k1, b=b).fit(docs)
    lengths = [2, 3, 1]
    avg = sum(lengths) / 3
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # "alpha" is in 2 of 3 documents

    def term(tf: int, length: int) -> float:
        return idf * tf / (tf + k1 * (1 - b + b * length / avg))

    expected = [term(1, 2), term(2, 3), 0.0]
    np.testing.assert_allclose(index.scores("Alpha"), expected, rtol=1e-5)


def test_repeated_query_words_count_once() -> None:
    index = BM25Index().fit(DOCS)
    np.testing.assert_allclose(index.scores("کشاورزی کشاورزی کشاورزی"), index.scores("کشاورزی"))


def test_unknown_or_empty_query_scores_zero() -> None:
    index = BM25Index().fit(DOCS)
    assert not index.scores("xyzzy").any()
    assert not index.scores("").any()
    assert not index.scores("و در از").any()  # stop words only


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = BM25Index(k1=1.2, b=0.5).fit(DOCS)
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.get_params() == index.get_params()
    assert loaded.n_docs_ == 4
    np.testing.assert_array_equal(loaded.scores("تهران پرداخت"), index.scores("تهران پرداخت"))


def test_damaged_or_missing_files_raise_corrupt_artifact(tmp_path: Path) -> None:
    folder = BM25Index().fit(DOCS).save(tmp_path / "bm25")
    with pytest.raises(CorruptArtifactError):
        BM25Index.load(tmp_path / "missing")
    (folder / "vocab.index.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptArtifactError):
        BM25Index.load(folder)


def test_bad_use_is_refused() -> None:
    with pytest.raises(NotFittedError):
        BM25Index().scores("x")
    with pytest.raises(InvalidInputError):
        BM25Index().fit([])
    with pytest.raises(InvalidInputError):
        BM25Index().fit(["!!!", "..."])
    with pytest.raises(InvalidInputError):
        BM25Index().fit("one text, not a list")  # type: ignore[arg-type]
