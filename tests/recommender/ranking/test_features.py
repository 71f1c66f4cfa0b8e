from __future__ import annotations

import numpy as np
import pytest

from recommender.eligibility import eligibility
from recommender.errors import InvalidInputError, NotFittedError
from recommender.ranking.features import (
    FEATURE_NAMES,
    FEATURES,
    FeatureBuilder,
    all_pairs,
    feature_table_markdown,
)
from tests.recommender._ranking_fixtures import (
    FakeDocumentEmbedding,
    make_application,
    make_programs,
    plan_embedding,
    program_vectors,
)


def col(name: str) -> int:
    return FEATURE_NAMES.index(name)


@pytest.fixture()
def setup():
    programs = make_programs()
    vectors = program_vectors(programs)
    builder = FeatureBuilder().fit(programs, vectors, program_load={"p1": 4.0, "p2": 2.0})
    rng = np.random.default_rng(3)
    apps = [
        make_application(1, "fintech"),
        make_application(2, "agritech", sectors=[], stage="idea", province="اصفهان",
                         city="اصفهان", funding_ask=0, needs_residency=False),
        make_application(3, "health", stage="growth", knowledge_based=True,
                         funding_ask=20_000_000_000, city="كرج"),
    ]
    plans = [plan_embedding(s, rng, n_chunks=n) for s, n in
             [("fintech", 5), ("agritech", 1), ("health", 3)]]
    lexical = rng.uniform(0, 5, size=(len(apps), len(programs))).astype(np.float32)
    lexical[1] = 0.0
    return programs, vectors, builder, apps, plans, lexical


def test_feature_table_is_complete_and_unique() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURES)
    assert all(spec.label_fa and spec.meaning and spec.group for spec in FEATURES)
    table = feature_table_markdown()
    assert all(f"`{name}`" in table for name in FEATURE_NAMES)


def test_shape_and_pairs_subset_match_full(setup) -> None:
    programs, _, builder, apps, plans, lexical = setup
    full = builder.transform(apps, plans, lexical)
    assert full.shape == (len(apps) * len(programs), len(FEATURES))
    assert full.dtype == np.float32 and np.isfinite(full).all()
    pairs = np.array([[2, 3], [0, 0], [1, 6]])
    sub = builder.transform(apps, plans, lexical, pairs=pairs)
    rows = pairs[:, 0] * len(programs) + pairs[:, 1]
    np.testing.assert_allclose(sub, full[rows], rtol=1e-6)
    np.testing.assert_array_equal(all_pairs(2, 3)[4], [1, 1])


def test_semantic_features_against_brute_force(setup) -> None:
    programs, vectors, builder, apps, plans, lexical = setup
    X = builder.transform(apps, plans, lexical).reshape(len(apps), len(programs), -1)
    pv = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for i, plan in enumerate(plans):
        sims = plan.chunks @ pv.T  # (n_chunks, n_prog)
        np.testing.assert_allclose(X[i, :, col("sem_pooled")], pv @ plan.pooled, atol=1e-5)
        np.testing.assert_allclose(X[i, :, col("sem_best_chunk")], sims.max(0), atol=1e-5)
        top3 = np.sort(sims, axis=0)[-3:].mean(0)
        np.testing.assert_allclose(X[i, :, col("sem_top3_mean")], top3, atol=1e-5)
        z = X[i, :, col("sem_pooled_z")]
        assert abs(z.mean()) < 1e-4 and abs(z.std() - 1) < 1e-3


def test_lexical_is_normalized_per_application(setup) -> None:
    programs, _, builder, apps, plans, lexical = setup
    X = builder.transform(apps, plans, lexical).reshape(len(apps), len(programs), -1)
    lex = X[:, :, col("lex_bm25_norm")]
    assert lex[0].max() == pytest.approx(1.0) and lex[2].max() == pytest.approx(1.0)
    assert (lex[1] == 0).all()  # no lexical evidence: zeros, not NaN
    np.testing.assert_allclose(X[0, :, col("lex_bm25_log")], np.log1p(lexical[0]), rtol=1e-5)
    none = builder.transform(apps, plans, None)
    assert (none[:, col("lex_bm25_norm")] == 0).all()


def test_rule_features_by_hand(setup) -> None:
    programs, _, builder, apps, plans, lexical = setup
    X = builder.transform(apps, plans, lexical).reshape(len(apps), len(programs), -1)
    ids = [p.id for p in programs]
    a1_p1 = X[0, ids.index("p1")]
    assert a1_p1[col("sector_jaccard")] == 1.0 and a1_p1[col("sector_any")] == 1.0
    assert a1_p1[col("same_city")] == 1.0 and a1_p1[col("same_province")] == 1.0
    assert a1_p1[col("stage_match")] == 1.0 and a1_p1[col("stage_distance")] == 0.0
    assert a1_p1[col("funding_inside")] == 1.0
    assert a1_p1[col("funding_ratio_max")] == pytest.approx(0.4)
    assert a1_p1[col("funding_log_distance")] == 0.0
    assert a1_p1[col("program_load")] == 4.0 and a1_p1[col("program_load_known")] == 1.0
    assert a1_p1[col("kind_accelerator")] == 1.0
    a1_p5 = X[0, ids.index("p5")]  # fintech+health grant: jaccard 1/2; ask 2e9 > max 1e9
    assert a1_p5[col("sector_jaccard")] == pytest.approx(0.5)
    assert a1_p5[col("funding_log_distance")] == pytest.approx(np.log10(2.0), abs=1e-6)
    assert a1_p5[col("residency_unmet")] == 1.0
    assert a1_p5[col("program_load")] == 3.0  # median of known loads
    a1_p2 = X[0, ids.index("p2")]  # no funding at all, money asked
    assert a1_p2[col("program_funds")] == 0.0 and a1_p2[col("funding_log_distance")] == 3.0
    a3_p3 = X[2, ids.index("p3")]  # knowledge-based held, 2e10 within [1e10, 5e10]
    assert a3_p3[col("kb_required")] == 1.0 and a3_p3[col("kb_ok")] == 1.0
    assert a3_p3[col("funding_inside")] == 1.0 and a3_p3[col("same_city")] == 0.0
    a3_p4 = X[2, ids.index("p4")]  # growth vs all stages: default accepts every stage
    assert a3_p4[col("stage_match")] == 1.0
    a1_p7 = X[0, ids.index("p7")]  # inactive
    assert a1_p7[col("program_active")] == 0.0 and a1_p7[col("eligible")] == 0.0
    a2_p6 = X[1, ids.index("p6")]  # remote not accepted, other province
    assert a2_p6[col("place_ok")] == 0.0 and a2_p6[col("funding_log_distance")] == 0.0
    kinds = X[:, :, [col(n) for n in FEATURE_NAMES if n.startswith("kind_")]]
    assert (kinds.sum(axis=2) == 1).all()


def test_undeclared_sectors_are_inferred_from_the_plan(setup) -> None:
    programs, _, builder, apps, plans, lexical = setup
    X = builder.transform(apps, plans, lexical).reshape(len(apps), len(programs), -1)
    ids = [p.id for p in programs]
    assert X[1, 0, col("sectors_declared")] == 0.0
    # application 2's plan is agritech: the agritech incubator shares an inferred sector
    assert X[1, ids.index("p2"), col("sector_any")] == 1.0
    assert X[1, :, col("sector_any")].sum() < len(programs)


def test_stage_distance_counts_steps() -> None:
    programs = make_programs()
    builder = FeatureBuilder().fit(programs, program_vectors(programs))
    app = make_application(9, "fintech", stage="growth")
    plan = plan_embedding("fintech", np.random.default_rng(0))
    X = builder.transform([app], [plan])
    p7 = [p.id for p in programs].index("p7")  # accepts mvp only: growth is 2 steps away
    assert X[p7, col("stage_match")] == 0.0
    assert X[p7, col("stage_distance")] == pytest.approx(2 / 3)


def test_eligibility_rules_and_vectorized_flag_agree(setup) -> None:
    programs, _, builder, apps, plans, lexical = setup
    p = {x.id: x for x in programs}
    assert "فعال" in eligibility(apps[0], p["p7"])
    assert "دانش‌بنیان" in eligibility(apps[0], p["p3"])
    assert eligibility(apps[2], p["p3"]) is None
    picky = p["p1"].model_copy(update={"stages": ["idea"]})
    assert "مرحله" in eligibility(apps[0], picky)
    no_seats_no_money = p["p2"].model_copy(update={"residency_seats": 0})
    assert eligibility(apps[0], no_seats_no_money) is not None
    assert eligibility(apps[0], p["p5"]) is None
    assert "ظرفیت" in eligibility(apps[0], p["p5"], residency_only=True)
    X = builder.transform(apps, plans, lexical).reshape(len(apps), len(programs), -1)
    for i, app in enumerate(apps):
        for j, prog in enumerate(programs):
            assert X[i, j, col("eligible")] == float(eligibility(app, prog) is None)


def test_errors() -> None:
    programs = make_programs()
    with pytest.raises(NotFittedError):
        FeatureBuilder().transform([], [])
    with pytest.raises(InvalidInputError):
        FeatureBuilder().fit(programs, np.zeros((2, 4)))
    builder = FeatureBuilder().fit(programs, program_vectors(programs))
    app = make_application(1, "fintech")
    plan = plan_embedding("fintech", np.random.default_rng(0))
    with pytest.raises(InvalidInputError):
        builder.transform([app], [plan, plan])
    with pytest.raises(InvalidInputError):
        builder.transform([app], [plan], lexical=np.zeros((1, 2)))
    with pytest.raises(InvalidInputError):
        builder.transform([app], [plan], pairs=np.array([[0, 99]]))
    wrong_dim = FakeDocumentEmbedding(chunks=np.ones((1, 3)), pooled=np.ones(3))
    with pytest.raises(InvalidInputError):
        builder.transform([app], [wrong_dim])


def test_many_pairs_are_vectorized() -> None:
    programs = make_programs()
    builder = FeatureBuilder().fit(programs, program_vectors(programs))
    rng = np.random.default_rng(1)
    apps = [make_application(i, "health") for i in range(300)]
    plans = [plan_embedding("health", rng, n_chunks=4) for _ in apps]
    X = builder.transform(apps, plans, rng.uniform(size=(300, len(programs))))
    assert X.shape == (300 * len(programs), len(FEATURES))
