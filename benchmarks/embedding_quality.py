"""Retrieval and similarity quality on public Persian sets: lexical, dense and the hybrid.

Methods, all on `recommender.text.normalization.normalize`d text:

- tfidf_char: TF-IDF over character 2-5-grams inside word bounds (sklearn `char_wb`);
- bm25: `recommender.retrieval.lexical.BM25Index` over hazm tokens (the product's lexical signal);
- dense: the default embedder (`recommender.embedding.encoder.Embedder`), cosine similarity;
- hybrid: `recommender.retrieval.hybrid.CandidateRetriever` with its default fusion, run exactly as
  the product runs it (the passages are indexed as programs).

Sets (from `--data`, never copied into the repository; see its README.md):

- 05_parsinlu_rc_retrieval, 06_persianqa_retrieval (qrels_answerable.tsv),
  08_farsnews_title_retrieval (headline -> article body): Recall@1, Recall@10, MRR@10,
  nDCG@10 over the whole corpus. Set 05 is also reported on its "train" split, the only
  queries the previous ("weighted") fusion defaults were chosen on, and on the held-out rest.
- leave one set out (with two or more retrieval sets): for each set, the adaptive fusion's
  coefficients are chosen on the other sets' queries alone (grid search over a simulation of
  the retriever's fusion: among the settings no more than 0.005 below any set's best single
  method, the highest mean gain over it), and the product's retriever is run with them on
  this set.
  The coefficients chosen on all sets are printed too (`ADAPTIVE_COEFFICIENTS`).
- 01_parsinlu_qqp (label 1 = paraphrase) and 02_farstail (entailment = 1, contradiction = 0,
  neutral dropped): ROC AUC of each method's similarity score for the pair. Both sides are
  embedded as queries (the symmetric use of e5). The hybrid score of a pair is the fused
  score the retriever gives the right-hand text when the left-hand one is the query, over an
  index of all right-hand texts of the set (`CandidateRetriever.score_programs`). That score
  is normalized per query against the query's best candidates, so it says "how this text
  ranks among the others for this query", not an absolute similarity: its pair AUC is not
  comparable with the other methods' (it loses on 01, where each question has one partner
  among unrelated ones, and wins on 02, where each premise's own hypotheses compete).

Passage and query vectors are cached in `.cache/eval/embeddings.sqlite` (the Embedder's own
vector cache, keyed by model id, role and text hash), so a rerun only embeds what is new.

Usage:
    .venv/bin/python benchmarks/embedding_quality.py --data ../shared/eval
        [--sets 05 06 08 01 02] [--limit N] [--set-limit 08=400] [--runtime auto]
        [--model multilingual-e5-small] [--fusion weighted]
        [--pair-split test] [--sweep] [--out benchmarks/results/embedding_quality.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from recommender.retrieval.filters import ProgramFilter  # noqa: E402
from recommender.retrieval.fusion import FUSION_METHODS  # noqa: E402
from recommender.retrieval.hybrid import CandidateRetriever  # noqa: E402
from recommender.schemas import Program  # noqa: E402
from recommender.text.normalization import normalize  # noqa: E402
from training.metrics import mrr_at_k, ndcg_at_k, recall_at_k, relevance_matrix  # noqa: E402

csv.field_size_limit(1 << 30)

RETRIEVAL_SETS = {
    "05": "05_parsinlu_rc_retrieval",
    "06": "06_persianqa_retrieval",
    "08": "08_farsnews_title_retrieval",
}
PAIR_SETS = {"01": "01_parsinlu_qqp", "02": "02_farstail"}
METHODS = ("tfidf_char", "bm25", "dense", "hybrid")
PAIR_HYBRID_NOTE = (
    "hybrid = the retriever's fused score, normalized per query against its best candidates: "
    "a within-query rank signal, not an absolute similarity; not comparable across methods"
)
TUNING_SPLIT = "train"  # set 05's split the fusion defaults were chosen on
K = 10


# --------------------------------------------------------------------------- data


@dataclass
class RetrievalSet:
    name: str
    passage_ids: list[str]
    passages: list[str]
    query_ids: list[str]
    queries: list[str]
    relevant: list[set[str]]
    splits: list[str] = field(default_factory=list)


@dataclass
class PairSet:
    name: str
    left: list[str]
    right: list[str]
    labels: np.ndarray


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def load_retrieval_set(data: Path, key: str, limit: int | None) -> RetrievalSet:
    """Queries that have a relevant passage, and the corpus (cut down with `limit`)."""
    folder = data / RETRIEVAL_SETS[key]
    corpus_rows = _rows(folder / "corpus.tsv")
    text_column = "passage" if "passage" in corpus_rows[0] else "context"
    corpus = [(r["pid"], r[text_column]) for r in corpus_rows]
    queries = [(r["qid"], r["question"], r.get("split") or "all")
               for r in _rows(folder / "queries.tsv")]
    qrels_file = folder / "qrels_answerable.tsv"
    if not qrels_file.exists():
        qrels_file = folder / "qrels.tsv"
    relevant: dict[str, set[str]] = {}
    for row in _rows(qrels_file):
        if float(row["rel"]) > 0:
            relevant.setdefault(row["qid"], set()).add(row["pid"])
    queries = [q for q in queries if q[0] in relevant]
    if limit is not None:
        queries = queries[:limit]
        keep = set().union(*(relevant[q[0]] for q in queries)) | {p for p, _ in corpus[:limit]}
        corpus = [c for c in corpus if c[0] in keep]
    return RetrievalSet(
        name=RETRIEVAL_SETS[key],
        passage_ids=[p for p, _ in corpus],
        passages=[normalize(text) for _, text in corpus],
        query_ids=[q for q, _, _ in queries],
        queries=[normalize(text) for _, text, _ in queries],
        relevant=[relevant[q] for q, _, _ in queries],
        splits=[split for _, _, split in queries],
    )


def load_pair_set(data: Path, key: str, split: str, limit: int | None) -> PairSet:
    """Pairs of the split ("all" for every split), labels 1/0."""
    folder = data / PAIR_SETS[key]
    if key == "01":
        rows = [(r["q1"], r["q2"], int(r["label"]), r["split"])
                for r in _rows(folder / "qqp_all.tsv")]
    else:
        label = {"e": 1, "c": 0}
        rows = [(r["premise"], r["hypothesis"], label[r["label"]], r["split"])
                for r in _rows(folder / "farstail_all.tsv") if r["label"] in label]
    rows = [r for r in rows if split == "all" or r[3] == split]
    if limit is not None:
        rows = rows[:limit]
    return PairSet(
        name=PAIR_SETS[key],
        left=[normalize(r[0]) for r in rows],
        right=[normalize(r[1]) for r in rows],
        labels=np.array([r[2] for r in rows], dtype=np.int64),
    )


# --------------------------------------------------------------------------- embeddings


class CachedEncoder:
    """The default embedder with its own vector cache (`Embedder(cache_path=...)`), so a rerun
    only embeds what it has not seen; encodes in batches to report progress."""

    def __init__(self, model: str, runtime: str, models_dir: Path | None, cache_dir: Path):
        from recommender.embedding.encoder import Embedder

        started = time.perf_counter()
        self.embedder = Embedder(
            model=model, runtime=runtime, models_dir=models_dir,
            cache_path=cache_dir / "embeddings.sqlite",
        ).fit()
        self.load_seconds = time.perf_counter() - started
        self.model_id = self.embedder.model_id_
        self.encode_seconds = 0.0

    def encode(self, texts: Sequence[str], role: str, batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32 vectors; `role` is "query" or "passage"."""
        embed = self.embedder.embed_queries if role == "query" else self.embedder.embed_passages
        parts = []
        for start in range(0, len(texts), batch_size):
            began = time.perf_counter()
            parts.append(embed(list(texts[start : start + batch_size])))
            self.encode_seconds += time.perf_counter() - began
            print(f"  {role}: {min(start + batch_size, len(texts))}/{len(texts)}",
                  file=sys.stderr, flush=True)
        return np.concatenate(parts) if parts else np.zeros((0, self.embedder.dim_), np.float32)


# --------------------------------------------------------------------------- methods


def _tfidf_char() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))


def _as_programs(ids: Sequence[str], texts: Sequence[str]) -> list[Program]:
    """Passages dressed as programs, so the product's retriever can index them."""
    return [
        Program(id=pid, name=pid, kind="accelerator", description=text[:20_000] or "-",
                province="-")
        for pid, text in zip(ids, texts, strict=True)
    ]


def _rank_metrics(ranked: list[list[str]], data: RetrievalSet, mask: np.ndarray) -> dict:
    rel = relevance_matrix([r for r, m in zip(ranked, mask, strict=True) if m],
                           [s for s, m in zip(data.relevant, mask, strict=True) if m], k=K)
    n_rel = [len(s) for s, m in zip(data.relevant, mask, strict=True) if m]
    return {
        "n_queries": int(mask.sum()),
        "recall@1": recall_at_k(rel, 1, n_rel),
        "recall@10": recall_at_k(rel, K, n_rel),
        "mrr@10": mrr_at_k(rel, K, n_rel),
        "ndcg@10": ndcg_at_k(rel, K, _ideal(n_rel)),
    }


def _ideal(n_rel: list[int]) -> np.ndarray:
    width = max(n_rel)
    return np.array([[1.0] * n + [0.0] * (width - n) for n in n_rel])


def _top_ids(scores: np.ndarray, ids: Sequence[str]) -> list[list[str]]:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    return [[ids[j] for j in row] for row in top]


def _subsets(data: RetrievalSet) -> dict[str, np.ndarray]:
    splits = np.array(data.splits)
    subsets = {"all": np.ones(len(splits), dtype=bool)}
    if data.name == RETRIEVAL_SETS["05"] and TUNING_SPLIT in set(data.splits):
        subsets[f"{TUNING_SPLIT} (tuning)"] = splits == TUNING_SPLIT
        subsets["held-out"] = splits != TUNING_SPLIT
    return {name: mask for name, mask in subsets.items() if mask.any()}


def hybrid_rankings(retriever: CandidateRetriever, data: RetrievalSet, qv: np.ndarray):
    everything = ProgramFilter(active_only=False)
    return [
        [c.program_id for c in retriever.search(v, text, k=K, filters=everything)]
        for v, text in zip(qv, data.queries, strict=True)
    ]


def evaluate_retrieval(
    data: RetrievalSet, encoder: CachedEncoder | None, sweep: bool
) -> dict[str, Any]:
    rankings: dict[str, list[list[str]]] = {}
    seconds: dict[str, float] = {}

    began = time.perf_counter()
    vectorizer = _tfidf_char().fit(data.passages)
    tfidf = (vectorizer.transform(data.queries) @ vectorizer.transform(data.passages).T).toarray()
    rankings["tfidf_char"] = _top_ids(tfidf, data.passage_ids)
    seconds["tfidf_char"] = time.perf_counter() - began

    programs = _as_programs(data.passage_ids, data.passages)
    if encoder is not None:
        pv = encoder.encode(data.passages, "passage")
        qv = encoder.encode(data.queries, "query")
        model_id = encoder.model_id
    else:  # lexical only: the retriever still needs vectors; dense results are not reported
        pv = np.eye(len(programs), 8, dtype=np.float32) + 1e-3
        qv = np.ones((len(data.queries), 8), dtype=np.float32)
        model_id = "none"
    began = time.perf_counter()
    retriever = CandidateRetriever(**HYBRID_PARAMS).fit(
        programs, pv, model_id, texts=data.passages
    )
    bm25 = np.stack([retriever.lexical_.scores(q) for q in data.queries])
    rankings["bm25"] = _top_ids(bm25, data.passage_ids)
    seconds["bm25 (index + score)"] = time.perf_counter() - began

    if encoder is not None:
        dense = qv @ pv.T
        rankings["dense"] = _top_ids(dense, data.passage_ids)
        began = time.perf_counter()
        rankings["hybrid"] = hybrid_rankings(retriever, data, qv)
        seconds["hybrid search"] = time.perf_counter() - began

    subsets = _subsets(data)
    if encoder is not None:
        FUSION_DATA[data.name] = (retriever, qv, fusion_pools(dense, bm25, data))
        HELD_DATA[data.name] = data
    result: dict[str, Any] = {
        "n_passages": len(data.passages),
        "seconds": seconds,
        "metrics": {
            subset: {m: _rank_metrics(r, data, mask) for m, r in rankings.items()}
            for subset, mask in subsets.items()
        },
    }
    if sweep and encoder is not None:
        result["sweep"] = fusion_sweep(retriever, data, qv, subsets)
    return result


# --------------------------------------------------------------------------- adaptive fusion

#: per retrieval set: (retriever, query vectors, pools) for the leave-one-set-out check
FUSION_DATA: dict[str, tuple[CandidateRetriever, np.ndarray, dict[str, np.ndarray]]] = {}
POOL = 100  # CandidateRetriever's default candidate_pool


def _pool_top(scores: np.ndarray, n: int) -> np.ndarray:
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.lexsort((part, -scores[part]))]


def fusion_pools(dense: np.ndarray, bm25: np.ndarray, data: RetrievalSet) -> dict[str, np.ndarray]:
    """Per query, what `CandidateRetriever`'s fusion sees (the union of both top-100 lists,
    each signal min-max normalized over its own list) and the label-free signals of the
    adaptive weight; the relevance flags are used only to score settings afterwards."""
    n_q, n_p = dense.shape
    n = min(POOL, n_p)
    shape = (n_q, 2 * n)
    D, L = np.full(shape, -np.inf), np.zeros(shape)
    R = np.zeros(shape, dtype=bool)
    signals = np.zeros((n_q, 3))  # BM25 margin, dense gap, top-10 overlap
    index = {pid: j for j, pid in enumerate(data.passage_ids)}
    for q in range(n_q):
        d, b = dense[q].astype(np.float64), bm25[q].astype(np.float64)
        dense_pos = _pool_top(d, n)
        lexical_all = _pool_top(b, n)
        lexical_pool = b[lexical_all]
        lexical_pos = lexical_all[lexical_pool > 0]
        union = np.unique(np.concatenate([dense_pos, lexical_pos]))
        dense_pool = d[dense_pos]
        spread = max(dense_pool.max() - dense_pool.min(), 1e-12)
        D[q, : union.size] = (d[union] - dense_pool.min()) / spread
        if lexical_pos.size:
            lex_spread = max(lexical_pool.max() - lexical_pool.min(), 1e-12)
            L[q, : union.size] = (b[union] - lexical_pool.min()) / lex_spread
        relevant = {index[p] for p in data.relevant[q]}
        R[q, : union.size] = [j in relevant for j in union]
        s1 = lexical_pool[0]
        s2 = lexical_pool[1] if lexical_pool.size > 1 else 0.0
        signals[q] = (
            (s1 - s2) / s1 if s1 > 0 else 0.0,
            (dense_pool[0] - dense_pool[1]) / spread if dense_pool.size > 1 else 0.0,
            len(set(dense_pos[:10].tolist()) & set(lexical_pos[:10].tolist())) / 10.0,
        )
    return {"D": D, "L": L, "R": R, "signals": signals, "has_lexical": (L > 0).any(axis=1)}


def _pool_mrr(pools: dict[str, np.ndarray], weight: np.ndarray) -> float:
    """MRR@10 of dense_norm + weight * lexical_norm over the pools (dense alone without BM25)."""
    fused = pools["D"] + np.where(pools["has_lexical"], weight, 0.0)[:, None] * pools["L"]
    best = np.where(pools["R"], fused, -np.inf).max(axis=1)
    rank = 1 + (fused > best[:, None]).sum(axis=1)
    return float(np.where(np.isfinite(best) & (rank <= K), 1.0 / rank, 0.0).mean())


def adaptive_grid() -> list[tuple[float, float, float, float]]:
    """Coefficients (b0, b1, b2, b3) searched for the adaptive weight."""
    return [
        (b0, b1, b2, b3)
        for b0 in np.arange(-4.0, 2.01, 0.5)
        for b1 in np.arange(0.0, 8.01, 1.0)
        for b2 in np.arange(-6.0, 0.01, 1.0)
        for b3 in (-2.0, 0.0, 2.0)
    ]


def choose_coefficients(
    pools: dict[str, dict[str, np.ndarray]], best_single: dict[str, float]
) -> tuple[tuple[float, float, float, float], dict[str, float]]:
    """Among the grid points no more than 0.005 MRR@10 below any set's best single method
    (all points if none), the one with the highest mean gain over the best single methods;
    with its MRR@10 on each set."""
    grid = adaptive_grid()
    table = {}
    for name, pool in pools.items():
        m, g, o = pool["signals"].T
        table[name] = np.array([
            _pool_mrr(pool, np.exp(np.clip(b0 + b1 * m + b2 * g + b3 * o, -20.0, 5.0)))
            for b0, b1, b2, b3 in grid
        ])
    gains = np.array([table[n] - best_single[n] for n in pools])
    feasible = gains.min(axis=0) >= -0.005
    mean_gain = np.where(feasible if feasible.any() else True, gains.mean(axis=0), -np.inf)
    i = int(np.argmax(mean_gain))
    coefficients = tuple(round(float(c), 2) for c in grid[i])
    return coefficients, {n: round(float(table[n][i]), 4) for n in pools}  # type: ignore[return-value]


def leave_one_set_out(report: dict[str, Any]) -> dict[str, Any]:
    """For each retrieval set: coefficients chosen on the other sets only, then the product's
    retriever run with them on this set (its MRR@10 is the honest figure for this set); and
    the coefficients chosen on all sets (what ADAPTIVE_COEFFICIENTS should hold)."""
    best_single = {
        name: max(report["retrieval"][name]["metrics"]["all"][m]["mrr@10"]
                  for m in ("tfidf_char", "bm25", "dense"))
        for name in FUSION_DATA
    }
    pools = {name: data[2] for name, data in FUSION_DATA.items()}
    out: dict[str, Any] = {"best_single_mrr@10": best_single, "held_out": {}}
    for held in FUSION_DATA:
        others = {n: p for n, p in pools.items() if n != held}
        coefficients, on_others = choose_coefficients(others, best_single)
        retriever, qv, _ = FUSION_DATA[held]
        defaults = retriever.get_params()
        retriever.set_params(fusion="adaptive", adaptive_coefficients=coefficients)
        data = HELD_DATA[held]
        ranked = hybrid_rankings(retriever, data, qv)
        retriever.set_params(**defaults)
        metrics = _rank_metrics(ranked, data, np.ones(len(data.queries), dtype=bool))
        out["held_out"][held] = {
            "coefficients (chosen on the other sets)": list(coefficients),
            "mrr@10 on the other sets": on_others,
            "mrr@10": round(metrics["mrr@10"], 4),
            "shortfall vs best single": round(metrics["mrr@10"] - best_single[held], 4),
        }
    coefficients, on_all = choose_coefficients(pools, best_single)
    out["chosen_on_all_sets"] = {"coefficients": list(coefficients), "mrr@10 (pools)": on_all}
    return out


HELD_DATA: dict[str, RetrievalSet] = {}
#: the hybrid's settings (`--fusion` changes the method; default: the product's)
HYBRID_PARAMS: dict[str, Any] = {}


def sweep_grid() -> list[dict[str, Any]]:
    """Fusion settings compared by --sweep (the defaults are one of them)."""
    grid: list[dict[str, Any]] = []
    for norm in ("minmax", "zscore"):
        for confidence in (True, False):
            for weight in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0):
                grid.append({"fusion": "weighted", "score_normalization": norm,
                             "lexical_confidence": confidence, "lexical_weight": weight})
    for weight in (0.2, 0.3, 0.5):
        grid.append({"fusion": "rrf", "lexical_weight": weight})
    return grid


def fusion_sweep(
    retriever: CandidateRetriever, data: RetrievalSet, qv: np.ndarray,
    subsets: dict[str, np.ndarray],
) -> list[dict[str, Any]]:
    defaults = retriever.get_params()
    rows = []
    for params in sweep_grid():
        retriever.set_params(**{**defaults, **params})
        ranked = hybrid_rankings(retriever, data, qv)
        rows.append({
            "params": params,
            **{subset: round(_rank_metrics(ranked, data, mask)["mrr@10"], 4)
               for subset, mask in subsets.items()},
        })
    retriever.set_params(**defaults)
    return rows


def evaluate_pairs(data: PairSet, encoder: CachedEncoder | None) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    scores: dict[str, np.ndarray] = {}
    vectorizer = _tfidf_char().fit(data.left + data.right)
    left, right = vectorizer.transform(data.left), vectorizer.transform(data.right)
    scores["tfidf_char"] = np.asarray(left.multiply(right).sum(axis=1)).ravel()

    doc_texts = list(dict.fromkeys(data.right))
    doc_ids = [f"d{i}" for i in range(len(doc_texts))]
    doc_of = dict(zip(doc_texts, doc_ids, strict=True))
    position = {d: i for i, d in enumerate(doc_ids)}
    programs = _as_programs(doc_ids, doc_texts)
    if encoder is not None:
        lv = encoder.encode(data.left, "query")
        rv = encoder.encode(data.right, "query")
        dv = encoder.encode(doc_texts, "query")
        model_id = encoder.model_id
    else:
        dv = np.eye(len(doc_texts), 8, dtype=np.float32) + 1e-3
        lv = np.ones((len(data.left), 8), dtype=np.float32)
        model_id = "none"
    retriever = CandidateRetriever().fit(programs, dv, model_id, texts=doc_texts)
    scores["bm25"] = np.array([
        retriever.lexical_.scores(text)[position[doc_of[r]]]
        for text, r in zip(data.left, data.right, strict=True)
    ])
    if encoder is not None:
        scores["dense"] = np.einsum("ij,ij->i", lv, rv)
        everything = ProgramFilter(active_only=False)
        scores["hybrid"] = np.array([
            retriever.score_programs(v, text, [doc_of[r]], filters=everything)[0].fused_score
            for v, text, r in zip(lv, data.left, data.right, strict=True)
        ])
    return {
        "note": PAIR_HYBRID_NOTE if encoder is not None else None,
        "n_pairs": len(data.labels),
        "positive_share": float(data.labels.mean()),
        "roc_auc": {m: float(roc_auc_score(data.labels, s)) for m, s in scores.items()},
    }


# --------------------------------------------------------------------------- report


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_report(report: dict[str, Any]) -> None:
    rows = [["set", "subset", "method", "R@1", "R@10", "MRR@10", "nDCG@10", "queries"]]
    for name, res in report["retrieval"].items():
        for subset, by_method in res["metrics"].items():
            for method, m in by_method.items():
                rows.append([name, subset, method, f"{m['recall@1']:.3f}",
                             f"{m['recall@10']:.3f}", f"{m['mrr@10']:.3f}",
                             f"{m['ndcg@10']:.3f}", str(m["n_queries"])])
    if len(rows) > 1:
        print(_table(rows))
    rows = [["set", "method", "ROC AUC", "pairs"]]
    for name, res in report["pairs"].items():
        for method, auc in res["roc_auc"].items():
            rows.append([name, method, f"{auc:.3f}", str(res["n_pairs"])])
    if len(rows) > 1:
        print()
        print(_table(rows))
        print("(pairs: " + PAIR_HYBRID_NOTE + ")")
    loso = report.get("leave_one_set_out")
    if loso:
        print("\nadaptive fusion, leave one set out (coefficients chosen on the other sets):")
        rows = [["held-out set", "coefficients", "hybrid MRR@10", "best single", "difference"]]
        for name, res in loso["held_out"].items():
            rows.append([name, json.dumps(res["coefficients (chosen on the other sets)"]),
                         f"{res['mrr@10']:.4f}", f"{loso['best_single_mrr@10'][name]:.4f}",
                         f"{res['shortfall vs best single']:+.4f}"])
        print(_table(rows))
        print("chosen on all sets:", json.dumps(loso["chosen_on_all_sets"]))
    for name, res in report["retrieval"].items():
        if "sweep" in res:
            print(f"\nfusion sweep on {name} (MRR@10; defaults chosen on '{TUNING_SPLIT}'):")
            subsets = [k for k in res["sweep"][0] if k != "params"]
            rows = [["params", *subsets]]
            for row in res["sweep"]:
                rows.append([json.dumps(row["params"]), *(f"{row[s]:.4f}" for s in subsets)])
            print(_table(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared eval folder")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most N queries/pairs per set (and a cut corpus): quick runs")
    parser.add_argument("--set-limit", nargs="+", default=[], metavar="KEY=N",
                        help="a limit for one set only, e.g. 08=400 (overrides --limit there)")
    parser.add_argument("--fusion", default=None, choices=FUSION_METHODS,
                        help="the hybrid's fusion (default: the product's; 'weighted' = before)")
    parser.add_argument("--runtime", default="auto", help="Embedder runtime")
    parser.add_argument("--model", default="multilingual-e5-small", help="Embedder model")
    parser.add_argument("--models-dir", type=Path,
                        default=Path(os.environ.get("PEYVAND_MODEL_CACHE", ROOT / ".cache/models")))
    parser.add_argument("--sets", nargs="+", default=["05", "06", "08", "01", "02"],
                        choices=[*RETRIEVAL_SETS, *PAIR_SETS])
    parser.add_argument("--pair-split", default="test", choices=["train", "dev", "test", "all"],
                        help="split of the pair sets (default test)")
    parser.add_argument("--no-dense", action="store_true", help="lexical methods only")
    parser.add_argument("--sweep", action="store_true",
                        help="also compare fusion settings on the retrieval sets")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "eval")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "embedding_quality.json")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"no eval data folder at {args.data}")
    if args.fusion:
        HYBRID_PARAMS["fusion"] = args.fusion
    try:
        set_limits = {k: int(v) for k, v in (item.split("=", 1) for item in args.set_limit)}
    except ValueError:
        parser.error("--set-limit takes KEY=N, e.g. 08=400")

    encoder = None
    if not args.no_dense:
        encoder = CachedEncoder(args.model, args.runtime, args.models_dir, args.cache_dir)
    report: dict[str, Any] = {
        "command": " ".join(["benchmarks/embedding_quality.py", *(argv or sys.argv[1:])]),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "model_id": encoder.model_id if encoder else None,
        "runtime": args.runtime,
        "retriever_defaults": CandidateRetriever(**HYBRID_PARAMS).get_params(),
        "limit": args.limit,
        "set_limits": set_limits,
        "pair_split": args.pair_split,
        "retrieval": {},
        "pairs": {},
    }
    for key in args.sets:
        began = time.perf_counter()
        if key in RETRIEVAL_SETS:
            data = load_retrieval_set(args.data, key, set_limits.get(key, args.limit))
            report["retrieval"][data.name] = evaluate_retrieval(data, encoder, args.sweep)
        else:
            pairs = load_pair_set(args.data, key, args.pair_split, args.limit)
            report["pairs"][pairs.name] = evaluate_pairs(pairs, encoder)
        print(f"{key}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    if len(FUSION_DATA) >= 2:
        report["leave_one_set_out"] = leave_one_set_out(report)
    if encoder is not None:
        report["embedding"] = {
            "model_load_seconds": round(encoder.load_seconds, 2),
            "chunks_encoded_this_run": encoder.embedder.n_encoded_,
            "embed_seconds_this_run (cache hits included)": round(encoder.encode_seconds, 2),
        }
    print_report(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
