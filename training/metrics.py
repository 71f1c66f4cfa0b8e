"""Ranking metrics as pure numpy functions: Recall@k, MRR@k, nDCG@k, MAP@k; and the
calibration metrics of probabilities: Brier score, expected calibration error, reliability curve.

Every function takes a relevance matrix: row i holds the relevance of the items ranked for
query i, best first (0 = not relevant; binary 0/1 or graded gains). Rows shorter than k are
padded with zeros by `relevance_matrix`. Queries without any relevant item are skipped, as
trec_eval does; a call where no query has a relevant item raises `ValueError`.

Caution: by default the relevant items of a query are those found in its row, which is right
only when each row ranks every candidate. For a truncated top-k list, pass `n_relevant` (or
`ideal_relevance`): otherwise the queries whose relevant items fell outside the list are
skipped and the figure comes out too high (MRR@10 0.746 instead of 0.664 on a real set).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

__all__ = [
    "brier_score",
    "expected_calibration_error",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "recall_at_k",
    "relevance_matrix",
    "reliability_curve",
]


def relevance_matrix(
    ranked_ids: Sequence[Sequence[object]],
    relevant: Sequence[Collection[object] | Mapping[object, float]],
    k: int | None = None,
) -> np.ndarray:
    """Relevance of each ranked item, from ranked id lists and each query's relevant ids.

    Args:
        ranked_ids: per query, the retrieved ids, best first.
        relevant: per query, the relevant ids (a set: gain 1 each) or a mapping id -> gain.
        k: columns to keep (default: the longest ranked list).

    Returns:
        Array (n_queries, k) float64; missing positions are 0.
    """
    if len(ranked_ids) != len(relevant):
        raise ValueError(f"{len(ranked_ids)} rankings but {len(relevant)} relevance sets")
    width = k if k is not None else max((len(r) for r in ranked_ids), default=0)
    out = np.zeros((len(ranked_ids), width), dtype=np.float64)
    for i, (ranked, rel) in enumerate(zip(ranked_ids, relevant, strict=True)):
        gains = rel if isinstance(rel, Mapping) else dict.fromkeys(rel, 1.0)
        for j, item in enumerate(list(ranked)[:width]):
            out[i, j] = float(gains.get(item, 0.0))
    return out


def _check(relevance: np.ndarray, k: int) -> np.ndarray:
    rel = np.asarray(relevance, dtype=np.float64)
    if rel.ndim != 2:
        raise ValueError(f"relevance must be 2-D (n_queries, n_ranked), got shape {rel.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if np.any(rel < 0):
        raise ValueError("relevance values must be >= 0")
    return rel


def _n_relevant(rel: np.ndarray, n_relevant: np.ndarray | Sequence[int] | None) -> np.ndarray:
    if n_relevant is None:
        return (rel > 0).sum(axis=1).astype(np.float64)
    counts = np.asarray(n_relevant, dtype=np.float64)
    if counts.shape != (rel.shape[0],):
        raise ValueError(f"n_relevant must have shape ({rel.shape[0]},), got {counts.shape}")
    return counts


def _mean_over_answerable(values: np.ndarray, answerable: np.ndarray) -> float:
    if not answerable.any():
        raise ValueError("no query has a relevant item; the metric is undefined")
    return float(values[answerable].mean())


def recall_at_k(
    relevance: np.ndarray, k: int, n_relevant: np.ndarray | Sequence[int] | None = None
) -> float:
    """Mean over queries of (relevant items in the top k) / (relevant items in total).

    Args:
        relevance: (n_queries, n_ranked) relevance of the ranked items, best first.
        k: cut-off.
        n_relevant: (n_queries,) number of relevant items per query; default: the relevant
            items found anywhere in the row (right when the whole corpus is ranked).

    Returns:
        Recall@k in [0, 1]. With one relevant item per query this is the hit rate.
    """
    rel = _check(relevance, k)
    total = _n_relevant(rel, n_relevant)
    hits = (rel[:, :k] > 0).sum(axis=1)
    answerable = total > 0
    recall = np.divide(hits, total, out=np.zeros_like(total), where=answerable)
    return _mean_over_answerable(recall, answerable)


def mrr_at_k(
    relevance: np.ndarray, k: int, n_relevant: np.ndarray | Sequence[int] | None = None
) -> float:
    """Mean reciprocal rank of the first relevant item within the top k (0 when none is).

    Args:
        relevance: (n_queries, n_ranked) relevance of the ranked items, best first.
        k: cut-off.
        n_relevant: (n_queries,) relevant items per query, used only to skip queries that
            have none; default: those found in the row.

    Returns:
        MRR@k in [0, 1].
    """
    rel = _check(relevance, k)
    answerable = _n_relevant(rel, n_relevant) > 0
    top = rel[:, :k] > 0
    first = np.argmax(top, axis=1)
    reciprocal = np.where(top.any(axis=1), 1.0 / (first + 1.0), 0.0)
    return _mean_over_answerable(reciprocal, answerable)


def ndcg_at_k(
    relevance: np.ndarray, k: int, ideal_relevance: np.ndarray | None = None
) -> float:
    """Normalized discounted cumulative gain at k, with linear gains: sum rel_i / log2(i + 1).

    Args:
        relevance: (n_queries, n_ranked) gains of the ranked items, best first.
        k: cut-off.
        ideal_relevance: (n_queries, m) gains of all the relevant items of each query in any
            order (zero-padded); default: the row itself (right when the whole corpus is
            ranked).

    Returns:
        nDCG@k in [0, 1].
    """
    rel = _check(relevance, k)
    ideal = rel if ideal_relevance is None else _check(ideal_relevance, k)
    if ideal.shape[0] != rel.shape[0]:
        raise ValueError("ideal_relevance must have one row per query")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    top = rel[:, :k]
    dcg = (top * discounts[: top.shape[1]]).sum(axis=1)
    best = -np.sort(-ideal, axis=1)[:, :k]
    idcg = (best * discounts[: best.shape[1]]).sum(axis=1)
    answerable = idcg > 0
    ndcg = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=answerable)
    return _mean_over_answerable(ndcg, answerable)


def map_at_k(
    relevance: np.ndarray, k: int, n_relevant: np.ndarray | Sequence[int] | None = None
) -> float:
    """Mean average precision at k (binary: relevance > 0 counts as relevant).

    AP@k of a query = sum over relevant positions i <= k of precision@i, divided by
    min(k, relevant items of the query).

    Args:
        relevance: (n_queries, n_ranked) relevance of the ranked items, best first.
        k: cut-off.
        n_relevant: (n_queries,) relevant items per query; default: those found in the row.

    Returns:
        MAP@k in [0, 1].
    """
    rel = _check(relevance, k)
    total = _n_relevant(rel, n_relevant)
    hits = (rel[:, :k] > 0).astype(np.float64)
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    denom = np.minimum(total, k)
    answerable = total > 0
    ap = np.divide(
        (precision * hits).sum(axis=1), denom, out=np.zeros_like(total), where=answerable
    )
    return _mean_over_answerable(ap, answerable)


def _check_probabilities(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_prob, dtype=np.float64).ravel()
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"y_true and y_prob must be non-empty and equal in length: {y.shape}")
    if np.any((p < 0) | (p > 1)) or not np.isfinite(p).all():
        raise ValueError("probabilities must lie in [0, 1]")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must be 0/1")
    return y, p


def brier_score(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Mean squared difference of the probabilities and the 0/1 outcomes (0 = perfect)."""
    y, p = _check_probabilities(y_true, y_prob)
    return float(np.mean((p - y) ** 2))


def reliability_curve(
    y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width probability bin: mean predicted probability, observed rate, count.

    Args:
        y_true: (n,) 0/1 outcomes.
        y_prob: (n,) predicted probabilities.
        n_bins: bins over [0, 1]; the last bin includes 1.

    Returns:
        (mean_predicted, observed_rate, count), each (n_bins,); empty bins hold NaN, NaN, 0.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    y, p = _check_probabilities(y_true, y_prob)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        rate = np.where(count > 0, sum_y / count, np.nan)
    return mean_p, rate, count


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean |observed rate - mean predicted| over equal-width bins.

    Args:
        y_true: (n,) 0/1 outcomes.
        y_prob: (n,) predicted probabilities.
        n_bins: bins over [0, 1].

    Returns:
        ECE in [0, 1] (0 = perfectly calibrated).
    """
    mean_p, rate, count = reliability_curve(y_true, y_prob, n_bins)
    filled = count > 0
    return float(np.sum(count[filled] * np.abs(rate[filled] - mean_p[filled])) / count.sum())
