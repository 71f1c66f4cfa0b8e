"""Evaluation of a ranker and its baselines on the held-out intake rounds.

**Ranking task.** For each held-out application, every program of its season is ranked by
each model: the programs of every round open at the same time as its own, in every house of
the network (`dataset.season_programs`; with a single house, its round's program list; the
programs it applied to are always included). A startup applies in one house, but the question
staff ask is which programs of the whole network fit it best. The
gain of a program is what the application got there:

    gain = residency granted (1) + funding granted (1)        -> 0, 1 or 2

Programs it did not apply to are unjudged and count as 0 (as trec_eval treats unjudged
documents), as do the ones that turned it down. So a model is rewarded for putting the
programs that really took the startup in, and gave it the most, at the top of the whole
round's list: the question "which programs fit this plan best", answered by what happened.
Applications that got nothing anywhere have no relevant item and are skipped.

Metrics per model: nDCG@5 and nDCG@10 (graded gains, linear), MAP and MRR (binary:
gain > 0, over the whole list). Models:

- `ranker`: the `FitRanker`'s combined fit score;
- `bm25`: raw BM25 of the plan against each program's text;
- `embedding`: cosine of the pooled plan vector and the program vector;
- `popularity`: the program's grant rate (residency or funding) in the training rounds
  (the overall rate for programs without history);
- `random`: seeded uniform scores.

The report also shows `unsupervised` (`ranking.unsupervised_score`, the fallback used before
any model is trained); metrics.json keeps exactly the models above.

Ties are broken by one seeded random order shared by all models.

**Candidates.** Recall@50: the share of relevant held-out pairs (gain > 0) whose program is
among the candidate retriever's top 50 for that plan (the whole active catalogue, no filter,
as `peyvand recommend` searches); without a retriever, the dense top 50.

**Calibration.** On the held-out outcome pairs (the pairs that were decided): ROC AUC, Brier
score and expected calibration error (10 equal-width bins) of P(residency) against residency
granted and of P(funding) against funded amount > 0.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from recommender.constants import DEFAULT_CANDIDATES, SEED
from recommender.ranking.compose import unsupervised_score
from recommender.ranking.features import FEATURE_NAMES
from recommender.ranking.ranker import FitRanker

from .dataset import Dataset, season_programs
from .metrics import (
    brier_score,
    expected_calibration_error,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    reliability_curve,
)

__all__ = [
    "BASELINES",
    "QUALITY_BARS",
    "Evaluation",
    "RankingTask",
    "evaluate",
    "ranking_metrics",
    "ranking_task",
    "write_report",
]

BASELINES: tuple[str, ...] = ("bm25", "embedding", "popularity", "random")
MODEL_ORDER: tuple[str, ...] = ("ranker", *BASELINES)
RANKING_METRICS: tuple[str, ...] = ("ndcg@5", "ndcg@10", "map", "mrr")

#: The targets the synthetic history's held-out rounds should meet (see the issue).
QUALITY_BARS: dict[str, float] = {
    "ndcg@10_margin_over_best_baseline": 0.05,
    "candidate_recall@50": 0.95,
    "max_ece": 0.05,
}


@dataclass
class RankingTask:
    """The held-out ranking queries, as (application, program) pairs.

    Attributes:
        query_of: (n_pairs,) query number of each pair.
        app_rows: (n_pairs,) application row in the dataset's `plans`.
        program_idx: (n_pairs,) program index in the dataset's feature order.
        gains: (n_pairs,) 0, 1 or 2.
        X: (n_pairs, n_features) features of the pairs.
        n_queries: queries (applications with at least one relevant program).
        application_ids: per query.
    """

    query_of: np.ndarray
    app_rows: np.ndarray
    program_idx: np.ndarray
    gains: np.ndarray
    X: np.ndarray
    n_queries: int
    application_ids: list[str]


def ranking_task(ds: Dataset) -> RankingTask:
    """Build the held-out queries of `ds` (see the module docstring)."""
    position = {p.id: j for j, p in enumerate(ds.programs)}
    row = ds.plans.row()
    gains: dict[str, dict[str, int]] = {}
    round_of: dict[str, str] = {}
    for outcome, test, res, fund, rid in zip(
        ds.outcomes, ds.is_test, ds.y_residency, ds.y_funding, ds.round_ids, strict=True
    ):
        if test:
            gains.setdefault(outcome.application_id, {})[outcome.program_id] = int(res + fund)
            round_of[outcome.application_id] = str(rid)
    cache: dict[str, list[str]] = {}
    query_of, app_rows, program_idx, gain_list, app_ids = [], [], [], [], []
    for app_id, got in gains.items():
        if not any(got.values()):
            continue
        rid = round_of[app_id]
        if rid not in cache:
            cache[rid] = season_programs(ds.history, rid, position)
        candidates = list(dict.fromkeys([*cache[rid], *got]))
        q = len(app_ids)
        app_ids.append(app_id)
        for pid in candidates:
            query_of.append(q)
            app_rows.append(row[app_id])
            program_idx.append(position[pid])
            gain_list.append(got.get(pid, 0))
    pairs = np.stack([np.asarray(app_rows, dtype=np.int64),
                      np.asarray(program_idx, dtype=np.int64)], axis=1).reshape(-1, 2)
    X = ds.builder.transform(ds.applications, ds.plans.plans, ds.plans.lexical, pairs=pairs)
    return RankingTask(
        query_of=np.asarray(query_of, dtype=np.int64),
        app_rows=pairs[:, 0],
        program_idx=pairs[:, 1],
        gains=np.asarray(gain_list, dtype=np.float64),
        X=X,
        n_queries=len(app_ids),
        application_ids=app_ids,
    )


def _relevance(task: RankingTask, scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """(n_queries, longest list) gains in each query's ranked order, zero-padded."""
    width = int(np.bincount(task.query_of).max()) if task.n_queries else 0
    rel = np.zeros((task.n_queries, width))
    # one global sort: by query, then score (desc), then the shared random tie-break
    order = np.lexsort((tiebreak, -scores, task.query_of))
    sorted_q = task.query_of[order]
    starts = np.searchsorted(sorted_q, np.arange(task.n_queries))
    ranks = np.arange(len(order)) - starts[sorted_q]
    rel[sorted_q, ranks] = task.gains[order]
    return rel


def ranking_metrics(task: RankingTask, scores: np.ndarray, seed: int = SEED) -> dict[str, float]:
    """nDCG@5, nDCG@10, MAP and MRR of `scores` (n_pairs,) on the task's queries."""
    if task.n_queries == 0:
        raise ValueError("no held-out application has a relevant program; nothing to rank")
    tiebreak = np.random.default_rng(seed).random(len(scores))
    rel = _relevance(task, np.asarray(scores, dtype=np.float64), tiebreak)
    width = rel.shape[1]
    return {
        "ndcg@5": ndcg_at_k(rel, 5),
        "ndcg@10": ndcg_at_k(rel, 10),
        "map": map_at_k(rel, width),
        "mrr": mrr_at_k(rel, width),
    }


def baseline_scores(ds: Dataset, task: RankingTask, seed: int = SEED) -> dict[str, np.ndarray]:
    """The baselines' scores of the task's pairs."""
    overall = (
        float(np.mean(np.maximum(ds.y_residency, ds.y_funding)[ds.train])) if ds.train.any()
        else 0.0
    )
    popularity = np.array(
        [ds.popularity.get(ds.programs[j].id, overall) for j in task.program_idx]
    )
    return {
        "bm25": ds.plans.lexical[task.app_rows, task.program_idx].astype(np.float64),
        "embedding": task.X[:, FEATURE_NAMES.index("sem_pooled")].astype(np.float64),
        "popularity": popularity,
        "random": np.random.default_rng(seed + 1).random(len(task.gains)),
    }


def candidate_recall(ds: Dataset, retriever: Any | None, k: int = DEFAULT_CANDIDATES) -> float:
    """Share of relevant held-out pairs whose program is in the top-k candidates of its plan."""
    row = ds.plans.row()
    relevant: dict[str, set[str]] = {}
    for outcome, test, res, fund in zip(
        ds.outcomes, ds.is_test, ds.y_residency, ds.y_funding, strict=True
    ):
        if test and (res or fund):
            relevant.setdefault(outcome.application_id, set()).add(outcome.program_id)
    if not relevant:
        return float("nan")
    hits = total = 0
    vectors = ds.builder.program_vectors_
    active = np.array([p.active for p in ds.programs])
    for app_id, wanted in relevant.items():
        i = row[app_id]
        plan = ds.plans.plans[i]
        if retriever is not None:
            found = {
                c.program_id
                for c in retriever.search(np.asarray(plan.pooled), ds.plans.texts[i], k=k)
            }
        else:
            sims = np.where(active, vectors @ np.asarray(plan.pooled, dtype=np.float32), -np.inf)
            found = {ds.programs[j].id for j in np.argsort(-sims, kind="stable")[:k]}
        hits += len(wanted & found)
        total += len(wanted)
    return hits / total


def _calibration(y: np.ndarray, p: np.ndarray) -> tuple[dict[str, float | None], dict[str, Any]]:
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None
    mean_p, rate, count = reliability_curve(y, p, 10)
    summary = {
        "auc": auc,
        "brier": brier_score(y, p),
        "ece": expected_calibration_error(y, p, 10),
    }
    curve = {
        "mean_predicted": [None if math.isnan(v) else float(v) for v in mean_p],
        "observed": [None if math.isnan(v) else float(v) for v in rate],
        "count": [int(c) for c in count],
        "positive_rate": float(y.mean()),
    }
    return summary, curve


@dataclass
class Evaluation:
    """The outcome of `evaluate`.

    Attributes:
        metrics: exactly the metrics.json shape: {"models": {model: {ndcg@5, ndcg@10, map,
            mrr}}, "candidates": {"recall@50"}, "calibration": {target: {auc, brier, ece}}}.
        details: counts, rounds, the relevance definition, reliability curves, quality bars.
    """

    metrics: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


def evaluate(
    ds: Dataset,
    ranker: FitRanker,
    retriever: Any | None = None,
    *,
    k_candidates: int = DEFAULT_CANDIDATES,
    seed: int = SEED,
    ranker_label: str = "",
    notes: list[str] | None = None,
    task: RankingTask | None = None,
) -> Evaluation:
    """Evaluate `ranker` and the baselines on the held-out rounds of `ds`.

    Args:
        ds: the dataset (`training.dataset.build_dataset`).
        ranker: a fitted `FitRanker`.
        retriever: the `CandidateRetriever` for candidate recall (None: dense top-k).
        k_candidates: the candidate cut-off (50).
        seed: seed of the random baseline and of tie-breaking.
        ranker_label: how the report names the ranker (e.g. its registry version).
        notes: lines added to the report.
        task: `ranking_task(ds)` when already built.

    Returns:
        The `Evaluation`.
    """
    task = task if task is not None else ranking_task(ds)
    scores = {"ranker": np.asarray(ranker.predict(task.X).score, dtype=np.float64)}
    scores.update(baseline_scores(ds, task, seed))
    models = {name: ranking_metrics(task, scores[name], seed) for name in MODEL_ORDER}
    extra = {"unsupervised": ranking_metrics(task, unsupervised_score(task.X), seed)}
    recall = candidate_recall(ds, retriever, k_candidates)
    held = ds.is_test
    out = ranker.predict(ds.X[held])
    res_summary, res_curve = _calibration(ds.y_residency[held], np.clip(out.p_residency, 0, 1))
    fund_summary, fund_curve = _calibration(ds.y_funding[held], np.clip(out.p_funding, 0, 1))
    metrics = {
        "models": {m: {k: round(float(v), 4) for k, v in models[m].items()} for m in MODEL_ORDER},
        "candidates": {f"recall@{k_candidates}": round(float(recall), 4)},
        "calibration": {
            "residency": {k: _round(v) for k, v in res_summary.items()},
            "funding": {k: _round(v) for k, v in fund_summary.items()},
        },
    }
    best_baseline = max(BASELINES, key=lambda m: models[m]["ndcg@10"])
    margin = models["ranker"]["ndcg@10"] - models[best_baseline]["ndcg@10"]
    details = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "ranker_label": ranker_label,
        "embedding_model_id": ds.model_id,
        "data_fingerprint": ds.fingerprint,
        "train_rounds": list(ds.train_rounds),
        "test_rounds": list(ds.test_rounds),
        "n_train_pairs": int(ds.train.sum()),
        "n_test_pairs": int(held.sum()),
        "n_queries": task.n_queries,
        "n_ranked_pairs": int(len(task.gains)),
        "k_candidates": k_candidates,
        "reliability": {"residency": res_curve, "funding": fund_curve},
        "best_baseline": best_baseline,
        "extra_models": {
            name: {k: round(float(v), 4) for k, v in values.items()}
            for name, values in extra.items()
        },
        "bars": {
            "ndcg@10_margin": round(margin, 4),
            "ndcg@10_margin_ok": margin >= QUALITY_BARS["ndcg@10_margin_over_best_baseline"],
            "recall_ok": recall >= QUALITY_BARS["candidate_recall@50"],
            "ece_ok": max(res_summary["ece"], fund_summary["ece"]) <= QUALITY_BARS["max_ece"],
        },
        "chosen": dict(ranker.chosen_),
        "notes": list(notes or []),
    }
    return Evaluation(metrics=metrics, details=details)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# --------------------------------------------------------------------------- report

_MODEL_FA = {
    "ranker": "رتبه‌بند آموزش‌دیده",
    "bm25": "BM25 (واژگانی)",
    "embedding": "بردار معنایی",
    "popularity": "محبوبیت (نرخ پذیرش گذشته)",
    "random": "تصادفی",
    "unsupervised": "امتیاز بدون آموزش (جایگزین پیش از آموزش مدل)",
}
_TARGET_FA = {"residency": "احتمال پذیرش استقرار", "funding": "احتمال تأمین مالی"}


def _png(draw: Callable[[Any], None], size: tuple[float, float]) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=110)
    try:
        draw(ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _bars(models: Mapping[str, Mapping[str, float]]) -> str:
    def draw(ax: Any) -> None:
        names = list(models)
        width = 0.8 / len(names)
        x = np.arange(len(RANKING_METRICS))
        for i, name in enumerate(names):
            values = [models[name][m] for m in RANKING_METRICS]
            ax.bar(x + i * width - 0.4 + width / 2, values, width, label=name)
        ax.set_xticks(x, RANKING_METRICS)
        ax.set_ylim(0, 1)
        ax.set_ylabel("score")
        ax.set_title("Ranking metrics on the held-out rounds")
        ax.legend(fontsize=8, ncol=len(names))
        ax.grid(axis="y", alpha=0.3)

    return _png(draw, (8, 3.8))


def _reliability(curves: Mapping[str, Mapping[str, Any]]) -> str:
    def draw(ax: Any) -> None:
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
        for name, curve in curves.items():
            pairs = [
                (p, o, c)
                for p, o, c in zip(
                    curve["mean_predicted"], curve["observed"], curve["count"], strict=True
                )
                if c > 0
            ]
            if pairs:
                xs, ys, cs = zip(*pairs, strict=True)
                ax.plot(xs, ys, marker="o", label=f"P({name})")
                for x, y, c in zip(xs, ys, cs, strict=True):
                    ax.annotate(str(c), (x, y), fontsize=6, alpha=0.6,
                                textcoords="offset points", xytext=(3, -8))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed rate")
        ax.set_title("Reliability (held-out decided pairs; labels = pairs per bin)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)

    return _png(draw, (5.5, 5))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render_report(evaluation: Evaluation) -> str:
    """The Persian HTML report (dir="rtl") with the plots embedded as base64 PNG."""
    m, d = evaluation.metrics, evaluation.details
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(_MODEL_FA.get(name, name))} <code>{esc(name)}</code></td>"
        + "".join(f"<td>{_fmt(vals[k])}</td>" for k in RANKING_METRICS)
        + "</tr>"
        for name, vals in {**m["models"], **d.get("extra_models", {})}.items()
    )
    calib = "".join(
        f"<tr><td>{esc(_TARGET_FA[t])}</td><td>{_fmt(v['auc'])}</td><td>{_fmt(v['brier'])}</td>"
        f"<td>{_fmt(v['ece'])}</td></tr>"
        for t, v in m["calibration"].items()
    )
    bars = d.get("bars", {})

    def verdict(ok: bool) -> str:
        return "<b class='ok'>برآورده شد</b>" if ok else "<b class='no'>برآورده نشد</b>"

    recall_key = next(iter(m["candidates"]))
    notes = "".join(f"<li>{esc(n)}</li>" for n in d.get("notes", []))
    return f"""<!doctype html>
<html lang="fa" dir="rtl">
<head><meta charset="utf-8"><title>گزارش ارزیابی رتبه‌بند پیوند</title>
<style>
body {{ font-family: Vazirmatn, Tahoma, sans-serif; margin: 2rem; line-height: 1.8; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .7rem; text-align: center; }}
code {{ direction: ltr; unicode-bidi: embed; }}
.ok {{ color: #1a7f37; }} .no {{ color: #b42318; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
</style></head>
<body>
<h1>گزارش ارزیابی رتبه‌بند</h1>
<p>مدل: <code>{esc(str(d.get("ranker_label") or "—"))}</code> —
مدل بردارسازی: <code>{esc(str(d.get("embedding_model_id")))}</code> —
زمان ساخت: <code>{esc(str(d.get("created_at")))}</code></p>
<p>دوره‌های آموزش: {len(d.get("train_rounds", []))} دوره
(<code>{esc("، ".join(d.get("train_rounds", [])))}</code>)؛
دوره‌های کنارگذاشته برای ارزیابی: <code>{esc("، ".join(d.get("test_rounds", [])))}</code>.
{d.get("n_train_pairs", 0):,} جفت آموزشی و {d.get("n_test_pairs", 0):,} جفت ارزیابی تصمیم‌گرفته‌شده؛
{d.get("n_queries", 0):,} درخواست در رتبه‌بندی شرکت داشتند
({d.get("n_ranked_pairs", 0):,} جفت درخواست-برنامه).</p>

<h2>معیار ارتباط</h2>
<p>برای هر درخواستِ دوره‌های ارزیابی، همهٔ برنامه‌های همان دوره رتبه‌بندی می‌شوند. امتیاز هر
برنامه برابر است با آنچه متقاضی واقعاً از آن گرفت: یک برای پذیرش استقرار و یک برای تأمین مالی
(صفر، یک یا دو). برنامه‌هایی که متقاضی به آن‌ها درخواست نداده یا ردش کرده‌اند صفر حساب می‌شوند.
درخواست‌هایی که از هیچ برنامه‌ای چیزی نگرفتند کنار گذاشته می‌شوند. nDCG با همین امتیازها و
MAP و MRR با «امتیاز بزرگ‌تر از صفر» حساب می‌شوند.</p>

<h2>کیفیت رتبه‌بندی</h2>
<table><tr><th>مدل</th>{"".join(f"<th>{k}</th>" for k in RANKING_METRICS)}</tr>{rows}</table>
<img alt="ranking metrics" src="data:image/png;base64,{_bars(m["models"])}">

<h2>نامزدهای بازیابی</h2>
<p>سهم جفت‌های مرتبطِ ارزیابی که برنامه‌شان در ۵۰ نامزد نخست بازیاب برای همان طرح است
(<code>{esc(recall_key)}</code>): <b>{_fmt(m["candidates"][recall_key])}</b></p>

<h2>درستی احتمال‌ها (کالیبراسیون)</h2>
<table><tr><th>احتمال</th><th>ROC AUC</th><th>Brier</th><th>ECE</th></tr>{calib}</table>
<img alt="reliability" src="data:image/png;base64,{_reliability(d.get("reliability", {}))}">

<h2>هدف‌های کیفیت</h2>
<ul>
<li>nDCG@10 رتبه‌بند دست‌کم ۰٫۰۵ بالاتر از بهترین مدل پایه
(<code>{esc(str(d.get("best_baseline")))}</code>؛ اختلاف {_fmt(bars.get("ndcg@10_margin"))}):
{verdict(bool(bars.get("ndcg@10_margin_ok")))}</li>
<li>Recall@50 نامزدها دست‌کم ۰٫۹۵: {verdict(bool(bars.get("recall_ok")))}</li>
<li>ECE هر دو احتمال حداکثر ۰٫۰۵: {verdict(bool(bars.get("ece_ok")))}</li>
</ul>
{f"<h2>یادداشت‌ها</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""


def write_report(evaluation: Evaluation, out_dir: str | Path) -> tuple[Path, Path]:
    """Write `metrics.json` (exactly the documented shape) and `report.html` into `out_dir`.

    Returns:
        (metrics path, report path).
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    metrics_path = folder / "metrics.json"
    report_path = folder / "report.html"
    metrics_path.write_text(
        json.dumps(evaluation.metrics, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    report_path.write_text(render_report(evaluation), encoding="utf-8")
    return metrics_path, report_path
