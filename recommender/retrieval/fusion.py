"""Score fusion of the dense and lexical signals, per query.

Over the union of each signal's top `candidate_pool` passing programs (the methods of
`FUSION_METHODS`; `CandidateRetriever` picks one with its `fusion` parameter):

- "adaptive" (default): fused = dense_norm + w * lexical_norm, each signal min-max normalized
  over its own top-`candidate_pool` list, with a lexical weight set per query from what the
  query's own scores show, never from relevance labels:
  w = exp(b0 + b1 m + b2 g + b3 o), where m = (s1 - s2) / s1 is BM25's top-1 margin, g the
  dense top-1 gap (d1 - d2) over the dense top list's range, and o the share of the two
  top-10 lists in common (`ADAPTIVE_COEFFICIENTS`). A query whose rare words single out one
  program (a headline naming its article) gets a high weight; a question whose words are
  spread over many passages a low one. The coefficients were chosen on three public Persian
  retrieval sets of different kinds (questions over short passages, questions over Wikipedia
  paragraphs, news headlines over article bodies) and checked leave-one-set-out: each set's
  figure in benchmarks/embedding_quality.py comes from coefficients chosen on the other two.
- "weighted" (the previous default): the same sum with w = `lexical_weight` * c, where the
  confidence c in [0, 1] is BM25's top-1 margin (s1 - s2) / s1 ("zscore" normalization is
  the other option; `lexical_confidence=False` uses w = `lexical_weight` as is). Chosen on
  the training split of ParsiNLU reading-comprehension retrieval only: it held there and on
  PersianQA but cost up to 0.04 MRR@10 against BM25 alone on headline -> article retrieval.
- Long queries (both): a business plan rather than a question, at least `long_query_chars`
  characters, use w = `long_query_lexical_weight`: over a whole plan BM25 gathers evidence
  from many words, the margin of its best program says little, and on the synthetic history
  lexical evidence is the stronger signal (candidate Recall@50 0.857 with the short-query
  rule, 0.967 with this one; training/evaluate.py).
- "rrf": reciprocal rank fusion, (1 - w) / (rrf_k + dense_rank) + w / (rrf_k + lexical_rank).
- "dense" or "lexical": one signal alone (for comparisons).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "ADAPTIVE_COEFFICIENTS",
    "FUSION_METHODS",
    "SCORE_NORMALIZATIONS",
    "adaptive_weight",
    "lexical_margin",
    "normalize_scores",
    "rrf_scores",
    "top_positions",
]

FUSION_METHODS: tuple[str, ...] = ("adaptive", "weighted", "rrf", "dense", "lexical")
#: (bias, BM25 top-1 margin, dense top-1 gap, top-10 overlap) of the adaptive fusion's
#: log-weight; fitted across the public retrieval sets (see the module docstring).
ADAPTIVE_COEFFICIENTS: tuple[float, float, float, float] = (-1.0, 3.0, -5.0, 0.0)
SCORE_NORMALIZATIONS: tuple[str, ...] = ("minmax", "zscore")


def normalize_scores(scores: np.ndarray, pool: np.ndarray, method: str) -> np.ndarray:
    """Scale `scores` by statistics of `pool` (a signal's own top list for this query)."""
    if pool.size == 0:
        return np.zeros_like(scores)
    if method == "minmax":
        low, spread = float(pool.min()), float(pool.max() - pool.min())
    else:
        low, spread = float(pool.mean()), float(pool.std())
    if spread <= 1e-12:
        return np.zeros_like(scores)
    return (scores - low) / spread


def top_positions(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n largest scores, best first (ties: lower position first)."""
    if n >= scores.size:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.lexsort((part, -scores[part]))]


def rrf_scores(
    union: np.ndarray,
    dense_pos: np.ndarray,
    lexical_pos: np.ndarray,
    lexical_weight: float,
    rrf_k: int,
) -> np.ndarray:
    """Reciprocal rank fusion of the two top lists, over the sorted `union` positions."""
    fused = np.zeros(union.size)
    for weight_c, ranked in ((1.0 - lexical_weight, dense_pos), (lexical_weight, lexical_pos)):
        ranks = np.arange(1, ranked.size + 1, dtype=np.float64)
        fused[np.searchsorted(union, ranked)] += weight_c / (rrf_k + ranks)
    return fused


def lexical_margin(lexical_pool: np.ndarray) -> float:
    """(s1 - s2) / s1 of BM25's two best passing programs: 1 when one stands alone."""
    if lexical_pool.size == 0 or lexical_pool[0] <= 0:
        return 0.0
    second = float(lexical_pool[1]) if lexical_pool.size > 1 else 0.0
    return float((lexical_pool[0] - second) / lexical_pool[0])


def adaptive_weight(
    coefficients: Sequence[float],
    dense_pool: np.ndarray,
    dense_pos: np.ndarray,
    lexical_pos: np.ndarray,
    lexical_pool: np.ndarray,
) -> float:
    """The lexical weight of one short query, from what the query's own scores show
    (never from relevance labels): exp(b0 + b1 m + b2 g + b3 o), where (b0, b1, b2, b3) are
    the `coefficients`, m is BM25's top-1 margin (s1 - s2) / s1, g the dense top-1 gap
    (d1 - d2) over the dense top list's range, and o the share of programs the two top-10
    lists have in common."""
    b0, b1, b2, b3 = (float(c) for c in coefficients)
    margin = lexical_margin(lexical_pool)
    spread = float(dense_pool.max() - dense_pool.min()) if dense_pool.size > 1 else 0.0
    gap = float(dense_pool[0] - dense_pool[1]) / spread if spread > 1e-12 else 0.0
    overlap = len(set(dense_pos[:10].tolist()) & set(lexical_pos[:10].tolist())) / 10.0
    return float(np.exp(np.clip(b0 + b1 * margin + b2 * gap + b3 * overlap, -20.0, 5.0)))
