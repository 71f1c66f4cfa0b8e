"""Learning curves: held-out NDCG@10 of the trained ranker vs the number of training decisions,
beside the unsupervised fallback (`recommender.ranking.compose.unsupervised_score`, what a home
with no live model serves) and BM25.

Data: several fictional synthetic histories (`data.synthetic.generate_history` with the seeds
of `--history-seeds`, the sample catalogue and houses), each split by season exactly as
`peyvand train` splits a store (`training.dataset`: the last `--holdout-rounds` seasons held
out). For every size n (decided (application, program) pairs) and each of `--seeds` random
draws, n training outcomes are drawn from the training seasons, a `FitRanker` (the product's
defaults: estimator chosen by validation, isotonic calibration) is fitted on them alone, as
`peyvand train` would on a store holding only those decisions, and scored on the same held-out
queries as the baselines. A run's margin is its NDCG@10 minus the unsupervised fallback's on
the same history. The histories differ a lot (how well the rules already fit them), which is
why one history is not enough to set a threshold.

Embedder: by default `training.bow_embedder.HashingEmbedder` (hashed bag of words, no neural
model): the e5 model makes the whole run minutes longer on the 2-core development machine, and
the question here is how many decisions the *ranker* needs on top of whatever features it gets.
`--embedder e5` uses the home's model (PEYVAND_MODEL_CACHE) instead. The output names the one
used.

Known simplification: the program-load feature and the popularity baseline are computed from
all training seasons, not only from the sampled decisions.

"Enough" (used by `recommender.ranking.registry.MIN_TRAINING_OUTCOMES`): the smallest n from
which, at n and at every larger n measured, the ranker beat the unsupervised fallback in at
least `--share` (default 90%) of the runs and on average.

Usage:
    .venv/bin/python benchmarks/learning_curve.py [--sizes 100,200,400,600,800,1200,0]
        [--seeds 5] [--history-seeds 42,7,11,3] [--n-rounds 8] [--per-round 120]
        [--holdout-rounds 2] [--estimator auto] [--calibration isotonic] [--share 0.9]
        [--embedder hashing|e5]
        [--out benchmarks/results/learning_curve.json] [--figure docs/figures/learning_curve.svg]
(size 0 means "all training decisions".)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.ranking.compose import unsupervised_score  # noqa: E402
from recommender.ranking.ranker import FitRanker  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "learning_curve.json"
DEFAULT_FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "learning_curve.svg"


def _embedder(kind: str) -> Any:
    if kind == "hashing":
        from training.bow_embedder import HashingEmbedder

        return HashingEmbedder().fit()
    from api.services import load_embedder
    from api.settings import Settings

    return load_embedder(Settings())


def build(seed: int, n_rounds: int, per_round: int, holdout_rounds: int, embedder: Any) -> Any:
    """The dataset of one synthetic history (features as serving makes them)."""
    from data.catalog import load_organizations, load_programs
    from data.synthetic import generate_history
    from recommender.schemas import Application, IntakeRound, Outcome
    from recommender.scoring.index import build_retriever
    from recommender.store.history import History
    from recommender.taxonomy import sector_vocabulary
    from training.dataset import build_dataset

    programs = load_programs()
    synthetic = generate_history(
        seed=seed,
        n_rounds=n_rounds,
        applications_per_round=per_round,
        programs=programs,
        organizations=load_organizations(),
    )
    labels, terms = sector_vocabulary()
    retriever = build_retriever(programs, embedder, sector_labels=labels, sector_terms=terms)
    history = History(
        programs=list(programs),
        applications=[Application(**a) for a in synthetic.applications],
        rounds=[IntakeRound(**r) for r in synthetic.rounds],
        outcomes=[Outcome(**o) for o in synthetic.outcomes],
    )
    return build_dataset(
        history,
        embedder,
        retriever.programs_,
        retriever.vectors_,
        retriever.lexical_,
        holdout_rounds=holdout_rounds,
    )


def fit_subset(
    ds: Any, rows: np.ndarray, estimator: str, seed: int, calibration: str = "isotonic"
) -> FitRanker:
    """A ranker fitted on the given training rows only."""
    args = ds.fit_arguments()
    train_idx = np.flatnonzero(ds.train)
    position = {int(r): i for i, r in enumerate(train_idx)}
    pick = np.array([position[int(r)] for r in rows], dtype=np.int64)
    for key in ("X", "y_residency", "y_funding", "funded_amount", "groups"):
        args[key] = args[key][pick]
    ranker = FitRanker(estimator=estimator, calibration=calibration, random_state=seed)
    return ranker.fit(**args)


def runs_of(
    ds: Any, sizes: list[int], seeds: int, estimator: str, calibration: str = "isotonic"
) -> tuple[dict[int, list[float]], dict[str, float]]:
    """NDCG@10 of the ranker per size (one value per random draw of the decisions; "all" is
    drawn once) and of the baselines, on one history's held-out queries. Size 0 = all."""
    from training.evaluate import baseline_scores, ranking_metrics, ranking_task

    task = ranking_task(ds)
    baselines = {
        "unsupervised": ranking_metrics(task, unsupervised_score(task.X))["ndcg@10"],
        "bm25": ranking_metrics(task, baseline_scores(ds, task)["bm25"])["ndcg@10"],
    }
    train_rows = np.flatnonzero(ds.train)
    out: dict[int, list[float]] = {}
    for size in sizes:
        every = size <= 0 or size >= len(train_rows)
        n = len(train_rows) if every else size
        values = []
        for s in range(1 if every else seeds):
            rng = np.random.default_rng(1000 + s)
            rows = np.sort(rng.choice(train_rows, size=n, replace=False))
            ranker = fit_subset(ds, rows, estimator, seed=s, calibration=calibration)
            values.append(ranking_metrics(task, ranker.predict(task.X).score)["ndcg@10"])
        out[0 if every else size] = values
    return out, baselines


def summarize(
    per_history: list[tuple[dict[int, list[float]], dict[str, float]]], sizes: list[int]
) -> list[dict[str, Any]]:
    """One row per size: the ranker's NDCG@10 and its margin over the unsupervised fallback of
    the same history, mean ± std and min over every (history, draw) run."""
    rows = []
    for size in sizes:
        key = 0 if size <= 0 else size
        scores, margins = [], []
        for runs, baselines in per_history:
            if key not in runs:
                continue
            scores += runs[key]
            margins += [v - baselines["unsupervised"] for v in runs[key]]
        if not scores:
            continue
        sc, mg = np.asarray(scores), np.asarray(margins)
        rows.append(
            {
                "decisions": "all" if key == 0 else key,
                "runs": len(sc),
                "ranker_ndcg10_mean": round(float(sc.mean()), 4),
                "ranker_ndcg10_std": round(float(sc.std()), 4),
                "margin_mean": round(float(mg.mean()), 4),
                "margin_std": round(float(mg.std()), 4),
                "margin_min": round(float(mg.min()), 4),
                "share_beating_unsupervised": round(float((mg > 0).mean()), 3),
            }
        )
    return rows


def enough(rows: list[dict[str, Any]], share: float) -> int | str | None:
    """The smallest size from which, at it and every larger size measured, the ranker beat the
    unsupervised fallback in at least `share` of the runs and on average."""
    answer = None
    for row in reversed(rows):
        if row["share_beating_unsupervised"] < share or row["margin_mean"] <= 0:
            break
        answer = row["decisions"]
    return answer


def figure(result: dict[str, Any], path: Path) -> None:
    """The curve as an SVG with Persian labels (text stays text, so the browser shapes it; the
    report's chart helpers, `recommender.reports.charts`): the ranker's NDCG@10 (mean ± std
    over runs) against the number of training decisions, with the baselines' mean over the
    histories as flat lines."""
    import base64

    from matplotlib.ticker import NullFormatter

    from recommender.reports.charts import figure as new_figure
    from recommender.reports.charts import persian_ticks, svg_chart
    from recommender.text.persian import format_number

    @svg_chart
    def plot() -> Any:
        rows = result["curve"]
        total = np.mean([h["train_decisions"] for h in result["histories"]])
        xs = [total if r["decisions"] == "all" else r["decisions"] for r in rows]
        mean = np.array([r["ranker_ndcg10_mean"] for r in rows])
        std = np.array([r["ranker_ndcg10_std"] for r in rows])
        fig = new_figure(7, 4.2)
        ax = fig.subplots()
        ax.plot(xs, mean, marker="o", label="رتبه‌بند آموخته (میانگین ± انحراف معیار)")
        ax.fill_between(xs, mean - std, mean + std, alpha=0.2)
        names = {"unsupervised": "امتیاز بی‌آموزش", "bm25": "BM25"}
        for name, style in (("unsupervised", "--"), ("bm25", ":")):
            level = np.mean([h["baselines_ndcg10"][name] for h in result["histories"]])
            ax.axhline(level, linestyle=style, color="grey", label=names[name])
        enough = result.get("enough_decisions")
        if isinstance(enough, int):
            ax.axvline(
                enough, color="green", alpha=0.5, label=f"کافی: {format_number(enough)} تصمیم"
            )
        ax.set_xscale("log")
        ax.set_xticks([round(x) for x in xs])
        ax.xaxis.set_minor_formatter(NullFormatter())
        persian_ticks(ax.xaxis)
        persian_ticks(ax.yaxis, 2)
        ax.set_xlabel("شمار تصمیم‌های آموزش (نتیجهٔ درخواست و برنامه)")
        ax.set_ylabel("NDCG@10 روی تصمیم‌های کنار گذاشته")
        ax.set_title(
            f"منحنی یادگیری، {format_number(len(result['histories']))} تاریخچهٔ ساختگی",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return fig

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(plot()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,200,400,600,800,1200,0")
    parser.add_argument("--seeds", type=int, default=5, help="random draws per size")
    parser.add_argument(
        "--history-seeds", default="42,7,11,3", help="synthetic histories (comma-separated seeds)"
    )
    parser.add_argument("--n-rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=120)
    parser.add_argument("--holdout-rounds", type=int, default=2)
    parser.add_argument("--estimator", default="auto", choices=["logistic", "hgb", "auto"])
    parser.add_argument(
        "--calibration", default="isotonic", choices=["isotonic", "sigmoid", "none"]
    )
    parser.add_argument(
        "--share",
        type=float,
        default=0.9,
        help="share of runs that must beat the fallback for 'enough'",
    )
    parser.add_argument("--embedder", default="hashing", choices=["hashing", "e5"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--figure", type=Path, default=DEFAULT_FIGURE, help="SVG of the curve (empty: none)"
    )
    parser.add_argument(
        "--redraw", type=Path, default=None, help="only draw --figure from this earlier JSON result"
    )
    args = parser.parse_args(argv)
    if args.redraw is not None:
        figure(json.loads(args.redraw.read_text(encoding="utf-8")), args.figure)
        print(f"figure: {args.figure}")
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    sizes = sorted(sizes, key=lambda n: (n <= 0, n))  # "all" (0) last
    history_seeds = [int(s) for s in args.history_seeds.split(",") if s.strip()]

    started = time.perf_counter()
    embedder = _embedder(args.embedder)
    per_history, histories = [], []
    for seed in history_seeds:
        ds = build(seed, args.n_rounds, args.per_round, args.holdout_rounds, embedder)
        runs, baselines = runs_of(ds, sizes, args.seeds, args.estimator, args.calibration)
        per_history.append((runs, baselines))
        histories.append(
            {
                "seed": seed,
                "train_decisions": int(ds.train.sum()),
                "test_decisions": int(ds.is_test.sum()),
                "baselines_ndcg10": {k: round(v, 4) for k, v in baselines.items()},
                "ranker_ndcg10_runs": {
                    ("all" if k == 0 else str(k)): [round(v, 4) for v in vals]
                    for k, vals in runs.items()
                },
            }
        )
    rows = summarize(per_history, sizes)
    threshold = enough(rows, args.share)
    result = {
        "command": "benchmarks/learning_curve.py " + " ".join(argv or sys.argv[1:]),
        "embedder": str(embedder.model_id_),
        "estimator": args.estimator,
        "calibration": args.calibration,
        "n_rounds": args.n_rounds,
        "per_round": args.per_round,
        "holdout_rounds": args.holdout_rounds,
        "draws_per_size": args.seeds,
        "share_required": args.share,
        "histories": histories,
        "curve": rows,
        "enough_decisions": threshold,
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print(
        f"embedder: {result['embedder']}  estimator: {args.estimator}  "
        f"calibration: {args.calibration}  histories: {history_seeds}  "
        f"draws per size: {args.seeds}"
    )
    for h in histories:
        b = h["baselines_ndcg10"]
        print(
            f"  history {h['seed']}: {h['train_decisions']} training / "
            f"{h['test_decisions']} held-out decisions; unsupervised ndcg@10 "
            f"{b['unsupervised']:.4f}, bm25 {b['bm25']:.4f}"
        )
    print(
        f"{'decisions':>9} {'runs':>4} {'ranker ndcg@10':>16} {'margin vs unsup.':>18} "
        f"{'min margin':>10} {'beats':>6}"
    )
    for row in rows:
        print(
            f"{row['decisions']!s:>9} {row['runs']:>4} "
            f"{row['ranker_ndcg10_mean']:>8.4f} ± {row['ranker_ndcg10_std']:.4f} "
            f"{row['margin_mean']:>+9.4f} ± {row['margin_std']:.4f} "
            f"{row['margin_min']:>+10.4f} {row['share_beating_unsupervised']:>6.0%}"
        )
    print(
        f"enough (beats the fallback in >= {args.share:.0%} of runs and on average, "
        f"at that size and above): {threshold if threshold is not None else 'not reached'}"
    )
    if str(args.figure):
        figure(result, args.figure)
        print(f"figure: {args.figure}")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
