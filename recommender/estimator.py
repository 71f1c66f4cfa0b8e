"""`PeyvandEstimator`: the one base class of the components that learn something with `fit`
(`FeatureBuilder`, `FitRanker`, `BM25Index`, `CandidateRetriever`, `Embedder`,
`HashingEmbedder`), scikit-learn's `BaseEstimator` with the project's error.

The contract (checked for every subclass by tests/recommender/test_estimators_common.py):

- `__init__` takes keyword arguments with defaults and stores each one, unchanged, under its
  own name; it validates nothing and computes nothing (`fit` validates);
- `get_params`, `set_params`, `sklearn.base.clone` and `repr` work from those arguments
  (scikit-learn's implementations);
- `fit(...)` validates its input, sets the learned state in attributes whose names end in `_`
  (private helpers start with `_`), never changes a constructor argument, and returns `self`;
  a classmethod `load(path)` may stand in for `fit`;
- every method that needs the learned state first calls `_check_fitted()`, which raises
  `recommender.errors.NotFittedError` ("<Class> is not fitted; call fit(...) first") before
  `fit`/`load`.

May import: recommender.errors (and scikit-learn).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from recommender.errors import NotFittedError

__all__ = ["PeyvandEstimator"]


class PeyvandEstimator(BaseEstimator):
    """Base class of Peyvand's estimators (see the module docstring for the contract).

    Subclasses set `_fitted_attribute` to the attribute that `fit` and `load` set (its
    presence means "fitted"; None: any attribute ending in `_`) and `_fit_hint` to how to
    fit them, for the not-fitted message.
    """

    _fitted_attribute: str | None = None
    _fit_hint: str = "fit(...)"

    def __sklearn_is_fitted__(self) -> bool:
        """True once `fit` (or `load`) has run (scikit-learn's `check_is_fitted` asks this)."""
        if self._fitted_attribute is not None:
            return hasattr(self, self._fitted_attribute)
        return any(name.endswith("_") and not name.startswith("__") for name in vars(self))

    def _check_fitted(self) -> None:
        """Raise the project's `NotFittedError` unless the estimator is fitted.

        Raises:
            NotFittedError: before `fit` (or `load`).
        """
        try:
            check_is_fitted(self)
        except SklearnNotFittedError as exc:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted; call {self._fit_hint} first"
            ) from exc
