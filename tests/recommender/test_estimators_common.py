"""The estimator contract (`recommender.estimator.PeyvandEstimator`), checked for every
estimator of the project, in the spirit of scikit-learn's `test_common.py`: the constructor
only stores its arguments, get_params/set_params/clone/repr work, `fit` validates and returns
self with its learned state in attributes ending in `_`, and using an estimator before `fit`
raises the project's `NotFittedError`. Small fixtures only (the fake embedding runtime, the
hashing embedder, a few programs), no real model."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from recommender.embedding.encoder import Embedder
from recommender.errors import NotFittedError, PeyvandError
from recommender.estimator import PeyvandEstimator
from recommender.ranking.features import FeatureBuilder
from recommender.ranking.ranker import FitRanker
from recommender.retrieval.hybrid import CandidateRetriever
from recommender.retrieval.lexical import BM25Index
from training.bow_embedder import HashingEmbedder

from ._embedding_fakes import register_fake_model
from ._ranking_fixtures import (
    history_matrix,
    make_history,
    make_programs,
    plan_embedding,
    program_vectors,
)

TEXTS = ["شتاب‌دهنده فناوری مالی در تهران", "مرکز نوآوری کشاورزی هوشمند", "صندوق سرمایه‌گذاری"]


@dataclass
class Data:
    """What the estimators are fitted on."""

    programs: list
    vectors: np.ndarray
    X: np.ndarray
    labels: dict[str, np.ndarray]


@dataclass(frozen=True)
class Case:
    """One estimator: how to build, fit and use it, and arguments that differ from defaults.

    Attributes:
        cls: the estimator class.
        params: constructor arguments that differ from the defaults.
        fit: fits the estimator on `Data`, returning what `fit` returned.
        use: a call that needs the learned state.
        invalid: constructor arguments that `fit` must refuse (but `__init__` must accept).
    """

    cls: type
    params: dict[str, Any]
    fit: Callable[[Any, Data], Any]
    use: Callable[[Any, Data], Any]
    invalid: dict[str, Any] = field(default_factory=dict)


def _fit_ranker(ranker: FitRanker, data: Data) -> FitRanker:
    y = data.labels
    return ranker.fit(data.X, y["residency"], y["funding"], y["amount"], groups=y["group"])


CASES = [
    Case(
        BM25Index,
        {"k1": 1.2, "b": 0.6},
        fit=lambda est, data: est.fit(TEXTS),
        use=lambda est, data: est.scores("فناوری مالی"),
        invalid={"method": "no-such-variant"},
    ),
    Case(
        CandidateRetriever,
        {"fusion": "weighted", "candidate_pool": 20, "adaptive_coefficients": (-1.0, 2.0, 0, 1)},
        fit=lambda est, data: est.fit(data.programs, data.vectors, "m1"),
        use=lambda est, data: est.search(data.vectors[0], "فناوری", k=3),
        invalid={"fusion": "no-such-fusion"},
    ),
    Case(
        FeatureBuilder,
        {"top_chunks": 2, "infer_sectors": 1},
        fit=lambda est, data: est.fit(data.programs, data.vectors),
        use=lambda est, data: est.semantic_matrices(
            [plan_embedding("fintech", np.random.default_rng(0))]
        ),
        invalid={"top_chunks": 0},
    ),
    Case(
        FitRanker,
        {"estimator": "logistic", "calibration": "sigmoid", "cv": 2},
        fit=_fit_ranker,
        use=lambda est, data: est.predict(data.X[:3]),
        invalid={"estimator": "no-such-estimator"},
    ),
    Case(
        Embedder,
        {"model": "fake-model", "batch_size": 4},
        fit=lambda est, data: est.fit(),
        use=lambda est, data: est.embed_queries(TEXTS),
        invalid={"model": "fake-model", "batch_size": 0},
    ),
    Case(
        HashingEmbedder,
        {"dim": 64, "chunk_chars": 200},
        fit=lambda est, data: est.fit(),
        use=lambda est, data: est.embed_queries(TEXTS),
        invalid={"dim": 4},
    ),
]
IDS = [case.cls.__name__ for case in CASES]


@pytest.fixture(scope="module")
def module_data() -> Data:
    programs = make_programs()
    X, labels = history_matrix(make_history(n_rounds=2, per_round=30))
    return Data(programs, program_vectors(programs), X, labels)


@pytest.fixture
def data(module_data: Data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Data:
    """The module's data, with the fake embedding model registered for this test."""
    register_fake_model(tmp_path, monkeypatch)
    return module_data


def _init_names(cls: type) -> list[str]:
    signature = inspect.signature(cls.__init__)
    return [name for name in signature.parameters if name != "self"]


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_init_only_stores_its_arguments_unchanged(case: Case) -> None:
    assert issubclass(case.cls, PeyvandEstimator)
    for name, parameter in inspect.signature(case.cls.__init__).parameters.items():
        if name != "self":
            assert parameter.default is not inspect.Parameter.empty, f"{name} has no default"
            assert parameter.kind is not inspect.Parameter.VAR_KEYWORD
    est = case.cls(**case.params)
    assert sorted(vars(est)) == sorted(_init_names(case.cls))  # nothing else set in __init__
    params = est.get_params()
    assert sorted(params) == sorted(_init_names(case.cls))
    for name, value in case.params.items():
        assert params[name] is value


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_init_does_not_validate_and_fit_does(case: Case, data: Data) -> None:
    est = case.cls(**case.invalid)  # accepted as given
    assert all(est.get_params()[k] is v for k, v in case.invalid.items())
    with pytest.raises(PeyvandError):
        case.fit(est, data)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_set_params_clone_and_repr(case: Case) -> None:
    est = case.cls()
    assert est.set_params(**case.params) is est
    assert all(est.get_params()[k] is v for k, v in case.params.items())
    copy = clone(est)
    assert type(copy) is case.cls and copy is not est
    assert copy.get_params() == est.get_params()
    text = repr(est)
    assert text.startswith(f"{case.cls.__name__}(")
    assert all(f"{name}=" in text for name in case.params)
    assert repr(case.cls()) == f"{case.cls.__name__}()"


# --------------------------------------------------------------------------- fitting


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_use_before_fit_raises_the_projects_not_fitted_error(case: Case, data: Data) -> None:
    est = case.cls(**case.params)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError, match=rf"{case.cls.__name__} is not fitted.*fit"):
        case.use(est, data)
    with pytest.raises(NotFittedError):
        est._check_fitted()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fit_returns_self_sets_underscore_attributes_and_keeps_params(
    case: Case, data: Data
) -> None:
    est = case.cls(**case.params)
    before = dict(vars(est))
    assert case.fit(est, data) is est
    added = set(vars(est)) - set(before)
    public = {name for name in added if not name.startswith("_")}
    assert public and all(name.endswith("_") for name in public), sorted(public)
    for name, value in before.items():
        assert getattr(est, name) is value, f"fit changed the parameter {name}"
    check_is_fitted(est)
    est._check_fitted()
    case.use(est, data)
    # a clone carries the parameters, not the learned state
    with pytest.raises(NotFittedError):
        case.use(clone(est), data)
