"""Compiled evaluation of the ranker's fitted models: one call instead of ~300 per request.

scikit-learn's `HistGradientBoosting*` predicts tree by tree from Python (about 20 us of
overhead per tree and call, plus input validation and label checks in the calibrated
wrapper): the ranker's three boosted models of 100 trees cost ~25 ms over the ~430 rows of
one request. `CompiledModels` flattens every tree of every model into a few arrays once
(node feature, threshold, children, leaf value) and sums them in one numba-compiled loop,
in the same order as scikit-learn (baseline, then tree by tree), so the raw predictions
are bit-identical; the calibrators (isotonic / sigmoid) are the fitted scikit-learn objects
themselves. Models it cannot flatten (the "logistic" pipeline, categorical splits, a
constant) keep their scikit-learn `predict_proba` / `predict`.

Nothing here is saved: the flat arrays are derived from the saved models when first needed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit

logger = logging.getLogger(__name__)

__all__ = ["CompiledModels", "compiled_available", "replacement_rows"]

_KERNEL: Any = None
_REPLACED_KERNEL: Any = None
_BLOCK = 16


def _kernel() -> Any:
    """The numba kernel, compiled (or read from numba's cache) on first use."""
    global _KERNEL
    if _KERNEL is None:
        import numba

        @numba.njit(cache=True, nogil=True)
        def forest_sums(X, roots, depth, feature, threshold, child, value, bounds, base, out):
            # out[i, m] = base[m] + the trees bounds[m]:bounds[m + 1] at row i, added in
            # tree order (as scikit-learn does). Each tree is walked `depth[t]` steps from
            # its root without branching: node = child[2 node + (x > threshold)], a leaf
            # being its own child (threshold +inf). _BLOCK rows at a time, all trees for
            # them (their features stay in L1), so the walks of different rows overlap in
            # the CPU instead of waiting on each other.
            n = X.shape[0]
            nodes = np.empty(_BLOCK, dtype=np.int32)
            acc = np.empty(_BLOCK, dtype=np.float64)
            for start in range(0, n, _BLOCK):
                width = min(_BLOCK, n - start)
                for m in range(bounds.shape[0] - 1):
                    for j in range(width):
                        acc[j] = base[m]
                    for t in range(bounds[m], bounds[m + 1]):
                        root = roots[t]
                        for j in range(width):
                            nodes[j] = root
                        for _ in range(depth[t]):
                            for j in range(width):
                                node = nodes[j]
                                right = X[start + j, feature[node]] > threshold[node]
                                nodes[j] = child[2 * node + right]
                        for j in range(width):
                            acc[j] += value[nodes[j]]
                    for j in range(width):
                        out[start + j, m] = acc[j]

        _KERNEL = forest_sums
    return _KERNEL


def _replaced_kernel() -> Any:
    """The numba kernel of replacement rows, compiled (or read from numba's cache) on first use."""
    global _REPLACED_KERNEL
    if _REPLACED_KERNEL is None:
        import numba

        @numba.njit(cache=True, nogil=True)
        def replaced_sums(X, baseline, roots, depth, feature, threshold, child, value, bounds,
                          base, out):
            # out[i * f + j, m] = what `forest_sums` gives for X[i] with x_j := baseline[j].
            # A tree's leaf for that row differs from X[i]'s own leaf only when feature j is
            # tested on X[i]'s path, so each row's paths are walked once; for feature j only
            # the trees whose path tests j are walked again, from the first node testing it.
            # When no leaf changes the sums are X[i]'s own; else the same leaf values are
            # added in the same order as `forest_sums`: the results are bit-identical.
            n, f = X.shape
            n_trees = roots.shape[0]
            n_models = bounds.shape[0] - 1
            leaf = np.empty(n_trees, dtype=np.int64)
            vals = np.empty(n_trees, dtype=np.float64)
            own = np.empty(n_models, dtype=np.float64)
            first = np.full((f, n_trees), -1, dtype=np.int64)  # first node on the path testing j
            path = np.empty((n_trees, depth.max() + 1), dtype=np.int64)
            length = np.zeros(n_trees, dtype=np.int64)
            changed = np.empty(n_trees, dtype=np.int64)
            row = np.empty(f, dtype=np.float64)
            for i in range(n):
                for t in range(n_trees):
                    node = roots[t]
                    k = 0
                    while child[2 * node] != node:
                        if first[feature[node], t] < 0:
                            first[feature[node], t] = node
                        path[t, k] = node
                        k += 1
                        node = child[2 * node + (X[i, feature[node]] > threshold[node])]
                    length[t] = k
                    leaf[t] = node
                    vals[t] = value[node]
                for m in range(n_models):
                    acc = base[m]
                    for t in range(bounds[m], bounds[m + 1]):
                        acc += vals[t]
                    own[m] = acc
                for k in range(f):
                    row[k] = X[i, k]
                for j in range(f):
                    row[j] = baseline[j]
                    n_changed = 0
                    for t in range(n_trees):
                        node = first[j, t]
                        if node < 0:
                            continue
                        while child[2 * node] != node:
                            node = child[2 * node + (row[feature[node]] > threshold[node])]
                        if node != leaf[t]:
                            changed[n_changed] = t
                            n_changed += 1
                            vals[t] = value[node]
                    if n_changed == 0:
                        for m in range(n_models):
                            out[i * f + j, m] = own[m]
                    else:
                        for m in range(n_models):
                            acc = base[m]
                            for t in range(bounds[m], bounds[m + 1]):
                                acc += vals[t]
                            out[i * f + j, m] = acc
                        for c in range(n_changed):
                            vals[changed[c]] = value[leaf[changed[c]]]
                    row[j] = X[i, j]
                for t in range(n_trees):
                    for k in range(length[t]):
                        first[feature[path[t, k]], t] = -1

        _REPLACED_KERNEL = replaced_sums
    return _REPLACED_KERNEL


def replacement_rows(X: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Each row of X once per feature, with that feature set to its baseline value.

    Args:
        X: (n, n_features) the rows to explain.
        baseline: (n_features,) the reference value of each feature.

    Returns:
        (n * n_features, n_features) float32: row i * n_features + j is X[i] with
        x_j := baseline_j.
    """
    X = np.asarray(X, dtype=np.float32)
    n, f = X.shape
    batch = np.repeat(X, f, axis=0).reshape(n, f, f)
    idx = np.arange(f)
    batch[:, idx, idx] = np.asarray(baseline, dtype=np.float32).reshape(f)[idx]
    return batch.reshape(n * f, f)


def compiled_available() -> bool:
    """Whether numba can be imported (else every model keeps its scikit-learn predict)."""
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    return True


def _hgb(model: Any) -> Any | None:
    """The flattenable `HistGradientBoosting*` inside `model` (bare or calibrated), or None."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if isinstance(model, CalibratedClassifierCV):
        if len(model.calibrated_classifiers_) != 1:
            return None
        model = model.calibrated_classifiers_[0].estimator
    if not isinstance(model, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        return None
    if getattr(model, "n_trees_per_iteration_", 1) != 1:
        return None
    if isinstance(model, HistGradientBoostingClassifier) and len(model.classes_) != 2:
        return None
    if isinstance(model, HistGradientBoostingRegressor) and model.loss != "squared_error":
        return None
    if any(p.nodes["is_categorical"].any() for it in model._predictors for p in it):
        return None
    return model


def _calibrate(calibrator: Any, scores: np.ndarray) -> np.ndarray:
    """The calibrator's predict: for a clipping isotonic regression the same linear
    interpolation without scikit-learn's per-call input checks (~0.2 ms a call)."""
    from sklearn.isotonic import IsotonicRegression

    if (
        isinstance(calibrator, IsotonicRegression)
        and calibrator.out_of_bounds == "clip"
        and len(np.unique(calibrator.y_thresholds_)) > 1
    ):
        clipped = np.clip(scores, calibrator.X_min_, calibrator.X_max_)
        return np.interp(clipped, calibrator.X_thresholds_, calibrator.y_thresholds_)
    return np.asarray(calibrator.predict(scores), dtype=np.float64)


class CompiledModels:
    """The ranker's models with their boosted trees evaluated by one compiled loop.

    Args:
        classifiers: fitted binary classifiers (calibrated or not), each giving P(class 1).
        regressors: fitted regressors.

    `predict(X)` returns (probabilities of each classifier, predictions of each regressor),
    equal to `predict_proba(X)[:, 1]` and `predict(X)` of the scikit-learn models.
    """

    def __init__(self, classifiers: Sequence[Any], regressors: Sequence[Any]) -> None:
        self.classifiers = list(classifiers)
        self.regressors = list(regressors)
        models = self.classifiers + self.regressors
        boosted = [_hgb(m) for m in models]
        self.slot = [-1] * len(models)  # model -> column of the kernel's output (-1: sklearn)
        roots: list[int] = []
        depth: list[int] = []
        feature, threshold, child, value = [], [], [], []
        bounds: list[int] = [0]
        base: list[float] = []
        offset = 0
        for index, hgb in enumerate(boosted):
            if hgb is None:
                continue
            for predictors in hgb._predictors:
                nodes = predictors[0].nodes
                leaf = nodes["is_leaf"].astype(bool)
                here = np.arange(len(nodes), dtype=np.int64) + offset
                roots.append(offset)
                depth.append(int(nodes["depth"].max()))
                feature.append(np.where(leaf, 0, nodes["feature_idx"]))
                threshold.append(np.where(leaf, np.inf, nodes["num_threshold"]))
                left = np.where(leaf, here, nodes["left"].astype(np.int64) + offset)
                right = np.where(leaf, here, nodes["right"].astype(np.int64) + offset)
                child.append(np.stack([left, right], axis=1).ravel())
                value.append(nodes["value"])
                offset += len(nodes)
            self.slot[index] = len(base)
            bounds.append(len(roots))
            base.append(float(np.ravel(hgb._baseline_prediction)[0]))

        def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
            if not parts:
                return np.zeros(0, dtype=dtype)
            return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)

        self.roots = np.asarray(roots, dtype=np.int32)
        self.feature = cat(feature, np.int32)
        self.threshold = cat(threshold, np.float64)
        self.depth = np.asarray(depth, dtype=np.int32)
        self.child = cat(child, np.int32)
        self.value = cat(value, np.float64)
        self.bounds = np.asarray(bounds, dtype=np.int32)
        self.base = np.asarray(base, dtype=np.float64)
        self.n_compiled = len(base)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """(n, n_compiled) raw predictions of the flattened models (baseline + trees)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty((len(X), self.n_compiled), dtype=np.float64)
        if self.n_compiled:
            _kernel()(X, self.roots, self.depth, self.feature, self.threshold, self.child,
                      self.value, self.bounds, self.base, out)
        return out

    def raw_replaced(self, rows: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        """`raw(replacement_rows(rows, baseline))`, bit for bit, without walking the trees
        that the replaced feature cannot change (see `replaced_sums`)."""
        X = np.asarray(rows, dtype=np.float32).astype(np.float64)
        b = np.asarray(baseline, dtype=np.float32).astype(np.float64).ravel()
        out = np.empty((X.size, self.n_compiled), dtype=np.float64)
        if self.n_compiled:
            _replaced_kernel()(np.ascontiguousarray(X), b, self.roots, self.depth, self.feature,
                               self.threshold, self.child, self.value, self.bounds, self.base,
                               out)
        return out

    def predict(
        self, X: np.ndarray, raw: np.ndarray | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """P(class 1) of each classifier and the prediction of each regressor, for X
        (`raw`: `self.raw(X)` when already known)."""
        from sklearn.calibration import CalibratedClassifierCV

        if raw is None:
            raw = self.raw(X)
        probabilities = []
        for index, model in enumerate(self.classifiers):
            slot = self.slot[index]
            if slot < 0:
                probabilities.append(model.predict_proba(X)[:, 1])
                continue
            scores = raw[:, slot]
            if isinstance(model, CalibratedClassifierCV):
                p = _calibrate(model.calibrated_classifiers_[0].calibrators[0], scores)
                # as `_CalibratedClassifier.predict_proba`: a hair above 1 is 1
                p = np.where((p > 1.0) & (p <= 1.0 + 1e-5), 1.0, p)
            else:
                p = expit(scores)
            probabilities.append(p)
        predictions = []
        for index, model in enumerate(self.regressors, start=len(self.classifiers)):
            slot = self.slot[index]
            predictions.append(model.predict(X) if slot < 0 else raw[:, slot].copy())
        return probabilities, predictions
