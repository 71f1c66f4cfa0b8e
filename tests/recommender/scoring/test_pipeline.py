"""The Recommender facade on a tiny Persian catalogue with a fake (bag-of-words) embedder."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from recommender.errors import EmptyTextError, InvalidInputError, ModelMismatchError
from recommender.ranking.features import FEATURE_NAMES, FeatureBuilder
from recommender.retrieval.filters import ProgramFilter
from recommender.retrieval.hybrid import CandidateRetriever
from recommender.scoring.explain import Explainer
from recommender.scoring.index import build_retriever, program_passage_text
from recommender.scoring.pipeline import NOTE_UNSUPERVISED, Recommender
from tests.recommender._pipeline_fakes import (
    PLAN_AGRI,
    PLAN_FINTECH,
    FakeEmbedder,
    linear_fallback,
    make_application,
    make_programs,
)

SECTOR_LABELS = {"fintech": "فین‌تک", "agritech": "کشاورزی هوشمند", "health": "سلامت",
                 "edtech": "آموزش"}


class LinearRanker:
    """A fitted-ranker stand-in: score = X @ w, probabilities from a logistic of it."""

    def __init__(self, weights: np.ndarray, feature_names: list[str] | None = None) -> None:
        self.w = weights
        self.feature_names_ = feature_names or list(FEATURE_NAMES)
        self.calls = 0

    def predict(self, X: np.ndarray) -> SimpleNamespace:
        self.calls += 1
        score = np.asarray(X, dtype=np.float64) @ self.w
        p = 1 / (1 + np.exp(-score))
        return SimpleNamespace(score=score, p_residency=p, p_funding=p / 2,
                               expected_funding=p * 1e9)


def _parts(embedder=None, programs=None):
    embedder = embedder or FakeEmbedder()
    programs = programs or make_programs()
    retriever = build_retriever(programs, embedder, sector_labels=SECTOR_LABELS)
    builder = FeatureBuilder().fit(retriever.programs_, retriever.vectors_)
    return embedder, retriever, builder


def _recommender(ranker=None, **kw) -> Recommender:
    embedder, retriever, builder = _parts()
    return Recommender(embedder, retriever, builder, ranker, fallback=linear_fallback,
                       explainer=Explainer(sector_labels=SECTOR_LABELS), **kw)


def test_text_query_ranks_the_matching_sector_first_with_reasons_and_a_note():
    rec = _recommender(top=3)
    out = rec.recommend(text=PLAN_FINTECH)
    assert len(out.items) == 3
    assert out.items[0].program_id in {"fin-teh", "fin-isf", "grant-tech"}
    assert [i.rank for i in out.items] == [1, 2, 3]
    scores = [i.score for i in out.items]
    assert scores == sorted(scores, reverse=True)
    assert out.ranker == "unsupervised" and NOTE_UNSUPERVISED in out.notes
    first = out.items[0]
    assert first.p_residency is None and first.p_funding is None
    assert 1 <= len(first.reasons) <= 3
    assert "«" in first.reasons[0]  # quotes the plan
    assert first.factors and all(isinstance(v, float) for v in first.factors.values())
    assert "old-acc" not in {i.program_id for i in out.items}  # inactive


def test_exactly_one_of_text_or_application():
    rec = _recommender()
    with pytest.raises(InvalidInputError):
        rec.recommend()
    with pytest.raises(InvalidInputError):
        rec.recommend(text="متن", application=make_application())
    with pytest.raises(InvalidInputError):
        rec.recommend(text=PLAN_FINTECH, top=0)


@pytest.mark.parametrize("text", ["", "   \n\t ", "؟!... ،؛ «»", "\u200c\u200c"])
def test_empty_text_is_a_plain_error(text):
    rec = _recommender()
    with pytest.raises(EmptyTextError) as info:
        rec.recommend(text=text)
    assert "empty" in str(info.value)


def test_error_messages_never_contain_the_plan():
    rec = _recommender()
    with pytest.raises(InvalidInputError) as info:
        rec.recommend(text="طرح محرمانه " * 6000)
    assert "محرمانه" not in str(info.value)


def test_application_hard_eligibility_excludes_with_a_reason():
    rec = _recommender(top=10)
    app = make_application(stage="idea", knowledge_based=False)
    out = rec.recommend(application=app)
    ids = {i.program_id for i in out.items}
    # health-vc requires a knowledge-based company; fin-teh does not take "idea" teams
    assert "health-vc" not in ids and "fin-teh" not in ids
    reasons = {e.program_id: e.reason for e in out.excluded}
    assert "دانش‌بنیان" in reasons["health-vc"]
    assert "ایده" in reasons["fin-teh"]
    assert ids  # others remain


def test_eligibility_widens_the_search_to_fill_top():
    rec = _recommender(candidates=1, top=3)
    app = make_application(stage="idea")
    out = rec.recommend(application=app, top=3)
    assert len(out.items) == 3


def test_filter_that_nothing_passes_gives_an_empty_list_with_a_reason():
    rec = _recommender()
    out = rec.recommend(text=PLAN_FINTECH, filters=ProgramFilter(provinces=["کرمان"]))
    assert out.items == []
    assert out.empty_reason and "استان" in out.empty_reason


def test_all_ineligible_gives_an_empty_list_with_a_reason():
    rec = _recommender()
    app = make_application(stage="growth", knowledge_based=False)
    flt = ProgramFilter(program_ids=["health-vc", "fin-teh"])
    out = rec.recommend(application=app, filters=flt)
    assert out.items == [] and out.empty_reason
    assert {e.program_id for e in out.excluded} == {"health-vc", "fin-teh"}


def test_filters_restrict_candidates():
    rec = _recommender()
    out = rec.recommend(text=PLAN_FINTECH, filters=ProgramFilter(kinds=["incubator"]))
    assert [i.program_id for i in out.items] == ["agri-isf"]


def test_plan_is_prepared_once_and_answers_repeat():
    rec = _recommender()
    app = make_application()
    first = rec.recommend(application=app)
    calls = rec.embedder.calls
    second = rec.recommend(application=app)
    assert rec.embedder.calls == calls
    assert [i.to_dict() for i in first.items] == [i.to_dict() for i in second.items]


def test_search_reuses_the_prepared_lexical_scores(monkeypatch):
    rec = _recommender()
    rec.recommend(text=PLAN_AGRI)
    inner = rec.retriever.lexical_._inner

    def boom(*_a, **_k):
        raise AssertionError("BM25 scored the plan again")

    monkeypatch.setattr(inner, "scores", boom)
    monkeypatch.setattr(inner, "scores_for_tokens", boom)
    out = rec.recommend(text=PLAN_AGRI)
    assert out.items[0].program_id in {"agri-isf", "park-mhd"}


def test_trained_ranker_gives_probabilities_and_exact_linear_contributions():
    rng = np.random.default_rng(0)
    w = rng.normal(size=len(FEATURE_NAMES))
    ranker = LinearRanker(w)
    ranker.feature_means_ = np.full(len(FEATURE_NAMES), 0.25)
    rec = _recommender(ranker=ranker, ranker_version="v3", top=4)
    app = make_application()
    out = rec.recommend(application=app)
    assert out.ranker == "model" and out.model_version == "v3" and not out.notes
    item = out.items[0]
    assert 0 < item.p_residency < 1 and item.expected_funding > 0
    # reference: the features of that pair, contribution = w_j * (x_j - 0.25)
    plan = rec.prepare(app.business_plan)
    pos = rec.retriever.program_ids_.index(item.program_id)
    X = rec.feature_builder.transform([app], [plan.embedding], plan.lexical[None, :],
                                      pairs=np.array([[0, pos]]))
    expected = w * (X[0] - 0.25)
    for name, value in item.factors.items():
        assert value == pytest.approx(expected[FEATURE_NAMES.index(name)], abs=1e-3)
    assert item.score == pytest.approx(float(X[0] @ w), rel=1e-4)


def test_mismatched_embedding_model_is_refused():
    embedder, retriever, builder = _parts()
    other = FakeEmbedder(model_id="another-model")
    with pytest.raises(ModelMismatchError, match="index build"):
        Recommender(other, retriever, builder, fallback=linear_fallback)


def test_ranker_with_another_feature_list_is_refused():
    embedder, retriever, builder = _parts()
    ranker = LinearRanker(np.zeros(3), feature_names=["a", "b", "c"])
    with pytest.raises(ModelMismatchError, match="train"):
        Recommender(embedder, retriever, builder, ranker, fallback=linear_fallback)


def test_free_text_gets_the_benefit_of_the_doubt_on_stage():
    rec = _recommender(top=10)
    out = rec.recommend(text=PLAN_FINTECH)
    # without a stated stage, programs that do not take "idea" teams still appear
    assert "fin-teh" in {i.program_id for i in out.items}
    staged = rec.recommend(text=PLAN_FINTECH, filters=ProgramFilter(stage="idea"))
    assert "fin-teh" not in {i.program_id for i in staged.items}


def test_filters_stand_in_for_facts_in_reasons():
    rec = _recommender(top=7)
    flt = ProgramFilter(provinces=["اصفهان"], stage="mvp", funding_ask=2_000_000_000)
    out = rec.recommend(text=PLAN_FINTECH, filters=flt)
    assert out.items and out.items[0].program_id == "fin-isf"
    text = " ".join(out.items[0].reasons)
    assert "اصفهان" in text and "محصول اولیه" in text


def test_saved_and_loaded_index_answers_the_same(tmp_path):
    embedder, retriever, builder = _parts()
    retriever.save(tmp_path / "index")
    loaded = CandidateRetriever.load(tmp_path / "index", expected_model_id=embedder.model_id_)
    builder2 = FeatureBuilder().fit(loaded.programs_, loaded.vectors_)
    a = Recommender(embedder, retriever, builder, fallback=linear_fallback)
    b = Recommender(embedder, loaded, builder2, fallback=linear_fallback)
    ids_a = [i.program_id for i in a.recommend(text=PLAN_AGRI).items]
    ids_b = [i.program_id for i in b.recommend(text=PLAN_AGRI).items]
    assert ids_a == ids_b


def test_current_program_records_replace_the_index_copies():
    embedder, retriever, builder = _parts()
    programs = make_programs()
    programs[1] = programs[1].model_copy(update={"name": "نام تازه"})
    rec = Recommender(embedder, retriever, builder, programs=programs, fallback=linear_fallback)
    out = rec.recommend(text=PLAN_FINTECH, top=10)
    names = {i.program_id: i.name for i in out.items}
    assert names["fin-isf"] == "نام تازه"


def test_program_passage_text_has_name_description_and_sector_names():
    program = make_programs()[0]
    text = program_passage_text(program, SECTOR_LABELS)
    assert "پرداخت نوین" in text and "فین‌تک" in text and "کیف پول" in text


def test_to_dict_is_json_ready():
    import json

    rec = _recommender(top=2)
    out = rec.recommend(text=PLAN_FINTECH)
    payload = json.loads(json.dumps(out.to_dict(), ensure_ascii=False))
    item = payload["items"][0]
    for key in ("program_id", "name", "score", "p_residency", "p_funding",
                "expected_funding", "reasons", "factors"):
        assert key in item


def test_a_program_deactivated_since_indexing_is_not_recommended():
    embedder, retriever, builder = _parts()
    programs = make_programs()
    programs[0] = programs[0].model_copy(update={"active": False})  # fin-teh
    rec = Recommender(embedder, retriever, builder, programs=programs, fallback=linear_fallback)
    out = rec.recommend(text=PLAN_FINTECH, top=10)
    assert "fin-teh" not in {i.program_id for i in out.items}
    assert "fin-isf" in {i.program_id for i in out.items}


def test_constructing_a_recommender_caps_blas_threads():
    from threadpoolctl import threadpool_info

    _recommender()
    assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")


def test_build_retriever_batches_give_the_same_index():
    embedder = FakeEmbedder()
    programs = make_programs()
    one = build_retriever(programs, embedder, sector_labels=SECTOR_LABELS, batch_size=64)
    calls = embedder.calls
    small = build_retriever(programs, embedder, sector_labels=SECTOR_LABELS, batch_size=3)
    assert embedder.calls - calls == len(programs)
    np.testing.assert_allclose(one.vectors_, small.vectors_, atol=1e-6)
    assert one.program_ids_ == small.program_ids_


def test_build_retriever_refuses_an_empty_catalogue():
    with pytest.raises(InvalidInputError, match="no programs"):
        build_retriever([], FakeEmbedder())


def test_repeat_requests_reuse_scored_pairs_and_answer_the_same():
    w = np.random.default_rng(2).normal(size=len(FEATURE_NAMES))
    ranker = LinearRanker(w)
    ranker.feature_means_ = np.zeros(len(FEATURE_NAMES))
    rec = _recommender(ranker=ranker, top=3)
    app = make_application()
    first = rec.recommend(application=app)
    calls = ranker.calls
    again = rec.recommend(application=app)
    assert ranker.calls == calls  # nothing re-scored
    assert [i.to_dict() for i in again.items] == [i.to_dict() for i in first.items]
    # other facts about the applicant: scored afresh, and the answer follows them
    moved = rec.recommend(application=app.model_copy(update={"province": "فارس"}))
    assert ranker.calls > calls
    fresh = _recommender(ranker=ranker, top=3).recommend(
        application=app.model_copy(update={"province": "فارس"}))
    assert [i.to_dict() for i in moved.items] == [i.to_dict() for i in fresh.items]


class FullReplacementRanker:
    """The same fitted ranker without `predict_replaced`: the explanation's rows are scored
    in full by `predict` (the reference path)."""

    def __init__(self, ranker) -> None:
        self._ranker = ranker

    def __getattr__(self, name):
        if name == "predict_replaced":
            raise AttributeError(name)
        return getattr(self._ranker, name)


def test_fit_ranker_explains_with_only_the_changed_trees_and_answers_the_same():
    # A real FitRanker (boosted trees, isotonic calibration): the pipeline scores the shown
    # items' replacement rows by re-walking only the trees a replaced feature can change;
    # the ranking, scores and every factor must be those of scoring the rows in full.
    from recommender.ranking.compose import unsupervised_score
    from recommender.ranking.ranker import FitRanker

    rng = np.random.default_rng(4)
    X = rng.random((1500, len(FEATURE_NAMES)))
    s = unsupervised_score(X)
    ranker = FitRanker(estimator="hgb", max_iter=40).fit(
        X, (rng.random(len(X)) < s).astype(int), (rng.random(len(X)) < s**2).astype(int),
        rng.integers(1, 9, len(X)) * 1e8 * (rng.random(len(X)) < 0.5),
        groups=np.arange(len(X)) // 10,
    )
    app = make_application()
    fast = _recommender(ranker=ranker, top=4).recommend(application=app)
    reference = _recommender(ranker=FullReplacementRanker(ranker), top=4).recommend(
        application=app)
    assert fast.items and any(item.factors for item in fast.items)
    assert [i.to_dict() for i in fast.items] == [i.to_dict() for i in reference.items]


def test_a_learned_sector_reader_reads_the_facts_sectors_and_leaves_the_ranking_alone():
    class OneSector:  # a SectorModel stand-in: sure the plan is about agritech
        def probabilities(self, text: str, normalized: bool = False) -> dict[str, float]:
            return {"agritech": 0.8, "fintech": 0.01, "health": 0.01, "edtech": 0.01}

    plan = "ما یه سامانه برای مدیریت مزرعه و دام داریم و دنبال همکاریم."
    plain = _recommender(top=3).recommend(text=plan)
    learned = _recommender(top=3, sector_model=OneSector()).recommend(text=plan)
    assert plain.facts["sectors"] == {"value": [], "confidence": 0.0}
    assert learned.facts["sectors"] == {"value": ["agritech"], "confidence": 0.8}
    assert [i.program_id for i in learned.items] == [i.program_id for i in plain.items]
