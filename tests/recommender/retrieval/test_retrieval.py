from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from recommender.constants import PROGRAM_KINDS, STAGES
from recommender.errors import (
    CorruptArtifactError,
    InvalidInputError,
    ModelMismatchError,
    NotFittedError,
)
from recommender.retrieval.filters import ProgramFilter
from recommender.retrieval.fusion import adaptive_weight
from recommender.retrieval.hybrid import CandidateRetriever
from recommender.retrieval.lexical import program_lexical_text
from recommender.schemas import Program

SEED = 7
DIM = 16
PROVINCES = ["تهران", "اصفهان", "خراسان رضوی", "فارس"]
SECTORS = ["fintech", "agritech", "gaming", "health", "edtech"]
WORDS = [
    "نوآوری", "فناوری", "سرمایه", "رشد", "بازار", "محصول", "تیم", "مشتری", "آموزش",
    "سلامت", "کشاورزی", "پرداخت", "بازی", "داده", "هوش", "مصنوعی", "صادرات", "انرژی",
]


def make_programs(n: int, seed: int = SEED) -> list[Program]:
    """n programs with seeded attributes and short Persian descriptions."""
    rng = np.random.default_rng(seed)
    programs = []
    for i in range(n):
        low = int(rng.integers(0, 5)) * 1_000_000_000
        funds = rng.random() < 0.7
        programs.append(
            Program(
                id=f"p{i}",
                name=f"برنامه {i}",
                kind=str(rng.choice(PROGRAM_KINDS)),
                description=" ".join(rng.choice(WORDS, size=8)),
                sectors=list(rng.choice(SECTORS, size=int(rng.integers(1, 3)), replace=False)),
                stages=list(rng.choice(STAGES, size=int(rng.integers(1, 4)), replace=False)),
                province=str(rng.choice(PROVINCES)),
                residency_seats=int(rng.integers(0, 20)),
                funding_min=low if funds else 0,
                funding_max=low + int(rng.integers(1, 10)) * 1_000_000_000 if funds else 0,
                accepts_remote=bool(rng.random() < 0.5),
                requires_knowledge_based=bool(rng.random() < 0.3),
                active=bool(rng.random() < 0.85),
            )
        )
    return programs


def make_vectors(n: int, dim: int = DIM, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, query: np.ndarray, positions: np.ndarray, k: int):
    scores = vectors[positions] @ (query / np.linalg.norm(query))
    order = np.argsort(-scores, kind="stable")[:k]
    return positions[order], scores[order]


def random_filter(rng: np.random.Generator) -> ProgramFilter:
    """A random mix of conditions, each present about half the time."""
    maybe = lambda: rng.random() < 0.5  # noqa: E731
    return ProgramFilter(
        provinces=list(rng.choice(PROVINCES, size=2, replace=False)) if maybe() else None,
        kinds=list(rng.choice(PROGRAM_KINDS, size=4, replace=False)) if maybe() else None,
        sectors=list(rng.choice(SECTORS, size=2, replace=False)) if maybe() else None,
        stage=str(rng.choice(STAGES)) if maybe() else None,
        active_only=bool(maybe()),
        min_open_seats=int(rng.integers(0, 10)) if maybe() else None,
        funding_ask=int(rng.integers(1, 8)) * 1_000_000_000 if maybe() else None,
        accepts_remote=True if maybe() else None,
        knowledge_based=False if maybe() else None,
    )


@pytest.fixture(scope="module")
def catalogue() -> tuple[list[Program], np.ndarray]:
    return make_programs(60), make_vectors(60)


@pytest.fixture(scope="module")
def large() -> tuple[list[Program], np.ndarray]:
    return make_programs(1500, seed=11), make_vectors(1500, seed=11)


def dense_retriever(**kwargs) -> CandidateRetriever:
    return CandidateRetriever(fusion="dense", **kwargs)


# ----------------------------------------------------------------- dense search vs reference


def test_flat_search_matches_brute_force(catalogue) -> None:
    programs, vectors = catalogue
    retriever = dense_retriever().fit(programs, vectors, model_id="m1")
    assert retriever.index_type_ == "flat"
    rng = np.random.default_rng(1)
    everyone = np.arange(len(programs))
    for _ in range(10):
        query = rng.standard_normal(DIM).astype(np.float32)
        got = retriever.search(query, "", k=10, filters=ProgramFilter(active_only=False))
        ref_pos, ref_scores = brute_force(vectors, query, everyone, 10)
        np.testing.assert_allclose([c.dense_score for c in got], ref_scores, atol=1e-5)
        # ties allowed: ids may differ only where scores are equal
        for cand, pos, score in zip(got, ref_pos, ref_scores, strict=True):
            assert cand.program_id == programs[pos].id or abs(cand.dense_score - score) < 1e-6
        assert [c.rank for c in got] == list(range(1, 11))


def test_hnsw_recall_against_brute_force(large) -> None:
    programs, vectors = large
    retriever = dense_retriever(hnsw_threshold=500).fit(programs, vectors, model_id="m1")
    assert retriever.index_type_ == "hnsw"
    rng = np.random.default_rng(2)
    everyone = np.arange(len(programs))
    hits = total = 0
    for _ in range(30):
        query = rng.standard_normal(DIM).astype(np.float32)
        got = retriever.search(query, "", k=10, filters=ProgramFilter(active_only=False))
        ref_pos, _ = brute_force(vectors, query, everyone, 10)
        hits += len({c.program_id for c in got} & {programs[p].id for p in ref_pos})
        total += 10
    assert hits / total >= 0.95


def test_hnsw_filtered_search_recall_against_brute_force(large) -> None:
    programs, vectors = large
    retriever = dense_retriever(hnsw_threshold=500).fit(programs, vectors, model_id="m1")
    rng = np.random.default_rng(3)
    filters = ProgramFilter()  # active only: ~1,275 of 1,500 pass, above the threshold
    passing = retriever.passing_positions(filters)
    assert passing.size > 500
    hits = total = 0
    for _ in range(30):
        query = rng.standard_normal(DIM).astype(np.float32)
        got = retriever.search(query, "", k=10, filters=filters)
        ref_pos, _ = brute_force(vectors, query, passing, 10)
        hits += len({c.program_id for c in got} & {programs[p].id for p in ref_pos})
        total += 10
    assert hits / total >= 0.95


# ----------------------------------------------------------------- filters never cost recall


@pytest.mark.parametrize("threshold", [20_000, 100])
def test_filters_keep_the_result_count_and_only_passing_programs(large, threshold) -> None:
    programs, vectors = large
    programs, vectors = programs[:400], vectors[:400]
    retriever = CandidateRetriever(hnsw_threshold=threshold).fit(programs, vectors, "m1")
    rng = np.random.default_rng(4)
    for _ in range(25):
        filters = random_filter(rng)
        passing = {p.id for p in programs if filters.matches(p)[0]}
        k = int(rng.integers(1, 60))
        got = retriever.search(rng.standard_normal(DIM), "فناوری پرداخت", k=k, filters=filters)
        assert len(got) == min(k, len(passing))
        assert {c.program_id for c in got} <= passing


def test_filtered_search_is_exact_over_the_passing_subset(large) -> None:
    programs, vectors = large
    retriever = dense_retriever(hnsw_threshold=500).fit(programs, vectors, model_id="m1")
    filters = ProgramFilter(provinces=["فارس"], sectors=["gaming", "health"])
    passing = retriever.passing_positions(filters)
    assert 0 < passing.size < 500
    query = np.random.default_rng(5).standard_normal(DIM).astype(np.float32)
    got = retriever.search(query, "", k=20, filters=filters)
    _, ref_scores = brute_force(vectors, query, passing, 20)
    np.testing.assert_allclose([c.dense_score for c in got], ref_scores, atol=1e-5)


def test_nothing_passing_returns_empty_and_an_explanation(catalogue) -> None:
    programs, vectors = catalogue
    retriever = CandidateRetriever().fit(programs, vectors, model_id="m1")
    filters = ProgramFilter(provinces=["ایلام"])
    assert retriever.search(vectors[0], "فناوری", k=5, filters=filters) == []
    text = filters.explain_no_match(programs)
    assert "استان" in text and "برنامه" in text


# ----------------------------------------------------------------- ProgramFilter reasons


def base_program(**changes) -> Program:
    fields = dict(
        id="x", name="شتاب‌دهنده نمونه", kind="accelerator", description="توضیح",
        sectors=["fintech"], stages=["mvp", "growth"], province="تهران", residency_seats=5,
        funding_min=1_000, funding_max=5_000, accepts_remote=False,
        requires_knowledge_based=True, active=True,
    )
    fields.update(changes)
    return Program(**fields)


@pytest.mark.parametrize(
    ("filters", "changes", "word"),
    [
        (ProgramFilter(), {"active": False}, "فعال"),
        (ProgramFilter(provinces=["اصفهان"]), {}, "استان"),
        (ProgramFilter(kinds=["vc_fund"]), {}, "شتاب‌دهنده"),
        (ProgramFilter(sectors=["gaming"]), {}, "حوزه"),
        (ProgramFilter(stage="idea"), {}, "ایده"),
        (ProgramFilter(min_open_seats=6), {}, "ظرفیت"),
        (ProgramFilter(min_open_seats=2, open_seats={"x": 1}), {}, "ظرفیت"),
        (ProgramFilter(funding_ask=9_000), {}, "مبلغ"),
        (ProgramFilter(funding_ask=2_000), {"funding_min": 0, "funding_max": 0}, "تأمین مالی"),
        (ProgramFilter(funding_range=(6_000, 9_000)), {}, "بازه"),
        (ProgramFilter(accepts_remote=True), {}, "راه دور"),
        (ProgramFilter(knowledge_based=False), {}, "دانش‌بنیان"),
        (ProgramFilter(program_ids={"y"}), {}, "فهرست"),
    ],
)
def test_filter_failures_say_why_in_persian(filters, changes, word) -> None:
    ok, reason = filters.matches(base_program(**changes))
    assert not ok
    assert reason is not None and word in reason


def test_filter_passes_a_program_that_meets_every_condition() -> None:
    filters = ProgramFilter(
        provinces=["تهران"], kinds=["accelerator"], sectors=["fintech", "gaming"], stage="mvp",
        min_open_seats=5, funding_ask=5_000, funding_range=(4_000, 10_000),
        knowledge_based=True, program_ids=["x"],
    )
    assert filters.matches(base_program()) == (True, None)
    # Arabic yeh/kaf and extra spaces in a province name still match
    assert ProgramFilter(provinces=["خراسان  رضوي"]).matches(
        base_program(province="خراسان رضوی")
    ) == (True, None)


# ----------------------------------------------------------------- fusion


def test_lexical_match_lifts_the_named_program(catalogue) -> None:
    programs, vectors = catalogue
    programs = list(programs)
    target = 17
    programs[target] = programs[target].model_copy(
        update={"description": "سکوی پرداخت خرد برای فروشگاه‌های روستایی", "active": True}
    )
    query = np.random.default_rng(9).standard_normal(DIM).astype(np.float32)
    text = "پرداخت خرد فروشگاه روستایی"
    dense = dense_retriever().fit(programs, vectors, "m1").search(query, text, k=60)
    dense_rank = next(c.rank for c in dense if c.program_id == f"p{target}")
    for kwargs in (
        {},  # the default, adaptive fusion
        {"fusion": "weighted"},
        {"fusion": "weighted", "score_normalization": "zscore", "lexical_weight": 1.0},
        {"fusion": "rrf", "lexical_weight": 0.5},
        {"fusion": "lexical"},
    ):
        got = CandidateRetriever(**kwargs).fit(programs, vectors, "m1").search(query, text, k=60)
        rank = next(c.rank for c in got if c.program_id == f"p{target}")
        assert rank < dense_rank, kwargs
        top = got[0]
        assert top.lexical_score > 0 and -1.0 <= top.dense_score <= 1.0
        assert [c.fused_score for c in got] == sorted((c.fused_score for c in got), reverse=True)


def test_no_query_words_in_common_means_dense_order(catalogue) -> None:
    programs, vectors = catalogue
    query = np.random.default_rng(10).standard_normal(DIM).astype(np.float32)
    fused = CandidateRetriever().fit(programs, vectors, "m1").search(query, "xyzzy", k=10)
    dense = dense_retriever().fit(programs, vectors, "m1").search(query, "", k=10)
    assert [c.program_id for c in fused] == [c.program_id for c in dense]
    assert all(c.lexical_score == 0.0 for c in fused)


def test_long_queries_fuse_lexical_at_the_fixed_weight(catalogue) -> None:
    """A plan-length query uses long_query_lexical_weight, not the margin-scaled weight."""
    programs, vectors = catalogue
    query = np.random.default_rng(12).standard_normal(DIM).astype(np.float32)
    words = [p.description.split()[0] for p in programs[:20]]
    long_text = " ".join(words * 20)
    assert len(long_text) >= 300
    fixed = CandidateRetriever(lexical_confidence=False, lexical_weight=0.7)
    fixed.fit(programs, vectors, "m1")
    plan_rule = CandidateRetriever(long_query_lexical_weight=0.7).fit(programs, vectors, "m1")
    got = [(c.program_id, c.fused_score) for c in plan_rule.search(query, long_text, k=20)]
    want = [(c.program_id, c.fused_score) for c in fixed.search(query, long_text, k=20)]
    assert got == want
    # Short queries keep the margin-scaled rule: the plan rule changes nothing for them.
    short_text = " ".join(words[:3])
    no_plan_rule = CandidateRetriever(long_query_chars=10**9).fit(programs, vectors, "m1")
    assert [(c.program_id, c.fused_score) for c in plan_rule.search(query, short_text, k=20)] == [
        (c.program_id, c.fused_score) for c in no_plan_rule.search(query, short_text, k=20)
    ]


def test_adaptive_weight_rises_with_the_bm25_margin_and_falls_with_the_dense_gap() -> None:
    coefficients = (-1.0, 3.0, -2.0, 0.5)
    dense_pos, lexical_pos = np.arange(10), np.arange(10, 20)  # no overlap
    spread_dense = np.linspace(0.9, 0.5, 100)  # top-1 gap: 1/99 of the range
    lone_word = np.array([5.0, 0.5, 0.4])  # one program holds the query's rare words
    many = np.array([5.0, 4.9, 4.8])
    weight = functools.partial(adaptive_weight, coefficients)
    assert weight(spread_dense, dense_pos, lexical_pos, lone_word) > 5 * weight(
        spread_dense, dense_pos, lexical_pos, many
    )
    clear_dense = np.concatenate([[0.95], np.linspace(0.6, 0.5, 99)])
    assert weight(clear_dense, dense_pos, lexical_pos, many) < weight(
        spread_dense, dense_pos, lexical_pos, many
    )
    # no lexical evidence and no dense gap: exp(b0 + b3 * overlap)
    assert weight(np.full(100, 0.5), dense_pos, dense_pos, np.zeros(3)) == pytest.approx(
        np.exp(-1.0 + 0.5)
    )
    with pytest.raises(InvalidInputError):
        CandidateRetriever().set_params(adaptive_coefficients=(1.0, 2.0))


@pytest.mark.parametrize("fusion", ["adaptive", "weighted", "rrf"])
def test_score_programs_agrees_with_search(catalogue, fusion) -> None:
    programs, vectors = catalogue
    retriever = CandidateRetriever(fusion=fusion, candidate_pool=10).fit(programs, vectors, "m1")
    query, text = vectors[5] + 0.2, "فناوری پرداخت سلامت"
    top = retriever.search(query, text, k=5)
    by_id = {c.program_id: c for c in top}
    scored = retriever.score_programs(query, text, [top[3].program_id, top[1].program_id])
    assert [c.program_id for c in scored] == [top[1].program_id, top[3].program_id]
    for cand in scored:
        assert cand.fused_score == pytest.approx(by_id[cand.program_id].fused_score)
        assert cand.dense_score == pytest.approx(by_id[cand.program_id].dense_score)
    # a program far outside the top list still gets its scores
    outside = next(p.id for p in programs if p.id not in by_id and p.active)
    (far,) = retriever.score_programs(query, text, [outside])
    assert far.fused_score <= top[-1].fused_score
    with pytest.raises(KeyError):
        retriever.score_programs(query, text, ["no-such-program"])


def test_program_lexical_text_uses_sector_terms() -> None:
    program = base_program(sectors=["fintech", "food_tech"])
    text = program_lexical_text(program, {"fintech": ["فناوری مالی", "پرداخت"]})
    assert "شتاب‌دهنده نمونه" in text and "پرداخت" in text and "food tech" in text


# ----------------------------------------------------------------- persistence


def test_save_load_round_trip(tmp_path: Path, catalogue) -> None:
    programs, vectors = catalogue
    retriever = CandidateRetriever(lexical_weight=0.4).fit(programs, vectors, "e5@abc")
    version = retriever.save(tmp_path / "index")
    assert version.parent.name == "versions"
    assert (tmp_path / "index" / "CURRENT").read_text().strip() == version.name
    loaded = CandidateRetriever.load(tmp_path / "index", expected_model_id="e5@abc")
    assert loaded.get_params() == retriever.get_params()
    assert loaded.model_id_ == "e5@abc" and loaded.program_ids_ == retriever.program_ids_
    query = vectors[3] + 0.1
    filters = ProgramFilter(sectors=["fintech", "health"])
    assert loaded.search(query, "فناوری سلامت", 15, filters) == retriever.search(
        query, "فناوری سلامت", 15, filters
    )
    assert loaded.program("p3") == programs[3]


def test_hnsw_save_load_round_trip(tmp_path: Path, large) -> None:
    programs, vectors = large
    retriever = CandidateRetriever(hnsw_threshold=500).fit(programs, vectors, "m1")
    retriever.save(tmp_path / "index")
    loaded = CandidateRetriever.load(tmp_path / "index")
    assert loaded.index_type_ == "hnsw"
    np.testing.assert_allclose(loaded.vectors_, retriever.vectors_, atol=1e-6)
    query = vectors[42]
    assert loaded.search(query, "", 10) == retriever.search(query, "", 10)


def test_a_new_save_switches_current_and_keeps_two_versions(tmp_path: Path, catalogue) -> None:
    programs, vectors = catalogue
    root = tmp_path / "index"
    CandidateRetriever().fit(programs, vectors, "m1").save(root)
    CandidateRetriever().fit(programs, vectors, "m2").save(root)
    last = CandidateRetriever().fit(programs[:30], vectors[:30], "m3").save(root)
    versions = [p for p in (root / "versions").iterdir() if not p.name.startswith(".")]
    assert len(versions) == 2 and last in versions
    loaded = CandidateRetriever.load(root)
    assert loaded.model_id_ == "m3" and len(loaded.programs_) == 30
    assert not list((root / "versions").glob(".tmp-*"))


def test_model_mismatch_is_refused(tmp_path: Path, catalogue) -> None:
    programs, vectors = catalogue
    CandidateRetriever().fit(programs, vectors, "e5@abc").save(tmp_path / "index")
    with pytest.raises(ModelMismatchError, match="e5@abc"):
        CandidateRetriever.load(tmp_path / "index", expected_model_id="e5@other")


def test_corrupt_files_raise_corrupt_artifact(tmp_path: Path, catalogue) -> None:
    programs, vectors = catalogue
    version = CandidateRetriever().fit(programs, vectors, "m1").save(tmp_path / "index")
    with pytest.raises(CorruptArtifactError):
        CandidateRetriever.load(tmp_path / "nothing-here")
    index_file = version / "index.faiss"
    data = index_file.read_bytes()
    index_file.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(CorruptArtifactError):
        CandidateRetriever.load(tmp_path / "index")
    index_file.write_bytes(data)
    assert CandidateRetriever.load(tmp_path / "index").model_id_ == "m1"
    (version / "programs.json").write_text("[]", encoding="utf-8")
    with pytest.raises(CorruptArtifactError):
        CandidateRetriever.load(tmp_path / "index")
    config = json.loads((version / "config.json").read_text())
    config["format_version"] = 99
    (version / "config.json").write_text(json.dumps(config))
    with pytest.raises(CorruptArtifactError):
        CandidateRetriever.load(tmp_path / "index")
    (tmp_path / "index" / "CURRENT").write_text("../../etc")
    with pytest.raises(CorruptArtifactError):
        CandidateRetriever.load(tmp_path / "index")


# ----------------------------------------------------------------- bad input


def test_bad_input_is_refused(catalogue) -> None:
    programs, vectors = catalogue
    with pytest.raises(NotFittedError):
        CandidateRetriever().search(vectors[0], "x")
    with pytest.raises(InvalidInputError):
        CandidateRetriever().fit(programs, vectors[:-1], "m1")
    with pytest.raises(InvalidInputError):
        CandidateRetriever().fit([programs[0], programs[0]], vectors[:2], "m1")
    with pytest.raises(InvalidInputError):
        CandidateRetriever(fusion="magic").fit(programs, vectors, "m1")
    bad = vectors.copy()
    bad[0] = np.nan
    with pytest.raises(InvalidInputError):
        CandidateRetriever().fit(programs, bad, "m1")
    retriever = CandidateRetriever().fit(programs, vectors, "m1")
    with pytest.raises(InvalidInputError):
        retriever.search(np.ones(DIM + 1), "x")
    with pytest.raises(InvalidInputError):
        retriever.search(vectors[0], "x", k=0)
