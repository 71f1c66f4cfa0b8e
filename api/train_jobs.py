"""The `train` background job: `peyvand train` as a job the admin starts (the button on /admin,
or `POST /v1/models/train`).

It trains the rankers on every outcome in the store (imported history and the decisions staff
record are both outcomes; `training.train.train` reads them all), evaluates the new version on
the held-out recent seasons against the live one re-scored on the same queries, registers it,
and makes it live only when it is better and was trained on enough outcomes
(`recommender.ranking.registry.MIN_TRAINING_OUTCOMES`); otherwise the live model (or, with
none, the unsupervised fallback) stays untouched. When a new version goes live the service's
recommender is reloaded in the background. The held-out report (metrics.json, report.html) is
the job's output.

Params (JSON): `holdout_rounds` (default 2), `estimator` ("auto", "hgb" or "logistic"),
`min_outcomes` (default `MIN_TRAINING_OUTCOMES`).

`register(registry)` gives a job registry this kind (the app does so at start-up unless the
registry it is given already has a `train` kind).
"""

from __future__ import annotations

import functools
from typing import Any

from recommender.errors import InvalidInputError

from .jobs import JobContext, JobRegistry

JOB_KIND = "train"
JOB_TITLE = "آموزش مدل رتبه‌بندی"
ESTIMATORS = ("auto", "hgb", "logistic")


def _params(params: dict[str, Any]) -> tuple[int, str, int]:
    from recommender.ranking.registry import MIN_TRAINING_OUTCOMES

    try:
        holdout = int(params.get("holdout_rounds", 2))
        min_outcomes = int(params.get("min_outcomes", MIN_TRAINING_OUTCOMES))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("holdout_rounds and min_outcomes must be whole numbers") from exc
    estimator = str(params.get("estimator", "auto"))
    if estimator not in ESTIMATORS:
        raise InvalidInputError(f"unknown estimator '{estimator}'; use one of {ESTIMATORS}")
    if holdout < 1 or min_outcomes < 0:
        raise InvalidInputError("holdout_rounds must be >= 1 and min_outcomes >= 0")
    return holdout, estimator, min_outcomes


def train_job(ctx: JobContext, embedder: Any | None = None) -> dict[str, Any]:
    """Train, compare, register and maybe promote (a `JobContext` in, a small JSON result out).

    Args:
        ctx: the job's context (its store sees every house: the model is the network's).
        embedder: the embedder to train with (default: the service's recommender's, so the
            features match what serving computes; tests pass a fast one).
    """
    from api.cli.train_cmds import _index
    from api.services import load_embedder
    from recommender.ranking.registry import ModelRegistry
    from training.evaluate import write_report
    from training.train import train

    holdout, estimator, min_outcomes = _params(dict(ctx.params or {}))
    settings = ctx.services["settings"]
    if embedder is None:
        recommender = ctx.services["recommender"]()
        embedder = getattr(recommender, "embedder", None) or load_embedder(settings)
    ctx.progress(0.05, 1.0, "آماده‌سازی داده‌ها")
    retriever = _index(settings, ctx.store, embedder)
    registry = ModelRegistry(settings.registry_dir)
    ctx.progress(0.2, 1.0, "آموزش و ارزیابی")
    result = train(
        ctx.store,
        embedder,
        retriever,
        registry,
        holdout_rounds=holdout,
        estimator=estimator,
        min_outcomes=min_outcomes,
    )
    ctx.progress(0.9, 1.0, "نوشتن گزارش")
    write_report(result.evaluation, ctx.output_dir)
    if result.promoted:
        reload = ctx.services.get("reload_recommender")
        if reload is not None:
            reload()
    ds = result.dataset
    ranker = result.evaluation.metrics["models"]["ranker"]
    return {
        "version": result.version,
        "promoted": result.promoted,
        "live": registry.live_version(),
        "previous_live": result.previous_live,
        "reason": result.reason,
        "trained_on_outcomes": int(ds.train.sum()) if ds is not None else None,
        "held_out_outcomes": int(ds.is_test.sum()) if ds is not None else None,
        "min_outcomes": min_outcomes,
        "ndcg@10": ranker.get("ndcg@10"),
        "previous_ndcg@10": (result.previous_metrics or {}).get("ndcg@10"),
    }


def register(registry: JobRegistry, embedder: Any | None = None) -> None:
    """Give `registry` the `train` kind unless it has one.

    Args:
        registry: the job registry.
        embedder: train with this embedder instead of the live recommender's (tests).
    """
    if registry.get(JOB_KIND) is not None:
        return
    function = train_job if embedder is None else functools.partial(train_job, embedder=embedder)
    registry.register(JOB_KIND, function, JOB_TITLE)
