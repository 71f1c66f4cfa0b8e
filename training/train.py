"""Training: history -> features -> `FitRanker` -> held-out evaluation -> registry.

`train` fits a ranker on the training rounds, evaluates it and the baselines on the held-out
rounds (`training.evaluate`), registers it as a new version with its metrics, and makes it live
only when it beats the live model on those same held-out rounds (the live model is re-scored
on them, so both are compared on the same queries), or when no model is live, or when forced.
The registered model is the one that was evaluated: it has not seen the held-out rounds.

It trains on every outcome in the store (`load_history` reads them all: imported history and
the decisions staff record are both outcomes), and a model trained on fewer than
`min_outcomes` (default `registry.MIN_TRAINING_OUTCOMES`, measured by
`benchmarks/learning_curve.py`) is registered but never made live on its own, however it
compares: the live model, or with none the unsupervised fallback, keeps serving until the
store holds enough decisions. There is one model for the whole store (the network's); a house
with few decisions of its own is served by it, never by a model of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recommender.errors import CorruptArtifactError, ModelMismatchError, bilingual
from recommender.ranking.ranker import FitRanker, ScoreWeights
from recommender.ranking.registry import MIN_TRAINING_OUTCOMES, ModelRegistry
from recommender.store.history import load_history
from recommender.text.persian import format_number

from .dataset import Dataset, build_dataset
from .evaluate import Evaluation, evaluate, ranking_metrics, ranking_task

if TYPE_CHECKING:
    from recommender.retrieval.hybrid import CandidateRetriever
    from recommender.store.database import Store

__all__ = ["TrainResult", "prepare_dataset", "train"]

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What `train` did.

    Attributes:
        version: the registered version.
        promoted: whether it went live.
        reason: why it did or did not (English, one line).
        evaluation: its held-out evaluation.
        previous_live: the version that was live before, if any.
        previous_metrics: the previous live model's ranking metrics on the same rounds.
        dataset: the training data (features, labels, split).
    """

    version: str
    promoted: bool
    reason: str
    evaluation: Evaluation
    previous_live: str | None = None
    previous_metrics: dict[str, float] | None = None
    dataset: Dataset | None = field(default=None, repr=False)


def prepare_dataset(
    store: Store,
    embedder: Any,
    retriever: CandidateRetriever,
    *,
    holdout_rounds: int = 2,
    plan_role: str = "query",
) -> Dataset:
    """The dataset of the store's history, with features as the serving pipeline makes them.

    Args:
        store: the store.
        embedder: a fitted embedder.
        retriever: the fitted `CandidateRetriever` of the same embedding model (its
            programs, vectors and BM25 index define the feature order).
        holdout_rounds: the last rounds held out.
        plan_role: how plans are embedded.
    """
    return build_dataset(
        load_history(store),
        embedder,
        retriever.programs_,
        retriever.vectors_,
        retriever.lexical_,
        holdout_rounds=holdout_rounds,
        plan_role=plan_role,
    )


def fit_ranker(
    ds: Dataset,
    *,
    estimator: str = "auto",
    calibration: str = "isotonic",
    weights: ScoreWeights | Mapping[str, float] | None = None,
    **params: Any,
) -> FitRanker:
    """A `FitRanker` fitted on the training rows of `ds`."""
    ranker = FitRanker(estimator=estimator, calibration=calibration, weights=weights, **params)
    return ranker.fit(**ds.fit_arguments())


def _promotion(
    new_value: float,
    previous: tuple[str, FitRanker] | None,
    previous_metrics: Mapping[str, float] | None,
    promote_metric: str,
    n_train: int,
    min_outcomes: int,
    force_promote: bool,
) -> tuple[bool, str]:
    """Whether the new version goes live, and why (saved with it as `decision`)."""
    if force_promote:
        return True, bilingual("promotion forced", "زنده شدن به دستور (--force)")
    if n_train < min_outcomes:
        # Too few decisions to trust a learnt model over what serves now (the learning curves
        # of benchmarks/learning_curve.py): keep the live model, or the unsupervised fallback.
        keeps = f"live {previous[0]}" if previous else "the unsupervised fallback"
        keeps_fa = f"مدل زندهٔ {previous[0]}" if previous else "امتیاز بی‌آموزش"
        return False, bilingual(
            f"trained on {n_train} outcomes, fewer than the {min_outcomes} needed: {keeps} stays",
            f"با {format_number(n_train)} نتیجه آموزش دید، کمتر از {format_number(min_outcomes)} "
            f"نتیجهٔ لازم: {keeps_fa} می‌ماند",
        )
    if previous is None or previous_metrics is None:
        return True, bilingual("no model was live", "مدل زنده‌ای نبود")
    old_value = round(previous_metrics[promote_metric], 4)
    better = new_value > old_value
    return better, bilingual(
        f"{promote_metric} {new_value:.4f} vs {old_value:.4f} of live {previous[0]} "
        "on the same held-out rounds",
        f"{promote_metric} {format_number(new_value, 4)} در برابر {format_number(old_value, 4)} "
        f"مدل زندهٔ {previous[0]} روی همان دوره‌های کنارگذاشته؛ "
        + ("بهتر است" if better else "بهتر نیست"),
    )


def train(
    store: Store,
    embedder: Any,
    retriever: Any,
    registry: ModelRegistry,
    *,
    holdout_rounds: int = 2,
    estimator: str = "auto",
    calibration: str = "isotonic",
    weights: ScoreWeights | Mapping[str, float] | None = None,
    promote_metric: str = "ndcg@10",
    force_promote: bool = False,
    dataset: Dataset | None = None,
    min_outcomes: int = MIN_TRAINING_OUTCOMES,
    **ranker_params: Any,
) -> TrainResult:
    """Fit, evaluate, register, and promote when better.

    Args:
        store: the store with programs, applications, rounds and outcomes.
        embedder: a fitted embedder (`embed_documents`, `model_id_`).
        retriever: the fitted `CandidateRetriever` (feature order, lexical index, recall).
        registry: where the model is registered.
        holdout_rounds: the last rounds held out for evaluation.
        estimator: `FitRanker` estimator ("auto" picks per target by validation).
        calibration: `FitRanker` calibration.
        weights: the combined score's weights (saved with the model).
        promote_metric: the held-out ranking metric that must improve to go live.
        force_promote: make the new model live whatever the comparison says.
        dataset: a prepared dataset (skips `prepare_dataset`).
        min_outcomes: the fewest training outcomes a model needs to go live unforced (the
            decision "is the data enough" is made here, for the whole store).
        **ranker_params: other `FitRanker` arguments.

    Returns:
        The `TrainResult`.
    """
    ds = dataset or prepare_dataset(store, embedder, retriever, holdout_rounds=holdout_rounds)
    ranker = fit_ranker(
        ds, estimator=estimator, calibration=calibration, weights=weights, **ranker_params
    )
    notes: list[str] = []
    previous: tuple[str, FitRanker] | None = None
    try:
        previous = registry.live(expected_model_id=ds.model_id)
    except (CorruptArtifactError, ModelMismatchError) as exc:
        notes.append(f"the live model cannot be compared: {exc}")
    task = ranking_task(ds)
    previous_metrics = None
    if previous is not None:
        previous_metrics = ranking_metrics(task, previous[1].predict(task.X).score)
    evaluation = evaluate(
        ds, ranker, retriever, ranker_label="new model", notes=notes, task=task
    )
    new_value = evaluation.metrics["models"]["ranker"][promote_metric]
    n_train = int(ds.train.sum())
    promoted, reason = _promotion(
        new_value, previous, previous_metrics, promote_metric, n_train, min_outcomes, force_promote
    )
    meta = {
        "train_rounds": ds.train_rounds,
        "test_rounds": ds.test_rounds,
        "n_train_pairs": n_train,
        "trained_on_outcomes": n_train,
        "held_out_outcomes": int(ds.is_test.sum()),
        "min_outcomes": min_outcomes,
        "n_test_pairs": int(ds.is_test.sum()),
        "promote_metric": promote_metric,
        "compared_with": previous[0] if previous else None,
        "compared_metrics": (
            {k: round(float(v), 4) for k, v in previous_metrics.items()}
            if previous_metrics else None
        ),
        "decision": reason,
        "quality_bars": evaluation.details.get("bars", {}),
    }
    version = registry.register(ranker, evaluation.metrics, meta)
    if promoted:
        registry.promote(version)
    evaluation.details["ranker_label"] = version
    logger.info("registered %s (%s): %s", version, "live" if promoted else "not live", reason)
    return TrainResult(
        version=version,
        promoted=promoted,
        reason=reason,
        evaluation=evaluation,
        previous_live=previous[0] if previous else None,
        previous_metrics=previous_metrics,
        dataset=ds,
    )
