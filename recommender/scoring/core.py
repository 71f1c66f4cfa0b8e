"""The one scoring core: prepared plans x programs -> features -> the trained ranker (or the
unsupervised fallback) -> fit score, P(residency), P(funding), expected funding and hard
eligibility, vectorized over every (plan, program) pair asked for.

`pipeline.Recommender` calls it for one plan over its candidates, `rounds.scoring.score_round`
for a batch of plans over the round's programs. A pair gets the same numbers either way: a
pair's features depend only on the plan, the applicant and the program (`FeatureBuilder`
computes them per plan over the whole catalogue), and the ranker scores rows independently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from recommender.eligibility import eligibility
from recommender.ranking._forest import replacement_rows
from recommender.ranking.compose import unsupervised_score
from recommender.ranking.features import FEATURE_NAMES, FeatureBuilder
from recommender.retrieval.lexical import BM25Index
from recommender.schemas import Application
from recommender.text.normalization import tokenize

__all__ = [
    "EmptyEmbedding",
    "PairScores",
    "PlanEmbedder",
    "PreparedPlan",
    "RankingModel",
    "ScoringCore",
    "cap_blas",
    "embed_plans",
    "has_words",
    "lexical_row",
    "plan_pairs",
]


class PlanEmbedder(Protocol):
    """What the scoring core needs of an `embedding.Embedder` (fitted)."""

    model_id_: str

    def embed_documents(self, texts: Sequence[str], role: str = ...) -> list[Any]: ...


class RankingModel(Protocol):
    """What the scoring core needs of a fitted `ranking.FitRanker`."""

    def predict(self, X: np.ndarray) -> Any: ...


@dataclass(frozen=True)
class PreparedPlan:
    """A plan made ready for matching (the `Recommender` caches them per raw text).

    Attributes:
        text: the normalized plan.
        embedding: its `DocumentEmbedding` (chunks, pooled, chunk_spans).
        lexical: (n_programs,) BM25 of the plan against each indexed program.
        memo: derived data computed on first use (the explainer's reading of the plan).
    """

    text: str
    embedding: Any
    lexical: np.ndarray
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class EmptyEmbedding:
    """The embedding of a plan with no word: no chunk, a zero vector (a round scores such
    plans without semantic or lexical evidence)."""

    chunks: np.ndarray
    pooled: np.ndarray
    chunk_spans: list[tuple[int, int]] = field(default_factory=list)
    n_tokens: int = 0


@dataclass(frozen=True)
class PairScores:
    """The core's numbers for some (plan, program) pairs, one entry per pair.

    Attributes:
        score: the ranker's (or the unsupervised fallback's) fit score, float64.
        p_residency: P(residency granted); None without a trained ranker.
        p_funding: P(funded); None without a trained ranker.
        expected_funding: expected funded amount in rial; None without a trained ranker.
        eligible: the hard rules of eligibility hold (bool).
    """

    score: np.ndarray
    p_residency: np.ndarray | None
    p_funding: np.ndarray | None
    expected_funding: np.ndarray | None
    eligible: np.ndarray


def has_words(text: str) -> bool:
    """Whether a text has a letter or digit (else there is nothing to match)."""
    return any(ch.isalnum() for ch in text)


def embed_plans(embedder: Any, texts: Sequence[str], role: str, dim: int) -> list[Any]:
    """One `embed_documents` call for the normalized plans that have words; a plan without
    words gets an `EmptyEmbedding` of dimension `dim`."""
    with_words = [has_words(text) for text in texts]
    to_embed = [text for text, ok in zip(texts, with_words, strict=True) if ok]
    embedded = iter(embedder.embed_documents(to_embed, role=role) if to_embed else [])
    empty = EmptyEmbedding(np.zeros((0, dim), np.float32), np.zeros(dim, np.float32))
    return [next(embedded) if ok else empty for ok in with_words]


def lexical_row(index: BM25Index, text: str, tokens: Sequence[str] | None = None) -> np.ndarray:
    """BM25 of a normalized plan against every indexed program: (n_programs,) float32.

    Args:
        index: a fitted `BM25Index`.
        text: the normalized plan.
        tokens: its BM25 tokens when already made (`normalization.tokenize(text)`).
    """
    row = index.scores_for_tokens(list(tokens) if tokens is not None else tokenize(text))
    return np.asarray(row, dtype=np.float32).reshape(-1)


def plan_pairs(n_plans: int, positions: np.ndarray) -> np.ndarray:
    """(n_plans * len(positions), 2) pairs (plan, program position), plan-major."""
    positions = np.asarray(positions, dtype=np.int64)
    return np.stack(
        [np.repeat(np.arange(n_plans), len(positions)), np.tile(positions, n_plans)], axis=1
    )


_blas_capped: int | None = None


def cap_blas(threads: int) -> None:
    """Cap the BLAS thread pools of the process at `threads` (once; never lowered twice).

    Process-wide on purpose: OpenBLAS ignores a raise of its thread count made from a
    thread other than the one that lowered it, so a per-request cap-and-restore would leave
    a threaded server at whatever the last interleaving set.
    """
    global _blas_capped
    if _blas_capped is not None and _blas_capped <= threads:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    _blas_capped = threads


def _scores(out: Any) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """(score, {"p_residency", "p_funding", "expected_funding"}) of a ranker's output."""
    return np.asarray(out.score, dtype=np.float64), {
        "p_residency": np.asarray(out.p_residency, dtype=np.float64),
        "p_funding": np.asarray(out.p_funding, dtype=np.float64),
        "expected_funding": np.asarray(out.expected_funding, dtype=np.float64),
    }


class ScoringCore:
    """Features and ranker scores of (plan, program) pairs.

    Args:
        feature_builder: a fitted `FeatureBuilder` (program positions are its order).
        ranker: a fitted `ranking.FitRanker` (`predict(X) -> RankerOutput`), or None for the
            unsupervised fallback.
        fallback: the scorer used without a ranker, (n, n_features) -> (n,); default
            `ranking.unsupervised_score`.
    """

    def __init__(
        self,
        feature_builder: FeatureBuilder,
        ranker: Any | None = None,
        fallback: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.feature_builder = feature_builder
        self.ranker = ranker
        self.fallback = fallback if fallback is not None else unsupervised_score
        self.feature_names = list(getattr(feature_builder, "feature_names_", FEATURE_NAMES))

    def features(
        self,
        applications: Sequence[Application],
        plans: Sequence[PreparedPlan],
        positions: np.ndarray,
    ) -> np.ndarray:
        """The feature rows of every (plans[i], program at positions[j]) pair, plan-major.

        `applications[i]` holds the facts of `plans[i]`'s applicant.
        """
        lexical = np.stack([np.asarray(p.lexical, dtype=np.float32) for p in plans])
        return self.feature_builder.transform(
            list(applications),
            [p.embedding for p in plans],
            lexical,
            pairs=plan_pairs(len(plans), positions),
        )

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
        """Fit scores (float64) and, with a trained ranker, the probabilities of rows `X`:
        (score, {"p_residency", "p_funding", "expected_funding"} -> array or None)."""
        if self.ranker is None:
            return np.asarray(self.fallback(X), dtype=np.float64), {
                "p_residency": None, "p_funding": None, "expected_funding": None,
            }
        return _scores(self.ranker.predict(X))

    def predict_replaced(
        self, rows: np.ndarray, baseline: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
        """`predict(replacement_rows(rows, baseline))`: the trained ranker computes it
        without re-walking the trees a replaced feature cannot change (same values)."""
        if self.ranker is None or not hasattr(self.ranker, "predict_replaced"):
            return self.predict(replacement_rows(rows, baseline))
        return _scores(self.ranker.predict_replaced(rows, baseline))

    def eligible(
        self, X: np.ndarray, applications: Sequence[Application], positions: np.ndarray
    ) -> np.ndarray:
        """Hard eligibility of the rows of `X` (made by `features` for these applications and
        positions): the `eligible` feature, else `recommender.eligibility.eligibility` per pair."""
        if "eligible" in self.feature_names:
            return X[:, self.feature_names.index("eligible")] > 0
        programs = self.feature_builder.programs_
        return np.array(
            [eligibility(a, programs[int(p)]) is None for a in applications for p in positions],
            dtype=bool,
        )

    def score(
        self,
        applications: Sequence[Application],
        plans: Sequence[PreparedPlan],
        positions: np.ndarray,
    ) -> PairScores:
        """Every (plans[i], program at positions[j]) pair scored, plan-major."""
        X = self.features(applications, plans, positions)
        score, extra = self.predict(X)
        return PairScores(
            score=score,
            p_residency=extra["p_residency"],
            p_funding=extra["p_funding"],
            expected_funding=extra["expected_funding"],
            eligible=self.eligible(X, applications, positions),
        )
