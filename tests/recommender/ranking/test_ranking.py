from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from recommender.errors import (
    CorruptArtifactError,
    InvalidInputError,
    ModelMismatchError,
    NotFittedError,
)
from recommender.ranking.compose import unsupervised_score
from recommender.ranking.features import FEATURE_NAMES, FeatureBuilder
from recommender.ranking.ranker import FitRanker, ScoreWeights
from tests.recommender._ranking_fixtures import (
    history_matrix,
    make_application,
    make_history,
    make_programs,
    plan_embedding,
    program_vectors,
)


@pytest.fixture(scope="module")
def data():
    X, labels = history_matrix(make_history(n_rounds=6, per_round=40))
    train = labels["round"] != "r6"
    return X, labels, train


@pytest.fixture(scope="module")
def fitted(data):
    X, y, train = data
    return FitRanker(estimator="hgb", max_iter=100).fit(
        X[train], y["residency"][train], y["funding"][train], y["amount"][train],
        groups=y["group"][train], embedding_model_id="fake-model", data_fingerprint="abc",
    )


def test_predictions_are_probabilities_and_learn_the_signal(data, fitted) -> None:
    X, y, train = data
    out = fitted.predict(X[~train])
    for arr in (out.p_residency, out.p_funding, out.score):
        assert arr.shape == ((~train).sum(),) and (arr >= 0).all() and (arr <= 1).all()
    assert (out.expected_funding >= 0).all()
    np.testing.assert_allclose(out.expected_funding, out.p_funding * out.amount_if_funded)
    assert roc_auc_score(y["residency"][~train], out.p_residency) > 0.75
    assert roc_auc_score(y["funding"][~train], out.p_funding) > 0.75
    np.testing.assert_allclose(out.score, 0.5 * out.p_residency + 0.5 * out.p_funding)


def test_weights_are_configuration(data, fitted) -> None:
    X, _, _ = data
    funding_only = fitted.with_weights({"residency": 0, "funding": 1})
    out = funding_only.predict(X[:20])
    np.testing.assert_allclose(out.score, out.p_funding)
    assert fitted.predict(X[:20]).score.tolist() != out.score.tolist()
    with pytest.raises(InvalidInputError):
        ScoreWeights(residency=-1)
    with pytest.raises(InvalidInputError):
        ScoreWeights.from_dict({"speed": 1.0})


def test_auto_selects_by_validation_and_logistic_works(data) -> None:
    X, y, train = data
    ranker = FitRanker(estimator="auto", calibration="sigmoid", max_iter=50).fit(
        X[train], y["residency"][train], y["funding"][train], y["amount"][train],
        groups=y["group"][train],
    )
    assert set(ranker.selection_) == {"residency", "funding"}
    for target in ("residency", "funding"):
        losses = ranker.selection_[target]
        assert ranker.chosen_[target] == min(losses, key=losses.get)
    assert ranker.predict(X[~train]).p_funding.shape == ((~train).sum(),)


def test_one_class_targets_and_no_funded_pairs() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, len(FEATURE_NAMES)))
    zeros = np.zeros(40)
    ranker = FitRanker().fit(X, zeros, zeros, zeros)
    out = ranker.predict(X)
    assert (out.p_residency == 0).all() and (out.expected_funding == 0).all()
    assert ranker.chosen_ == {"residency": "constant", "funding": "constant",
                              "amount": "constant"}


def test_bad_input_and_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        FitRanker().predict(np.zeros((1, len(FEATURE_NAMES))))
    with pytest.raises(InvalidInputError):
        FitRanker(estimator="forest").fit(np.zeros((4, len(FEATURE_NAMES))), *[np.zeros(4)] * 3)
    with pytest.raises(InvalidInputError):
        FitRanker().fit(np.zeros((4, 3)), *[np.zeros(4)] * 3)


def test_save_load_round_trip_and_errors(tmp_path, data, fitted) -> None:
    X, _, _ = data
    folder = fitted.save(tmp_path / "ranker")
    loaded = FitRanker.load(folder, expected_model_id="fake-model")
    a, b = fitted.predict(X[:50]), loaded.predict(X[:50])
    np.testing.assert_allclose(a.score, b.score)
    np.testing.assert_allclose(a.expected_funding, b.expected_funding)
    assert loaded.data_fingerprint_ == "abc" and loaded.weights_ == fitted.weights_
    with pytest.raises(ModelMismatchError, match="embedding model"):
        FitRanker.load(folder, expected_model_id="other-model")
    with pytest.raises(ModelMismatchError, match="feature list"):
        FitRanker.load(folder, expected_feature_names=FEATURE_NAMES[:-1])
    (folder / "ranker.joblib").write_bytes(b"not a pickle")
    with pytest.raises(CorruptArtifactError):
        FitRanker.load(folder)
    with pytest.raises(CorruptArtifactError):
        FitRanker.load(tmp_path / "nothing-here")


def test_config_json_records_provenance(tmp_path, fitted) -> None:
    folder = fitted.save(tmp_path / "r")
    config = json.loads((folder / "ranker.json").read_text(encoding="utf-8"))
    assert config["feature_names"] == FEATURE_NAMES
    assert config["embedding_model_id"] == "fake-model"
    assert config["params"]["weights"] == {"residency": 0.5, "funding": 0.5, "coverage": 0.0}
    config["feature_names"] = ["x"]
    (folder / "ranker.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelMismatchError):
        FitRanker.load(folder)


def test_unsupervised_score_prefers_fitting_eligible_programs() -> None:
    programs = make_programs()
    builder = FeatureBuilder().fit(programs, program_vectors(programs))
    rng = np.random.default_rng(2)
    app = make_application(1, "fintech", knowledge_based=False)
    X = builder.transform([app], [plan_embedding("fintech", rng, noise=0.2)])
    score = unsupervised_score(X)
    assert score.shape == (len(programs),) and (score >= 0).all() and (score <= 1).all()
    ids = [p.id for p in programs]
    # the fintech accelerator in Tehran beats the agritech incubator and the inactive one
    assert score[ids.index("p1")] > score[ids.index("p2")]
    assert score[ids.index("p1")] > score[ids.index("p7")]
    assert ids[int(np.argmax(score))] == "p1"
    with pytest.raises(InvalidInputError):
        unsupervised_score(X[:, :5])


def _sklearn_outputs(ranker: FitRanker, X: np.ndarray) -> tuple[np.ndarray, ...]:
    """What the fitted scikit-learn models themselves predict for X."""
    return (
        ranker.residency_model_.predict_proba(X)[:, 1],
        ranker.funding_model_.predict_proba(X)[:, 1],
        np.maximum(np.expm1(ranker.amount_model_.predict(X)), 0.0),
    )


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid", "none"])
def test_compiled_trees_equal_scikit_learn_predictions(data, calibration) -> None:
    # The ranker sums its flattened trees in one compiled call instead of scikit-learn's
    # tree-by-tree predict; the outputs must be the same numbers (same summation order).
    X, y, train = data
    ranker = FitRanker(estimator="hgb", calibration=calibration, max_iter=60).fit(
        X[train], y["residency"][train], y["funding"][train], y["amount"][train],
        groups=y["group"][train],
    )
    rows = np.vstack([X, X[:5] * 3.0, np.full((1, X.shape[1]), -1e6)])  # beyond the thresholds
    out = ranker.predict(rows)
    assert ranker.compiled_ is not None and ranker.compiled_.n_compiled == 3
    p_res, p_fund, amount = _sklearn_outputs(ranker, rows)
    np.testing.assert_allclose(out.p_residency, p_res, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.p_funding, p_fund, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.amount_if_funded, amount, rtol=1e-12, atol=1e-6)


def test_compiled_trees_after_load_and_for_logistic_models(tmp_path, data, fitted) -> None:
    X, y, train = data
    loaded = FitRanker.load(fitted.save(tmp_path / "r"))
    assert loaded.compiled_ is None  # derived from the saved models, never stored
    np.testing.assert_array_equal(loaded.predict(X).score, fitted.predict(X).score)
    logistic = FitRanker(estimator="logistic", max_iter=30).fit(
        X[train], y["residency"][train], y["funding"][train], y["amount"][train],
        groups=y["group"][train],
    )
    out = logistic.predict(X[:40])
    assert logistic.compiled_.n_compiled == 1  # only the amount regressor is a boosted model
    p_res, p_fund, amount = _sklearn_outputs(logistic, X[:40])
    # scikit-learn's own predict_proba for the logistic models (BLAS rounding may move the
    # isotonic step by a hair between two calls)
    np.testing.assert_allclose(out.p_residency, p_res, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.p_funding, p_fund, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.amount_if_funded, amount, rtol=1e-12, atol=1e-6)


def _assert_same_outputs(a, b, atol: float = 0.0) -> None:
    for name in ("p_residency", "p_funding", "expected_funding", "score", "amount_if_funded"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=atol,
                                   err_msg=name)


@pytest.mark.parametrize("estimator", ["hgb", "logistic"])
def test_replaced_rows_equal_the_full_prediction_of_every_replacement(data, estimator) -> None:
    # The explanation's rows (each shown row once per feature, that feature set to the
    # training mean) are scored by re-walking only the trees whose path tests the replaced
    # feature; the values must be exactly those of scoring every replacement row in full,
    # compiled or by scikit-learn, so the contributions and their order are unchanged.
    from recommender.ranking._forest import replacement_rows

    X, y, train = data
    ranker = FitRanker(estimator=estimator, max_iter=60).fit(
        X[train], y["residency"][train], y["funding"][train], y["amount"][train],
        groups=y["group"][train],
    )
    rows = np.vstack([X[~train][:10], X[:3] * 3.0])
    baseline = ranker.feature_means_
    fast = ranker.predict_replaced(rows, baseline)
    # bit for bit with boosted models; the logistic ones are scikit-learn's predict_proba on
    # both sides (BLAS rounding may move it by a hair between two calls)
    tolerance = 0.0 if estimator == "hgb" else 1e-6
    _assert_same_outputs(fast, ranker.predict(replacement_rows(rows, baseline)), tolerance)
    assert len(fast.score) == len(rows) * X.shape[1]
    # and the scikit-learn models' own predictions of the full replacement rows
    p_res, p_fund, amount = _sklearn_outputs(ranker, replacement_rows(rows, baseline))
    np.testing.assert_allclose(fast.p_residency, p_res, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fast.p_funding, p_fund, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fast.amount_if_funded, amount, rtol=1e-12, atol=1e-6)
    # a row already at the baseline: every replacement is the row itself
    same = ranker.predict_replaced(baseline[None, :], baseline)
    np.testing.assert_allclose(same.score, np.full(X.shape[1], same.score[0]), atol=tolerance)


def test_replaced_rows_without_compiled_trees_and_bad_input(data, fitted, monkeypatch) -> None:
    from recommender.ranking._forest import replacement_rows

    X, _, _ = data
    rows, baseline = X[:4], fitted.feature_means_
    compiled = fitted.predict_replaced(rows, baseline)
    monkeypatch.setenv("PEYVAND_RANKER_COMPILED", "0")
    _assert_same_outputs(
        fitted.predict_replaced(rows, baseline), fitted.predict(replacement_rows(rows, baseline))
    )
    np.testing.assert_allclose(fitted.predict_replaced(rows, baseline).score, compiled.score,
                               rtol=0, atol=1e-12)
    with pytest.raises(InvalidInputError):
        fitted.predict_replaced(rows[:, :5], baseline)
    with pytest.raises(InvalidInputError):
        fitted.predict_replaced(rows, baseline[:5])
    bad = rows.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInputError):
        fitted.predict_replaced(bad, baseline)
    assert len(fitted.predict_replaced(rows[:0], baseline).score) == 0
