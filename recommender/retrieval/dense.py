"""The dense side of candidate retrieval: a FAISS inner-product index over L2-normalized
program vectors, exact (`IndexFlatIP`) or HNSW (`IndexHNSWFlat`), and the top-n search over
the programs that pass the filters (a filtered search, or an exact one over a small subset).
"""

from __future__ import annotations

import logging

import faiss
import numpy as np

from recommender.errors import InvalidInputError
from recommender.retrieval.fusion import top_positions

__all__ = ["build_index", "dense_top", "unit_rows"]

logger = logging.getLogger(__name__)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """`matrix` with each row L2-normalized, float32, C-contiguous.

    Raises:
        InvalidInputError: NaN or infinite values, or an all-zero row.
    """
    if not np.isfinite(matrix).all():
        raise InvalidInputError("vectors contain NaN or infinite values")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms <= 1e-12).any():
        raise InvalidInputError("vectors contain an all-zero row")
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def build_index(
    matrix: np.ndarray, index_type: str, hnsw_m: int, ef_construction: int, ef_search: int
) -> faiss.Index:
    """A FAISS inner-product index of `matrix`'s rows ("flat": exact; "hnsw": HNSW graph)."""
    dim = matrix.shape[1]
    if index_type == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
    index.add(matrix)
    return index


def dense_top(
    index: faiss.Index,
    index_type: str,
    vectors: np.ndarray,
    query: np.ndarray,
    passing: np.ndarray,
    n: int,
    *,
    hnsw_threshold: int,
    ef_search: int,
) -> np.ndarray:
    """Positions of the n passing programs most similar to `query`, best first.

    Args:
        index: the FAISS index of `vectors` (row i = program i).
        index_type: "flat" or "hnsw".
        vectors: (n_programs, dim) the indexed vectors.
        query: (dim,) the normalized query vector.
        passing: sorted positions of the programs that pass the filters.
        n: how many.
        hnsw_threshold: at most this many passing programs are searched exactly.
        ef_search: HNSW search-time beam width (raised to n when smaller).
    """
    everyone = passing.size == vectors.shape[0]
    if index_type == "hnsw" and passing.size > hnsw_threshold:
        params = faiss.SearchParametersHNSW(efSearch=max(ef_search, n))
        if not everyone:
            selector = faiss.IDSelectorBatch(passing.astype(np.int64))
            params.sel = selector
        _, labels = index.search(query[None, :], n, params=params)
        found = labels[0][labels[0] >= 0]
        if found.size >= n:
            return found[:n]
        logger.info("filtered HNSW search found %d of %d; searching exactly", found.size, n)
    elif index_type == "flat":
        params = None
        if not everyone:
            selector = faiss.IDSelectorBatch(passing.astype(np.int64))
            params = faiss.SearchParameters(sel=selector)
        _, labels = index.search(query[None, :], n, params=params)
        return labels[0][labels[0] >= 0][:n]
    # A small passing subset of a large catalogue: exact search over just that subset.
    scores = vectors[passing] @ query
    return passing[top_positions(scores, n)]
