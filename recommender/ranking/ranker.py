"""Rankers: how well a program fits an application, from the pair features.

`FitRanker` learns from history (outcomes of past rounds):

- P(residency granted) and P(funding granted): two scikit-learn classifiers
  (`HistGradientBoostingClassifier` "hgb" or scaled `LogisticRegression` "logistic"; "auto"
  picks per target by grouped cross-validated log loss), each calibrated with
  `CalibratedClassifierCV` (isotonic by default) on folds grouped by application, so one
  application's pairs never sit on both sides of a fold;
- the amount if funded: a `HistGradientBoostingRegressor` on log(1 + funded amount) of the
  funded pairs; expected funding = P(funding) x amount if funded.

The fit score combines them with `ScoreWeights` (configuration saved with the model, not code):

    coverage = P(funding) x min(1, amount if funded / funding ask)   (P(funding) when ask = 0)
    score = (w_residency P(residency) + w_funding P(funding) + w_coverage coverage) / sum(w)

The fallback before any model is trained (`unsupervised_score`) and the composition of the
shown score (`compose_scores`) are rules, not learned: `recommender.ranking.compose`.

`predict` evaluates the boosted trees of all three models in one numba-compiled call
(`recommender.ranking._forest`), with the same numbers as scikit-learn's tree-by-tree predict at a
fraction of its per-call cost (PEYVAND_RANKER_COMPILED=0 turns it off).

A saved ranker is a folder: `ranker.joblib` (the fitted scikit-learn models) and
`ranker.json` (constructor arguments, weights, feature names, embedding model id, training
data fingerprint, the joblib file's SHA-256). Only load folders you wrote: joblib unpickles.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from recommender.artifacts import file_sha256
from recommender.constants import SEED
from recommender.errors import (
    CorruptArtifactError,
    InvalidInputError,
    ModelMismatchError,
    NotFittedError,
)
from recommender.estimator import PeyvandEstimator
from recommender.ranking._forest import CompiledModels, compiled_available, replacement_rows
from recommender.ranking.features import FEATURE_NAMES

__all__ = [
    "ESTIMATORS",
    "CALIBRATIONS",
    "FitRanker",
    "RankerOutput",
    "ScoreWeights",
]

ESTIMATORS: tuple[str, ...] = ("hgb", "logistic", "auto")
CALIBRATIONS: tuple[str, ...] = ("isotonic", "sigmoid", "none")

_FORMAT = "peyvand.fit_ranker"
_FORMAT_VERSION = 1
_CONFIG_FILE = "ranker.json"
_MODEL_FILE = "ranker.joblib"
_MIN_FUNDED_FOR_REGRESSOR = 20


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the combined fit score (normalized by their sum; all >= 0, sum > 0)."""

    residency: float = 0.5
    funding: float = 0.5
    coverage: float = 0.0

    def __post_init__(self) -> None:
        values = (self.residency, self.funding, self.coverage)
        if min(values) < 0 or sum(values) <= 0:
            raise InvalidInputError(f"score weights must be >= 0 with a positive sum: {values}")

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> ScoreWeights:
        """Weights from a mapping (unknown keys refused)."""
        unknown = set(data) - {"residency", "funding", "coverage"}
        if unknown:
            raise InvalidInputError(f"unknown score weight(s): {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in data.items()})


@dataclass
class RankerOutput:
    """Predictions for n pairs, each an array (n,).

    Attributes:
        p_residency: calibrated probability that residency is granted.
        p_funding: calibrated probability that funding is granted.
        expected_funding: p_funding x amount if funded, in rial.
        score: the combined fit score in [0, 1] (see `ScoreWeights`).
        amount_if_funded: predicted amount when funded, in rial.
    """

    p_residency: np.ndarray
    p_funding: np.ndarray
    expected_funding: np.ndarray
    score: np.ndarray
    amount_if_funded: np.ndarray = field(default_factory=lambda: np.zeros(0))


# --------------------------------------------------------------------------- models


class ConstantProbability:
    """A 'classifier' for a target with one class in the training data."""

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = np.full(len(X), self.p)
        return np.stack([1.0 - p, p], axis=1)


class ConstantRegressor:
    """A 'regressor' that predicts one value (too few funded pairs to learn from)."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.value)


def _base_classifier(kind: str, random_state: int, max_iter: int = 100) -> Any:
    if kind == "hgb":
        return HistGradientBoostingClassifier(
            learning_rate=0.06, max_iter=max_iter, max_leaf_nodes=15, min_samples_leaf=30,
            l2_regularization=1.0, early_stopping=False, random_state=random_state,
        )
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    raise InvalidInputError(f"unknown estimator '{kind}'; use one of {ESTIMATORS}")


def _folds(y: np.ndarray, groups: np.ndarray, n_splits: int) -> list[tuple[np.ndarray, ...]]:
    n_groups = len(np.unique(groups))
    n_pos = int(y.sum())
    n = min(n_splits, n_groups, n_pos, len(y) - n_pos)
    if n < 2:
        return []
    splits = list(GroupKFold(n_splits=n).split(np.zeros(len(y)), y, groups))
    # calibration needs both classes on each side of every fold
    if all(0 < y[tr].sum() < len(tr) and 0 < y[te].sum() < len(te) for tr, te in splits):
        return splits
    return []


@functools.lru_cache(maxsize=1)
def _threadpool_controller() -> ThreadpoolController:
    """One controller for the process: building one scans every loaded library, which
    cost 7-12 ms per predict call when `threadpool_limits` did it each time."""
    return ThreadpoolController()


class FitRanker(PeyvandEstimator):
    """Calibrated P(residency), P(funding), expected funding and a combined fit score.

    Args:
        estimator: "hgb", "logistic" or "auto" (per target, the lower grouped-CV log loss).
        calibration: "isotonic", "sigmoid" or "none".
        weights: the combined score's `ScoreWeights` (or a dict of them).
        cv: folds for calibration and for "auto" selection (grouped by application).
        random_state: seed of the boosting models.
        max_iter: boosting iterations of the "hgb" models.
        n_threads: OpenMP threads for fitting and predicting (1 by default: boosting with
            all cores on a shared machine oversubscribes it badly; None = library default).

    Attributes:
        residency_model_, funding_model_: fitted calibrated classifiers.
        amount_model_: regressor of log(1 + amount) for funded pairs.
        chosen_: target -> estimator kind used ("hgb" / "logistic" / "constant").
        selection_: target -> {kind: grouped-CV log loss} when estimator="auto".
        feature_names_: the columns X must have.
        embedding_model_id_: embedding model the semantic features came from (or None).
        data_fingerprint_: hash of the training outcomes (or None).
        n_train_: number of training pairs.
        feature_means_: (n_features,) mean of the training rows (the reference point of
            per-feature explanations).
        compiled_: the models' trees flattened for `recommender.ranking._forest`'s compiled
            evaluation (built on the first predict, never saved); False forces
            scikit-learn's own predict (benchmarks compare the two).
    """

    def __init__(
        self,
        estimator: str = "hgb",
        calibration: str = "isotonic",
        weights: ScoreWeights | Mapping[str, float] | None = None,
        cv: int = 3,
        random_state: int = SEED,
        max_iter: int = 100,
        n_threads: int | None = 1,
    ) -> None:
        self.estimator = estimator
        self.calibration = calibration
        self.weights = weights
        self.cv = cv
        self.random_state = random_state
        self.max_iter = max_iter
        self.n_threads = n_threads

    @property
    def score_weights(self) -> ScoreWeights:
        """The weights as a `ScoreWeights`."""
        w = self.weights
        if w is None:
            return ScoreWeights()
        return w if isinstance(w, ScoreWeights) else ScoreWeights.from_dict(w)

    def _config(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator,
            "calibration": self.calibration,
            "weights": asdict(self.score_weights),
            "cv": self.cv,
            "random_state": self.random_state,
            "max_iter": self.max_iter,
            "n_threads": self.n_threads,
        }

    def _threads(self) -> Any:
        if self.n_threads is None:
            return contextlib.nullcontext()
        return _threadpool_controller().limit(limits=self.n_threads, user_api="openmp")

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        X: np.ndarray,
        y_residency: np.ndarray,
        y_funding: np.ndarray,
        funded_amount: np.ndarray,
        *,
        groups: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
        embedding_model_id: str | None = None,
        data_fingerprint: str | None = None,
    ) -> FitRanker:
        """Fit both classifiers (calibrated) and the amount regressor.

        Args:
            X: (n_pairs, n_features) features (`FeatureBuilder.transform`).
            y_residency: (n_pairs,) 1 when residency was granted.
            y_funding: (n_pairs,) 1 when funding was granted (funded amount > 0).
            funded_amount: (n_pairs,) amount funded in rial (0 when none).
            groups: (n_pairs,) application ids, keeping folds apart; default: each row alone.
            feature_names: X's columns (default FEATURE_NAMES).
            embedding_model_id: kept in the saved model (`Embedder.model_id_`).
            data_fingerprint: kept in the saved model (hash of the outcomes).

        Returns:
            self.

        Raises:
            InvalidInputError: on bad shapes, non-finite values or unknown settings.
        """
        if self.estimator not in ESTIMATORS:
            raise InvalidInputError(f"unknown estimator '{self.estimator}'; use {ESTIMATORS}")
        if self.calibration not in CALIBRATIONS:
            raise InvalidInputError(
                f"unknown calibration '{self.calibration}'; use {CALIBRATIONS}"
            )
        if self.cv < 2:
            raise InvalidInputError(f"cv must be >= 2, got {self.cv}")
        weights = self.score_weights
        X = np.asarray(X, dtype=np.float64)
        names = list(feature_names) if feature_names is not None else list(FEATURE_NAMES)
        if X.ndim != 2 or X.shape[1] != len(names) or len(X) == 0:
            raise InvalidInputError(f"X must have shape (n > 0, {len(names)}), got {X.shape}")
        if not np.isfinite(X).all():
            raise InvalidInputError("X contains NaN or infinite values")
        y_res = np.asarray(y_residency).astype(int).ravel()
        y_fund = np.asarray(y_funding).astype(int).ravel()
        amount = np.asarray(funded_amount, dtype=np.float64).ravel()
        if not (len(y_res) == len(y_fund) == len(amount) == len(X)):
            raise InvalidInputError("X, y_residency, y_funding and funded_amount differ in length")
        g = np.arange(len(X)) if groups is None else np.asarray(groups)
        if len(g) != len(X):
            raise InvalidInputError("groups must have one entry per row of X")

        self.chosen_: dict[str, str] = {}
        self.selection_: dict[str, dict[str, float]] = {}
        with self._threads():
            self.residency_model_ = self._fit_target("residency", X, y_res, g)
            self.funding_model_ = self._fit_target("funding", X, y_fund, g)
            funded = amount > 0
            if funded.sum() >= _MIN_FUNDED_FOR_REGRESSOR:
                self.amount_model_: Any = HistGradientBoostingRegressor(
                    learning_rate=0.06, max_iter=self.max_iter, max_leaf_nodes=15,
                    min_samples_leaf=10, random_state=self.random_state,
                ).fit(X[funded], np.log1p(amount[funded]))
                self.chosen_["amount"] = "hgb"
            else:
                value = float(np.log1p(np.median(amount[funded]))) if funded.any() else 0.0
                self.amount_model_ = ConstantRegressor(value)
                self.chosen_["amount"] = "constant"
        self.weights_ = weights
        self.feature_means_ = X.mean(axis=0)
        self.feature_names_ = names
        self.embedding_model_id_ = embedding_model_id
        self.data_fingerprint_ = data_fingerprint
        self.n_train_ = int(len(X))
        self.compiled_: CompiledModels | bool | None = None
        return self

    def _fit_target(self, target: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> Any:
        if y.min() == y.max():
            self.chosen_[target] = "constant"
            return ConstantProbability(float(y[0]))
        folds = _folds(y, groups, self.cv)
        kind = self.estimator
        if kind == "auto":
            kind = self._select(target, X, y, folds)
        self.chosen_[target] = kind
        base = _base_classifier(kind, self.random_state, self.max_iter)
        if self.calibration == "none" or not folds:
            return base.fit(X, y)
        model = CalibratedClassifierCV(base, method=self.calibration, cv=folds, ensemble=False)
        return model.fit(X, y)

    def _select(
        self, target: str, X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, ...]]
    ) -> str:
        if not folds:
            return "logistic"
        losses: dict[str, float] = {}
        for kind in ("hgb", "logistic"):
            pred = np.zeros(len(y))
            for train, test in folds:
                base = _base_classifier(kind, self.random_state, self.max_iter)
                model = clone(base).fit(X[train], y[train])
                pred[test] = model.predict_proba(X[test])[:, 1]
            losses[kind] = float(log_loss(y, np.clip(pred, 1e-6, 1 - 1e-6)))
        self.selection_[target] = losses
        return min(losses, key=losses.__getitem__)

    # ------------------------------------------------------------------ predict

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "residency_model_")
        except Exception as exc:
            raise NotFittedError("FitRanker is not fitted; call fit(...) or load(path)") from exc

    def _compiled(self) -> CompiledModels | None:
        """The fitted models with their trees flattened for one compiled call (built on first
        use, shared by `with_weights` copies). Same values as the scikit-learn models' own
        predict (see `recommender.ranking._forest`). None — scikit-learn's predict — without numba,
        with PEYVAND_RANKER_COMPILED=0, or when `compiled_` was set to False."""
        compiled: object = getattr(self, "compiled_", None)
        if compiled is False or os.environ.get("PEYVAND_RANKER_COMPILED", "1") == "0":
            return None
        if isinstance(compiled, CompiledModels):
            return compiled
        if compiled is None and compiled_available():
            built = CompiledModels(
                [self.residency_model_, self.funding_model_], [self.amount_model_]
            )
            self.compiled_ = built
            return built
        return None

    def predict(self, X: np.ndarray) -> RankerOutput:
        """Probabilities, expected funding and fit score for each pair.

        Args:
            X: (n_pairs, n_features) features, columns `feature_names_`.

        Returns:
            A `RankerOutput` of arrays (n_pairs,).

        Raises:
            NotFittedError: before fit/load.
            InvalidInputError: when X has the wrong number of columns or non-finite values.
        """
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names_):
            raise InvalidInputError(
                f"X must have {len(self.feature_names_)} feature columns, got shape {X.shape}"
            )
        if not np.isfinite(X).all():
            raise InvalidInputError("X contains NaN or infinite values")
        if len(X) == 0:
            empty = np.zeros(0)
            return RankerOutput(empty, empty, empty, empty, empty)
        return self._output(X, None)

    def predict_replaced(self, rows: np.ndarray, baseline: np.ndarray) -> RankerOutput:
        """`predict(replacement_rows(rows, baseline))` (each row once per feature, that feature
        set to `baseline`'s value: the explanation's rows), equal bit for bit, but with compiled
        trees only those whose path for a row tests the replaced feature are walked again.
        Raises NotFittedError before fit/load, InvalidInputError on bad shapes or values."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.float64)
        baseline = np.asarray(baseline, dtype=np.float64).ravel()
        width = len(self.feature_names_)
        if rows.ndim != 2 or rows.shape[1] != width or baseline.shape != (width,):
            raise InvalidInputError(f"rows and baseline must have {width} feature columns, "
                                    f"got shapes {rows.shape} and {baseline.shape}")
        if not (np.isfinite(rows).all() and np.isfinite(baseline).all()):
            raise InvalidInputError("rows or baseline contain NaN or infinite values")
        X = np.asarray(replacement_rows(rows, baseline), dtype=np.float64)
        compiled = self._compiled() if len(X) else None
        if compiled is None:
            return self.predict(X)
        return self._output(X, compiled.raw_replaced(rows, baseline))

    def _output(self, X: np.ndarray, raw: np.ndarray | None) -> RankerOutput:
        """The outputs for the checked, non-empty rows X (`raw`: the compiled trees' sums for
        X when already known)."""
        compiled = self._compiled()
        if compiled is not None:
            (p_res, p_fund), (log_amount,) = compiled.predict(X, raw)
            amount = np.maximum(np.expm1(log_amount), 0.0)
        else:
            with self._threads():
                p_res = self.residency_model_.predict_proba(X)[:, 1]
                p_fund = self.funding_model_.predict_proba(X)[:, 1]
                amount = np.maximum(np.expm1(self.amount_model_.predict(X)), 0.0)
        expected = p_fund * amount
        if "funding_ask_log" in self.feature_names_:
            ask = np.power(10.0, X[:, self.feature_names_.index("funding_ask_log")]) - 1.0
            share = np.divide(amount, ask, out=np.ones_like(amount), where=ask >= 1.0)
            coverage = p_fund * np.minimum(share, 1.0)
        else:
            coverage = p_fund
        w = self.weights_
        score = (w.residency * p_res + w.funding * p_fund + w.coverage * coverage) / (
            w.residency + w.funding + w.coverage
        )
        return RankerOutput(
            p_residency=p_res,
            p_funding=p_fund,
            expected_funding=expected,
            score=np.clip(score, 0.0, 1.0),
            amount_if_funded=amount,
        )

    def with_weights(self, weights: ScoreWeights | Mapping[str, float]) -> FitRanker:
        """The same fitted models with other score weights (no refit)."""
        self._check_fitted()
        other = FitRanker(**{**self._constructor_args(), "weights": weights})
        other.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k.endswith("_") and k != "weights_"}
        )
        other.weights_ = other.score_weights
        return other

    def _constructor_args(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator,
            "calibration": self.calibration,
            "weights": self.weights,
            "cv": self.cv,
            "random_state": self.random_state,
            "max_iter": self.max_iter,
            "n_threads": self.n_threads,
        }

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Write the ranker into the folder `path` (created; files replaced).

        Returns:
            The folder.
        """
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        models = {
            "residency": self.residency_model_,
            "funding": self.funding_model_,
            "amount": self.amount_model_,
            "feature_means": self.feature_means_,
        }
        joblib.dump(models, folder / _MODEL_FILE)
        config = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": self._config(),
            "feature_names": self.feature_names_,
            "embedding_model_id": self.embedding_model_id_,
            "data_fingerprint": self.data_fingerprint_,
            "chosen": self.chosen_,
            "selection": self.selection_,
            "n_train": self.n_train_,
            "sklearn_version": sklearn.__version__,
            "model_sha256": file_sha256(folder / _MODEL_FILE),
        }
        (folder / _CONFIG_FILE).write_text(
            json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        return folder

    @classmethod
    def load(
        cls,
        path: str | Path,
        expected_feature_names: Sequence[str] | None = FEATURE_NAMES,
        expected_model_id: str | None = None,
    ) -> FitRanker:
        """Read a ranker written by `save`.

        Args:
            path: the folder.
            expected_feature_names: the features the caller will give (default
                FEATURE_NAMES; None skips the check).
            expected_model_id: the embedding model in use (None skips the check).

        Returns:
            The fitted ranker.

        Raises:
            CorruptArtifactError: missing, incomplete, altered or unreadable files.
            ModelMismatchError: the model was trained on other features or another
                embedding model.
        """
        folder = Path(path)
        try:
            config = json.loads((folder / _CONFIG_FILE).read_text(encoding="utf-8"))
            if config.get("format") != _FORMAT:
                raise ValueError("not a ranker folder")
            if config.get("format_version") != _FORMAT_VERSION:
                raise ValueError(f"unsupported format version {config.get('format_version')}")
            if file_sha256(folder / _MODEL_FILE) != config["model_sha256"]:
                raise ValueError("the model file does not match its checksum")
            models = joblib.load(folder / _MODEL_FILE)
            params = dict(config["params"])
            params["weights"] = ScoreWeights.from_dict(params["weights"])
            ranker = cls(**params)
            names = [str(n) for n in config["feature_names"]]
            ranker.residency_model_ = models["residency"]
            ranker.funding_model_ = models["funding"]
            ranker.amount_model_ = models["amount"]
            ranker.feature_means_ = np.asarray(models["feature_means"], dtype=np.float64)
        except Exception as exc:  # json, joblib/pickle, KeyError each raise their own kind
            raise CorruptArtifactError(f"cannot read the ranker in {folder}: {exc}") from exc
        if expected_feature_names is not None and list(expected_feature_names) != names:
            missing = [n for n in expected_feature_names if n not in names]
            extra = [n for n in names if n not in expected_feature_names]
            raise ModelMismatchError(
                f"the ranker in {folder} was trained on another feature list "
                f"(missing: {missing or 'none'}, extra: {extra or 'none'}, or another order); "
                "retrain it with `peyvand train`"
            )
        model_id = config.get("embedding_model_id")
        if expected_model_id is not None and model_id and model_id != expected_model_id:
            raise ModelMismatchError(
                f"the ranker was trained with embedding model '{model_id}', "
                f"not '{expected_model_id}'; retrain it with `peyvand train`"
            )
        ranker.weights_ = ranker.score_weights
        ranker.feature_names_ = names
        ranker.embedding_model_id_ = model_id
        ranker.data_fingerprint_ = config.get("data_fingerprint")
        ranker.chosen_ = dict(config.get("chosen", {}))
        ranker.selection_ = dict(config.get("selection", {}))
        ranker.n_train_ = int(config.get("n_train", 0))
        ranker.compiled_ = None
        return ranker
