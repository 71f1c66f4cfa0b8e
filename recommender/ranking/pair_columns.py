"""The feature columns of (application, program) pairs, one function per feature group.

`FeatureBuilder.transform` gathers each side's arrays by the pair indices and calls these in
turn; each returns ``{feature name: (n_pairs,) values}`` for its group of `FEATURES`. Pure
numpy over all pairs at once, no state: the rules of each column live here, once.

May import: recommender.constants, recommender.errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from recommender.constants import STAGES
from recommender.errors import InvalidInputError

__all__ = [
    "PlanEmbedding",
    "applicant_columns",
    "eligibility_columns",
    "lexical_columns",
    "money_columns",
    "place_columns",
    "residency_columns",
    "sector_columns",
    "semantic_columns",
    "semantic_matrices",
    "stage_columns",
    "unit_rows",
]

#: Ask-to-range distance cap, in factors of ten (also the distance when nothing is funded).
MAX_LOG_DISTANCE = 3.0
#: Cap of funding ask / program funding_max.
MAX_FUNDING_RATIO = 10.0

Columns = dict[str, np.ndarray]


class PlanEmbedding(Protocol):
    """What `transform` needs of an `embedding.DocumentEmbedding`."""

    chunks: np.ndarray
    pooled: np.ndarray


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """`matrix` with its last-axis vectors L2-normalized (zero vectors left as they are)."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def semantic_matrices(
    plans: Sequence[PlanEmbedding], program_vectors: np.ndarray, top_chunks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three semantic scores for every (application, program).

    Args:
        plans: per application, its embedding (`chunks` (n_chunks, dim), `pooled` (dim,)).
        program_vectors: (n_prog, dim) L2-normalized program vectors.
        top_chunks: how many best chunks `top_mean` averages.

    Returns:
        (pooled, best_chunk, top_mean), each (n_app, n_prog) float32.

    Raises:
        InvalidInputError: a plan's vectors have another dimension, or are not finite.
    """
    n_app, (n_prog, dim) = len(plans), program_vectors.shape
    pooled = np.zeros((n_app, dim), dtype=np.float32)
    chunk_list: list[np.ndarray] = []
    for i, plan in enumerate(plans):
        vec = np.asarray(plan.pooled, dtype=np.float32).reshape(-1)
        chunks = np.asarray(plan.chunks, dtype=np.float32)
        if chunks.size == 0:
            chunks = vec[None, :]
        if vec.shape != (dim,) or chunks.ndim != 2 or chunks.shape[1] != dim:
            raise InvalidInputError(
                f"plan {i} has vectors of dimension {vec.size}/{chunks.shape[-1]}, "
                f"the programs have {dim}"
            )
        pooled[i] = vec
        chunk_list.append(chunks)
    if not np.isfinite(pooled).all():
        raise InvalidInputError("plan vectors contain NaN or infinite values")
    # Cosines are summed in float64 and stored as float32, so one plan (a matrix-vector
    # product) and a batch of plans (a matrix product) give the same float32 values: BLAS sums
    # those two in another order, which in float32 moved a score by an ulp (issue 10's "the
    # same score for the same pair" in a request and in a round).
    programs64 = program_vectors.astype(np.float64).T
    pooled_sim = unit_rows(pooled).astype(np.float64) @ programs64
    best = np.empty((n_app, n_prog), dtype=np.float32)
    top_mean = np.empty((n_app, n_prog), dtype=np.float32)
    if n_app:
        counts = np.array([c.shape[0] for c in chunk_list])
        all_sims = (unit_rows(np.concatenate(chunk_list)).astype(np.float64) @ programs64).astype(
            np.float32
        )
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        best[:] = np.maximum.reduceat(all_sims, starts, axis=0)
        k = top_chunks
        for i, (start, count) in enumerate(zip(starts, counts, strict=True)):
            block = all_sims[start : start + count]
            if count <= k:
                top_mean[i] = block.mean(axis=0)
            else:
                top_mean[i] = np.partition(block, count - k, axis=0)[count - k :].mean(axis=0)
    return pooled_sim.astype(np.float32), best, top_mean


def semantic_columns(
    pooled: np.ndarray, best: np.ndarray, top_mean: np.ndarray, a: np.ndarray, p: np.ndarray
) -> Columns:
    """sem_*: the (n_app, n_prog) semantic matrices at the pairs, and sem_pooled as a z-score
    among all programs for the same application."""
    mean = pooled.mean(axis=1, keepdims=True)
    std = pooled.std(axis=1, keepdims=True)
    z = np.divide(pooled - mean, std, out=np.zeros_like(pooled), where=std > 1e-6)
    return {
        "sem_pooled": pooled[a, p],
        "sem_best_chunk": best[a, p],
        "sem_top3_mean": top_mean[a, p],
        "sem_pooled_z": z[a, p],
    }


def lexical_columns(lex: np.ndarray, a: np.ndarray, p: np.ndarray) -> Columns:
    """lex_*: raw BM25 (n_app, n_prog) relative to the application's best program, and its
    log."""
    n_app, n_prog = lex.shape
    row_max = lex.max(axis=1, keepdims=True) if n_prog else np.zeros((n_app, 1))
    lex_norm = np.divide(lex, row_max, out=np.zeros_like(lex), where=row_max > 0)
    return {"lex_bm25_norm": lex_norm[a, p], "lex_bm25_log": np.log1p(lex[a, p])}


def sector_columns(app_sec: np.ndarray, prog_sec: np.ndarray, declared: np.ndarray) -> Columns:
    """sector_*: Jaccard and overlap of the pairs' sector memberships (n_pairs, n_sectors),
    and whether the application declared its sectors (n_pairs,)."""
    inter = np.einsum("ij,ij->i", app_sec, prog_sec)
    union = app_sec.sum(axis=1) + prog_sec.sum(axis=1) - inter
    return {
        "sector_jaccard": np.divide(inter, union, out=np.zeros_like(inter), where=union > 0),
        "sector_any": (inter > 0).astype(np.float32),
        "sectors_declared": declared,
    }


def stage_columns(accepted: np.ndarray, stage_sets: np.ndarray, stage_idx: np.ndarray) -> Columns:
    """stage_*: whether the program accepts the application's stage (`accepted`, bool), and how
    many steps (of 3) the stage (index, (n_pairs,)) is from the nearest stage the program
    accepts (`stage_sets`, (n_pairs, n_stages) bool)."""
    steps = np.abs(np.arange(len(STAGES))[None, :] - stage_idx[:, None]).astype(float)
    steps = np.where(stage_sets, steps, np.inf).min(axis=1)
    steps = np.where(np.isfinite(steps), steps, len(STAGES) - 1) / (len(STAGES) - 1)
    return {"stage_match": accepted.astype(np.float32), "stage_distance": steps}


def place_columns(
    app_city: np.ndarray, app_prov: np.ndarray, prog: Mapping[str, np.ndarray]
) -> Columns:
    """Place: same city / province (normalized keys, empty never matches), remote, reachable."""
    same_city = (app_city == prog["city"]) & (app_city != "")
    same_prov = (app_prov == prog["province"]) & (app_prov != "")
    return {
        "same_city": same_city.astype(np.float32),
        "same_province": same_prov.astype(np.float32),
        "remote_accepted": prog["remote"],
        "place_ok": (same_prov | (prog["remote"] > 0)).astype(np.float32),
    }


def money_columns(ask: np.ndarray, prog: Mapping[str, np.ndarray]) -> Columns:
    """Money: the ask (rial, float64) against the program's range; see the module docstring of
    `features` for the log-distance."""
    fmin, fmax = prog["fmin"], prog["fmax"]
    funds = fmax > 0
    ratio = np.divide(ask, fmax, out=np.zeros_like(ask), where=funds)
    with np.errstate(divide="ignore", invalid="ignore"):
        above = np.log10(np.maximum(ask, 1.0) / np.maximum(fmax, 1.0))
        below = np.log10(np.maximum(fmin, 1.0) / np.maximum(ask, 1.0))
    distance = np.where(ask > fmax, above, np.where(ask < fmin, below, 0.0))
    distance = np.where(funds, distance, np.where(ask > 0, MAX_LOG_DISTANCE, 0.0))
    distance = np.where(ask > 0, distance, 0.0)
    return {
        "program_funds": funds.astype(np.float32),
        "funding_inside": (funds & (ask > 0) & (ask >= fmin) & (ask <= fmax)).astype(float),
        "funding_ratio_max": np.minimum(ratio, MAX_FUNDING_RATIO),
        "funding_log_distance": np.clip(distance, 0.0, MAX_LOG_DISTANCE),
        "funding_ask_log": np.log10(1.0 + ask),
        "equity_percent": prog["equity"],
    }


def residency_columns(needs: np.ndarray, prog: Mapping[str, np.ndarray]) -> Columns:
    """Residency: the application's need (bool) against the program's seats."""
    seats = prog["seats"]
    return {
        "needs_residency": needs.astype(np.float32),
        "seats_log": np.log1p(seats),
        "residency_unmet": (needs & (seats <= 0)).astype(np.float32),
    }


def eligibility_columns(
    holds_kb: np.ndarray, needs: np.ndarray, stage_ok: np.ndarray,
    prog: Mapping[str, np.ndarray],
) -> Columns:
    """Eligibility: the rules of `eligibility` without `residency_only`, over all pairs (the
    applicant holds a knowledge-based certificate, needs residency, its stage is accepted)."""
    kb_required = prog["kb"] > 0
    kb_ok = ~kb_required | holds_kb
    active = prog["active"] > 0
    nothing = needs & (prog["seats"] <= 0) & ~(prog["fmax"] > 0)
    return {
        "kb_required": kb_required.astype(np.float32),
        "kb_ok": kb_ok.astype(np.float32),
        "program_active": active.astype(np.float32),
        "eligible": (active & kb_ok & stage_ok & ~nothing).astype(np.float32),
    }


def applicant_columns(team: np.ndarray) -> Columns:
    """Applicant: team size (float64)."""
    return {"team_size_log": np.log1p(team)}
