"""Candidate retrieval: the programs worth ranking for one business plan.

Two signals, fused:

- dense: cosine similarity of the plan's embedding to each program's embedding, from a FAISS
  inner-product index over L2-normalized vectors: exact (`IndexFlatIP`) up to
  `hnsw_threshold` programs, HNSW (`IndexHNSWFlat`) beyond it;
- lexical: BM25 (`recommender.retrieval.lexical.BM25Index`) over each program's name,
  description and sector keywords, tokenized by hazm.

Filters (`ProgramFilter`) never cost recall: the set of programs that pass is computed first
and the top-k is filled from it (an exact search over that subset, or a filtered HNSW search
that falls back to an exact one), so `search` returns min(k, programs passing) candidates.

Fusion (per query, over the union of each signal's top `candidate_pool` passing programs):

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

The fitted retriever is saved as a versioned folder: `save(root)` writes a complete new
version under `root/versions/` through a temporary folder and a rename, then switches the
`root/CURRENT` pointer with an atomic replace, so a reader never sees a half-written index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from recommender.constants import DEFAULT_CANDIDATES, KIND_LABELS_FA, STAGE_LABELS_FA
from recommender.errors import (
    CorruptArtifactError,
    InvalidInputError,
    ModelMismatchError,
    NotFittedError,
)
from recommender.retrieval.lexical import BM25Index
from recommender.schemas import Program

__all__ = [
    "Candidate",
    "CandidateRetriever",
    "FUSION_METHODS",
    "ProgramFilter",
    "SCORE_NORMALIZATIONS",
    "program_lexical_text",
]

logger = logging.getLogger(__name__)

FUSION_METHODS: tuple[str, ...] = ("adaptive", "weighted", "rrf", "dense", "lexical")
#: (bias, BM25 top-1 margin, dense top-1 gap, top-10 overlap) of the adaptive fusion's
#: log-weight; fitted across the public retrieval sets, see `CandidateRetriever`.
ADAPTIVE_COEFFICIENTS: tuple[float, float, float, float] = (-1.0, 3.0, -5.0, 0.0)
SCORE_NORMALIZATIONS: tuple[str, ...] = ("minmax", "zscore")

_FORMAT = "peyvand.candidate_retriever"
_FORMAT_VERSION = 1
_CONFIG_FILE = "config.json"
_INDEX_FILE = "index.faiss"
_PROGRAMS_FILE = "programs.json"
_LEXICAL_DIR = "lexical"
_CURRENT_FILE = "CURRENT"
_VERSIONS_DIR = "versions"


# --------------------------------------------------------------------------- filters


def _place_key(name: str) -> str:
    """A province/city name reduced for comparison (Arabic letters, half-spaces, case)."""
    text = name.replace("ي", "ی").replace("ك", "ک").replace("\u200c", " ")
    return " ".join(text.split()).casefold()


def _rial(amount: int) -> str:
    return f"{amount:,} ریال"


# One generic Persian sentence per failed condition, for summaries over many programs.
_REASON_SUMMARY_FA: dict[str, str] = {
    "inactive": "برنامه فعال نیست",
    "not_in_list": "برنامه در فهرست برنامه‌های این دوره نیست",
    "kind": "نوع برنامه جزو نوع‌های انتخاب‌شده نیست",
    "province": "برنامه در استان‌های انتخاب‌شده نیست",
    "remote": "برنامه حضور از راه دور را نمی‌پذیرد",
    "sector": "حوزهٔ کاری برنامه با حوزه‌های انتخاب‌شده هم‌خوان نیست",
    "stage": "برنامه این مرحلهٔ رشد را نمی‌پذیرد",
    "knowledge_based": "برنامه فقط شرکت‌های دانش‌بنیان را می‌پذیرد",
    "seats": "ظرفیت خالی برنامه کمتر از حد خواسته‌شده است",
    "funding": "مبلغ درخواستی در بازهٔ تأمین مالی برنامه نیست",
}


@dataclass
class ProgramFilter:
    """Conditions a program must meet to be a candidate. `None` means "no condition".

    Attributes:
        provinces: the program's province is one of these.
        kinds: the program's kind is one of these (see constants.PROGRAM_KINDS).
        sectors: the program covers at least one of these sector slugs.
        stage: the program accepts startups at this stage.
        active_only: drop inactive programs (default).
        min_open_seats: the program has at least this many open residency seats.
        open_seats: open seats per program id (e.g. what is left in a round); programs not in
            it count their `residency_seats`.
        funding_ask: the program can fund this amount (funding_min <= ask <= funding_max).
        funding_range: (low, high) in rial; the program's funding range overlaps it.
        accepts_remote: True keeps only programs that accept remote participants.
        knowledge_based: False drops programs that require a knowledge-based company.
        program_ids: the program is one of these ids (e.g. the programs of a round).
    """

    provinces: Collection[str] | None = None
    kinds: Collection[str] | None = None
    sectors: Collection[str] | None = None
    stage: str | None = None
    active_only: bool = True
    min_open_seats: int | None = None
    open_seats: Mapping[str, int] | None = None
    funding_ask: int | None = None
    funding_range: tuple[int, int] | None = None
    accepts_remote: bool | None = None
    knowledge_based: bool | None = None
    program_ids: Collection[str] | None = None

    def has_conditions(self) -> bool:
        """True when the filter can drop an active program (any condition but `active_only`)."""
        return any(
            (
                self.provinces is not None,
                self.kinds is not None,
                self.sectors is not None,
                self.stage is not None,
                self.min_open_seats is not None,
                bool(self.funding_ask),
                self.funding_range is not None,
                bool(self.accepts_remote),
                self.knowledge_based is False,
                self.program_ids is not None,
            )
        )

    def _failure(self, program: Program) -> tuple[str, str] | None:
        """(reason code, Persian reason) of the first condition `program` fails, or None."""
        if self.active_only and not program.active:
            return "inactive", "این برنامه در حال حاضر فعال نیست."
        if self.program_ids is not None and program.id not in self.program_ids:
            return "not_in_list", "این برنامه در فهرست برنامه‌های انتخاب‌شده نیست."
        if self.kinds is not None and program.kind not in self.kinds:
            label = KIND_LABELS_FA.get(program.kind, program.kind)
            return "kind", f"نوع این برنامه ({label}) جزو نوع‌های انتخاب‌شده نیست."
        if self.provinces is not None:
            wanted = {_place_key(p) for p in self.provinces}
            if _place_key(program.province) not in wanted:
                return "province", (
                    f"این برنامه در استان {program.province} است، نه در استان‌های انتخاب‌شده."
                )
        if self.accepts_remote and not program.accepts_remote:
            return "remote", "این برنامه حضور از راه دور را نمی‌پذیرد."
        if self.sectors is not None and not set(self.sectors) & set(program.sectors):
            return "sector", "حوزه‌های کاری این برنامه با حوزه‌های انتخاب‌شده هم‌خوان نیست."
        if self.stage is not None and self.stage not in program.stages:
            label = STAGE_LABELS_FA.get(self.stage, self.stage)
            return "stage", f"این برنامه استارتاپ‌های مرحلهٔ «{label}» را نمی‌پذیرد."
        if self.knowledge_based is False and program.requires_knowledge_based:
            return "knowledge_based", "این برنامه فقط شرکت‌های دانش‌بنیان را می‌پذیرد."
        if self.min_open_seats is not None:
            seats = program.residency_seats
            if self.open_seats is not None:
                seats = self.open_seats.get(program.id, seats)
            if seats < self.min_open_seats:
                return "seats", (
                    f"ظرفیت خالی این برنامه ({seats}) کمتر از حد خواسته‌شده "
                    f"({self.min_open_seats}) است."
                )
        if self.funding_ask is not None and self.funding_ask > 0:
            if program.funding_max <= 0:
                return "funding", "این برنامه تأمین مالی نمی‌کند."
            if not program.funding_min <= self.funding_ask <= program.funding_max:
                return "funding", (
                    f"مبلغ درخواستی ({_rial(self.funding_ask)}) در بازهٔ تأمین مالی این برنامه "
                    f"({_rial(program.funding_min)} تا {_rial(program.funding_max)}) نیست."
                )
        if self.funding_range is not None:
            low, high = self.funding_range
            if program.funding_max <= 0 or program.funding_max < low or program.funding_min > high:
                return "funding", (
                    f"بازهٔ تأمین مالی این برنامه ({_rial(program.funding_min)} تا "
                    f"{_rial(program.funding_max)}) با بازهٔ انتخاب‌شده هم‌پوشانی ندارد."
                )
        return None

    def matches(self, program: Program) -> tuple[bool, str | None]:
        """Whether `program` passes, and if not, why (one Persian sentence).

        Args:
            program: the program to check.

        Returns:
            (True, None) when it passes, else (False, reason of the first failed condition).
        """
        failure = self._failure(program)
        return (True, None) if failure is None else (False, failure[1])

    def explain_no_match(self, programs: Sequence[Program]) -> str:
        """A Persian sentence saying why none (or few) of `programs` pass, most common first.

        Args:
            programs: the programs that were filtered.

        Returns:
            The explanation, e.g. "هیچ برنامه‌ای با این شرط‌ها پیدا نشد. بیشترین دلیل‌ها: ...".
        """
        counts = Counter(
            failure[0] for failure in map(self._failure, programs) if failure is not None
        )
        if not programs:
            return "هنوز هیچ برنامه‌ای ثبت نشده است."
        if not counts:
            return "همهٔ برنامه‌ها با این شرط‌ها جور هستند."
        parts = [f"{_REASON_SUMMARY_FA[code]} ({n} برنامه)" for code, n in counts.most_common(3)]
        return "هیچ برنامه‌ای با این شرط‌ها پیدا نشد. بیشترین دلیل‌ها: " + "؛ ".join(parts) + "."


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    """One retrieved program.

    Attributes:
        program_id: the program's id.
        dense_score: cosine similarity of the query and program embeddings, in [-1, 1].
        lexical_score: raw BM25 score (>= 0; 0 when no query word occurs in the program).
        fused_score: the fusion's score (comparable only within one query).
        rank: 1-based position in the result list.
    """

    program_id: str
    dense_score: float
    lexical_score: float
    fused_score: float
    rank: int


def program_lexical_text(
    program: Program, sector_terms: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The text BM25 indexes for a program: name, description and sector keywords.

    Args:
        program: the program.
        sector_terms: Persian names/keywords per sector slug (from data/sectors.json); a slug
            without an entry contributes its own words ("food_tech" -> "food tech").

    Returns:
        One text (raw; `BM25Index` tokenizes it).
    """
    terms = sector_terms or {}
    sector_words = [
        " ".join(terms[slug]) if slug in terms else slug.replace("_", " ")
        for slug in program.sectors
    ]
    return "\n".join([program.name, program.description, *sector_words])


def _normalize_scores(scores: np.ndarray, pool: np.ndarray, method: str) -> np.ndarray:
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n largest scores, best first (ties: lower position first)."""
    if n >= scores.size:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.lexsort((part, -scores[part]))]


class CandidateRetriever:
    """Dense (FAISS) + lexical (BM25) candidate retrieval over the program catalogue.

    Args:
        hnsw_threshold: catalogues up to this many programs use an exact `IndexFlatIP`;
            larger ones an `IndexHNSWFlat`. Filtered searches over at most this many passing
            programs are always exact.
        hnsw_m: HNSW graph degree.
        hnsw_ef_construction: HNSW build-time beam width.
        hnsw_ef_search: HNSW search-time beam width (raised to the pool size when smaller).
        fusion: one of FUSION_METHODS.
        adaptive_coefficients: (b0, b1, b2, b3) of the "adaptive" lexical weight (see the
            module docstring).
        lexical_weight: weight of the lexical signal (see the module docstring).
        lexical_confidence: scale the lexical weight by BM25's top-1 margin ("weighted").
        long_query_chars: queries at least this long (a plan, not a question) use
            `long_query_lexical_weight` with no confidence factor.
        long_query_lexical_weight: the lexical weight for long queries ("weighted").
        score_normalization: "minmax" or "zscore" ("weighted" fusion only).
        rrf_k: the constant of reciprocal rank fusion.
        candidate_pool: how many top programs of each signal enter the fusion (at least k).
        sector_terms: Persian keywords per sector slug, added to each program's lexical text.
        bm25_k1: BM25 k1.
        bm25_b: BM25 b.

    Attributes:
        index_: the FAISS index (row i = program i).
        index_type_: "flat" or "hnsw".
        lexical_: the fitted `BM25Index`.
        programs_: the programs, in index order.
        program_ids_: their ids, in index order.
        vectors_: (n_programs, dim) float32, L2-normalized.
        model_id_: id of the embedding model the vectors came from.
        dim_: vector dimension.
    """

    def __init__(
        self,
        *,
        hnsw_threshold: int = 20_000,
        hnsw_m: int = 32,
        hnsw_ef_construction: int = 200,
        hnsw_ef_search: int = 128,
        fusion: str = "adaptive",
        adaptive_coefficients: Sequence[float] = ADAPTIVE_COEFFICIENTS,
        lexical_weight: float = 0.3,
        lexical_confidence: bool = True,
        long_query_chars: int = 300,
        long_query_lexical_weight: float = 0.7,
        score_normalization: str = "minmax",
        rrf_k: int = 60,
        candidate_pool: int = 100,
        sector_terms: Mapping[str, Sequence[str]] | None = None,
        bm25_k1: float = 1.5,
        bm25_b: float = 0.75,
    ) -> None:
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construction = hnsw_ef_construction
        self.hnsw_ef_search = hnsw_ef_search
        self.fusion = fusion
        self.adaptive_coefficients = tuple(float(c) for c in adaptive_coefficients)
        self.lexical_weight = lexical_weight
        self.lexical_confidence = lexical_confidence
        self.long_query_chars = long_query_chars
        self.long_query_lexical_weight = long_query_lexical_weight
        self.score_normalization = score_normalization
        self.rrf_k = rrf_k
        self.candidate_pool = candidate_pool
        self.sector_terms = sector_terms
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    # ------------------------------------------------------------------ configuration

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serializable), as saved in config.json."""
        return {
            "hnsw_threshold": self.hnsw_threshold,
            "hnsw_m": self.hnsw_m,
            "hnsw_ef_construction": self.hnsw_ef_construction,
            "hnsw_ef_search": self.hnsw_ef_search,
            "fusion": self.fusion,
            "adaptive_coefficients": list(self.adaptive_coefficients),
            "lexical_weight": self.lexical_weight,
            "lexical_confidence": self.lexical_confidence,
            "long_query_chars": self.long_query_chars,
            "long_query_lexical_weight": self.long_query_lexical_weight,
            "score_normalization": self.score_normalization,
            "rrf_k": self.rrf_k,
            "candidate_pool": self.candidate_pool,
            "sector_terms": (
                {k: list(v) for k, v in self.sector_terms.items()} if self.sector_terms else None
            ),
            "bm25_k1": self.bm25_k1,
            "bm25_b": self.bm25_b,
        }

    def set_params(self, **params: Any) -> CandidateRetriever:
        """Change constructor arguments (sklearn style). Search-time ones (fusion, weights,
        normalization, pool) apply at once to a fitted retriever; index-time ones (hnsw_*,
        bm25_*, sector_terms) at the next `fit`.

        Returns:
            self.

        Raises:
            InvalidInputError: an unknown name or an invalid value.
        """
        unknown = set(params) - set(self.get_params())
        if unknown:
            raise InvalidInputError(f"unknown parameter(s): {sorted(unknown)}")
        old = self.get_params()
        for name, value in params.items():
            setattr(self, name, value)
        try:
            self._validate_params()
        except InvalidInputError:
            for name in params:
                setattr(self, name, old[name])
            raise
        return self

    def _validate_params(self) -> None:
        if self.fusion not in FUSION_METHODS:
            raise InvalidInputError(f"unknown fusion '{self.fusion}'; use one of {FUSION_METHODS}")
        if self.score_normalization not in SCORE_NORMALIZATIONS:
            raise InvalidInputError(
                f"unknown score_normalization '{self.score_normalization}'; "
                f"use one of {SCORE_NORMALIZATIONS}"
            )
        coefficients = tuple(self.adaptive_coefficients)
        if len(coefficients) != 4 or not all(np.isfinite(c) for c in coefficients):
            raise InvalidInputError("adaptive_coefficients must be 4 finite numbers")
        self.adaptive_coefficients = tuple(float(c) for c in coefficients)
        if not 0.0 <= self.lexical_weight <= 1.0:
            raise InvalidInputError(f"lexical_weight must be in [0, 1], got {self.lexical_weight}")
        if self.candidate_pool < 1 or self.hnsw_threshold < 1 or self.rrf_k < 0:
            raise InvalidInputError("candidate_pool and hnsw_threshold must be >= 1, rrf_k >= 0")

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        programs: Sequence[Program],
        vectors: np.ndarray,
        model_id: str,
        texts: Sequence[str] | None = None,
    ) -> CandidateRetriever:
        """Index the programs' vectors and texts.

        Args:
            programs: the catalogue (ids unique).
            vectors: (n_programs, dim) embeddings of the programs, row i for programs[i]
                (L2-normalized here).
            model_id: the embedding model's id (`Embedder.model_id_`), kept to refuse
                query vectors of another model after `load`.
            texts: the lexical text of each program; default `program_lexical_text`.

        Returns:
            self.

        Raises:
            InvalidInputError: on empty input, mismatched lengths, duplicate ids or
                non-finite / zero vectors.
        """
        self._validate_params()
        programs = list(programs)
        matrix = np.asarray(vectors, dtype=np.float32)
        if not programs:
            raise InvalidInputError("cannot build a candidate index over zero programs")
        if matrix.ndim != 2 or matrix.shape[0] != len(programs):
            raise InvalidInputError(
                f"vectors must have shape ({len(programs)}, dim), got {matrix.shape}"
            )
        if not model_id:
            raise InvalidInputError("model_id is required")
        ids = [p.id for p in programs]
        if len(set(ids)) != len(ids):
            dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
            raise InvalidInputError(f"duplicate program ids: {dupes[:10]}")
        if texts is not None and len(texts) != len(programs):
            raise InvalidInputError(f"{len(texts)} texts for {len(programs)} programs")
        matrix = self._normalized(matrix)
        lexical_texts = (
            list(texts)
            if texts is not None
            else [program_lexical_text(p, self.sector_terms) for p in programs]
        )
        self.lexical_ = BM25Index(k1=self.bm25_k1, b=self.bm25_b).fit(lexical_texts)
        self.index_type_ = "flat" if len(programs) <= self.hnsw_threshold else "hnsw"
        self.index_ = self._build_index(matrix)
        self._set_state(programs, matrix, model_id)
        return self

    @staticmethod
    def _normalized(matrix: np.ndarray) -> np.ndarray:
        if not np.isfinite(matrix).all():
            raise InvalidInputError("vectors contain NaN or infinite values")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if (norms <= 1e-12).any():
            raise InvalidInputError("vectors contain an all-zero row")
        return np.ascontiguousarray(matrix / norms, dtype=np.float32)

    def _build_index(self, matrix: np.ndarray) -> faiss.Index:
        dim = matrix.shape[1]
        if self.index_type_ == "flat":
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.hnsw_ef_construction
            index.hnsw.efSearch = self.hnsw_ef_search
        index.add(matrix)
        return index

    def _set_state(self, programs: list[Program], matrix: np.ndarray, model_id: str) -> None:
        self.programs_ = tuple(programs)
        self.program_ids_ = tuple(p.id for p in programs)
        self.vectors_ = matrix
        self.model_id_ = model_id
        self.dim_ = int(matrix.shape[1])
        self._active_positions = np.flatnonzero([p.active for p in programs])
        self._position = {pid: i for i, pid in enumerate(self.program_ids_)}

    def _check_fitted(self) -> None:
        if getattr(self, "index_", None) is None:
            raise NotFittedError("CandidateRetriever is not fitted; call fit(...) or load(path)")

    # ------------------------------------------------------------------ search

    def passing_positions(self, filters: ProgramFilter | None) -> np.ndarray:
        """Index positions of the programs that pass `filters` (all active ones when None).

        Args:
            filters: the conditions, or None for the default (active programs only).

        Returns:
            Sorted int64 array of row positions.
        """
        self._check_fitted()
        filters = filters or ProgramFilter()
        if not filters.has_conditions():
            if filters.active_only:
                return self._active_positions
            return np.arange(len(self.programs_))
        return np.asarray(
            [i for i, p in enumerate(self.programs_) if filters._failure(p) is None],
            dtype=np.int64,
        )

    def _dense_top(self, query: np.ndarray, passing: np.ndarray, n: int) -> np.ndarray:
        """Positions of the n passing programs most similar to `query`, best first."""
        everyone = passing.size == len(self.programs_)
        if self.index_type_ == "hnsw" and passing.size > self.hnsw_threshold:
            params = faiss.SearchParametersHNSW(efSearch=max(self.hnsw_ef_search, n))
            if not everyone:
                selector = faiss.IDSelectorBatch(passing.astype(np.int64))
                params.sel = selector
            _, labels = self.index_.search(query[None, :], n, params=params)
            found = labels[0][labels[0] >= 0]
            if found.size >= n:
                return found[:n]
            logger.info("filtered HNSW search found %d of %d; searching exactly", found.size, n)
        elif self.index_type_ == "flat":
            params = None
            if not everyone:
                selector = faiss.IDSelectorBatch(passing.astype(np.int64))
                params = faiss.SearchParameters(sel=selector)
            _, labels = self.index_.search(query[None, :], n, params=params)
            return labels[0][labels[0] >= 0][:n]
        # A small passing subset of a large catalogue: exact search over just that subset.
        scores = self.vectors_[passing] @ query
        return passing[_top(scores, n)]

    def search(
        self,
        query_vector: np.ndarray,
        query_text: str,
        k: int = DEFAULT_CANDIDATES,
        filters: ProgramFilter | None = None,
    ) -> list[Candidate]:
        """The top-k programs for one query, best first.

        Args:
            query_vector: (dim,) the query embedding (same model as the index).
            query_text: the query text for BM25 ("" for dense-only).
            k: how many candidates.
            filters: conditions on the programs; default: active programs only.

        Returns:
            min(k, programs passing) candidates, ranks 1..n.

        Raises:
            InvalidInputError: on a vector of the wrong shape or with non-finite values.
        """
        if k < 1:
            raise InvalidInputError(f"k must be >= 1, got {k}")
        query = self._query(query_vector)
        passing = self.passing_positions(filters)
        if passing.size == 0:
            return []
        scored = self._score(query, query_text, passing, k, np.empty(0, dtype=np.int64))
        return self._candidates(*scored, k=k)

    def score_programs(
        self,
        query_vector: np.ndarray,
        query_text: str,
        program_ids: Sequence[str],
        filters: ProgramFilter | None = None,
    ) -> list[Candidate]:
        """The scores `search` would give the named programs, whether or not they make its top.

        The fusion's normalization uses the same top lists as `search` with these `filters`,
        so a fused score here equals the one `search` returns for that program.

        Args:
            query_vector: (dim,) the query embedding.
            query_text: the query text for BM25.
            program_ids: the programs to score (each must be in the index).
            filters: the filters whose passing programs set the normalization.

        Returns:
            One candidate per requested program, best first, ranks 1..n among them.

        Raises:
            KeyError: an id that is not in the index.
        """
        query = self._query(query_vector)
        wanted = np.unique(np.asarray([self._position[pid] for pid in program_ids], np.int64))
        passing = self.passing_positions(filters)
        if passing.size == 0:
            passing = wanted
        union, dense, lexical, fused = self._score(query, query_text, passing, 1, wanted)
        keep = np.isin(union, wanted)
        return self._candidates(union[keep], dense[keep], lexical[keep], fused[keep], k=None)

    def _query(self, query_vector: np.ndarray) -> np.ndarray:
        self._check_fitted()
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dim_,):
            raise InvalidInputError(
                f"query vector has {query.size} values, the index expects {self.dim_}"
            )
        return self._normalized(query[None, :])[0]

    def _score(
        self,
        query: np.ndarray,
        query_text: str,
        passing: np.ndarray,
        k: int,
        extra: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Dense, lexical and fused scores of each signal's top list (+ `extra` positions).

        Returns:
            (positions, dense, lexical, fused), positions sorted.
        """
        n_pool = min(max(self.candidate_pool, k), passing.size)
        dense_pos = self._dense_top(query, passing, n_pool)
        lexical_pool = np.empty(0, dtype=np.float64)
        lexical_pos = np.empty(0, dtype=np.int64)
        lexical_all: np.ndarray | None = None
        if self.fusion != "dense" and query_text and query_text.strip():
            lexical_all = self.lexical_.scores(query_text)
            lexical_top = passing[_top(lexical_all[passing], n_pool)]
            lexical_pool = lexical_all[lexical_top].astype(np.float64)
            lexical_pos = lexical_top[lexical_pool > 0]
        union = np.unique(np.concatenate([dense_pos, lexical_pos, extra]))
        dense = (self.vectors_[union] @ query).astype(np.float64)
        lexical = (
            lexical_all[union].astype(np.float64) if lexical_all is not None
            else np.zeros(union.size)
        )
        long_query = len(query_text or "") >= self.long_query_chars
        fused = self._fuse(
            union, dense, lexical, dense_pos, lexical_pos, lexical_pool, long_query=long_query
        )
        return union, dense, lexical, fused

    def _candidates(
        self,
        union: np.ndarray,
        dense: np.ndarray,
        lexical: np.ndarray,
        fused: np.ndarray,
        k: int | None,
    ) -> list[Candidate]:
        # Best fused first; ties broken by the dense score, then by catalogue order.
        order = np.lexsort((union, -dense, -fused))[:k]
        return [
            Candidate(
                program_id=self.program_ids_[union[j]],
                dense_score=float(dense[j]),
                lexical_score=float(lexical[j]),
                fused_score=float(fused[j]),
                rank=rank,
            )
            for rank, j in enumerate(order, start=1)
        ]

    def _fuse(
        self,
        union: np.ndarray,
        dense: np.ndarray,
        lexical: np.ndarray,
        dense_pos: np.ndarray,
        lexical_pos: np.ndarray,
        lexical_pool: np.ndarray,
        *,
        long_query: bool = False,
    ) -> np.ndarray:
        """Fused scores of the `union` positions (see the module docstring).

        Args:
            union: sorted positions of the programs to score.
            dense: (len(union),) their cosine similarities.
            lexical: (len(union),) their BM25 scores.
            dense_pos: the dense top list (positions, best first).
            lexical_pos: the lexical top list with a positive score (positions, best first).
            lexical_pool: BM25 scores of the lexical top list, zeros included, best first.
        """
        if self.fusion == "dense" or lexical_pos.size == 0:
            return dense
        if self.fusion == "lexical":
            return lexical
        weight = self.lexical_weight
        if self.fusion == "rrf":
            fused = np.zeros(union.size)
            for weight_c, ranked in ((1.0 - weight, dense_pos), (weight, lexical_pos)):
                ranks = np.arange(1, ranked.size + 1, dtype=np.float64)
                fused[np.searchsorted(union, ranked)] += weight_c / (self.rrf_k + ranks)
            return fused
        dense_pool = dense[np.searchsorted(union, dense_pos)]
        dense_norm = _normalize_scores(dense, dense_pool, self.score_normalization)
        lexical_norm = _normalize_scores(lexical, lexical_pool, self.score_normalization)
        if long_query:
            weight = self.long_query_lexical_weight
        elif self.fusion == "adaptive":
            weight = self._adaptive_weight(dense_pool, dense_pos, lexical_pos, lexical_pool)
        elif self.lexical_confidence:
            weight *= self._lexical_margin(lexical_pool)
        return dense_norm + weight * lexical_norm

    def _adaptive_weight(
        self,
        dense_pool: np.ndarray,
        dense_pos: np.ndarray,
        lexical_pos: np.ndarray,
        lexical_pool: np.ndarray,
    ) -> float:
        """The lexical weight of one short query, from what the query's own scores show
        (never from relevance labels): exp(b0 + b1 m + b2 g + b3 o), where m is BM25's top-1
        margin (s1 - s2) / s1, g the dense top-1 gap (d1 - d2) over the dense top list's
        range, and o the share of programs the two top-10 lists have in common."""
        b0, b1, b2, b3 = self.adaptive_coefficients
        margin = self._lexical_margin(lexical_pool)
        spread = float(dense_pool.max() - dense_pool.min()) if dense_pool.size > 1 else 0.0
        gap = float(dense_pool[0] - dense_pool[1]) / spread if spread > 1e-12 else 0.0
        overlap = len(set(dense_pos[:10].tolist()) & set(lexical_pos[:10].tolist())) / 10.0
        return float(np.exp(np.clip(b0 + b1 * margin + b2 * gap + b3 * overlap, -20.0, 5.0)))

    @staticmethod
    def _lexical_margin(lexical_pool: np.ndarray) -> float:
        """(s1 - s2) / s1 of BM25's two best passing programs: 1 when one stands alone."""
        if lexical_pool.size == 0 or lexical_pool[0] <= 0:
            return 0.0
        second = float(lexical_pool[1]) if lexical_pool.size > 1 else 0.0
        return float((lexical_pool[0] - second) / lexical_pool[0])

    def program(self, program_id: str) -> Program:
        """The indexed program with this id.

        Raises:
            KeyError: when the id is not in the index.
        """
        self._check_fitted()
        return self.programs_[self._position[program_id]]

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path, keep_versions: int = 2) -> Path:
        """Write a new version of the index under `path` and make it the current one.

        The version is written to a temporary folder, renamed into `path/versions/`, and
        `path/CURRENT` is switched with an atomic replace; the `keep_versions` newest
        versions stay (readers that opened an older one keep working).

        Args:
            path: the index root folder (created when missing).
            keep_versions: how many versions to keep, the new one included (>= 1).

        Returns:
            The new version's folder.
        """
        self._check_fitted()
        root = Path(path)
        versions = root / _VERSIONS_DIR
        versions.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=versions))
        try:
            self._write_version(tmp)
            name = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
            final = versions / name
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        pointer = root / f".{_CURRENT_FILE}.{uuid.uuid4().hex[:8]}"
        pointer.write_text(name + "\n", encoding="utf-8")
        os.replace(pointer, root / _CURRENT_FILE)
        self._prune(versions, keep=max(1, keep_versions), current=name)
        return final

    def _write_version(self, folder: Path) -> None:
        faiss.write_index(self.index_, str(folder / _INDEX_FILE))
        programs = [p.model_dump(mode="json") for p in self.programs_]
        (folder / _PROGRAMS_FILE).write_text(
            json.dumps(programs, ensure_ascii=False), encoding="utf-8"
        )
        self.lexical_.save(folder / _LEXICAL_DIR)
        config = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": self.get_params(),
            "model_id": self.model_id_,
            "dim": self.dim_,
            "n_programs": len(self.programs_),
            "index_type": self.index_type_,
            "sha256": {
                file.relative_to(folder).as_posix(): _sha256(file)
                for file in sorted(folder.rglob("*"))
                if file.is_file()
            },
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (folder / _CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")

    @staticmethod
    def _prune(versions: Path, keep: int, current: str) -> None:
        done = sorted(
            (p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
        old = [p for p in done if p.name != current][: max(0, len(done) - keep)]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _resolve(path: Path) -> Path:
        pointer = path / _CURRENT_FILE
        if pointer.is_file():
            name = pointer.read_text(encoding="utf-8").strip()
            if not name or "/" in name or name.startswith("."):
                raise CorruptArtifactError(f"the index pointer {pointer} is damaged")
            return path / _VERSIONS_DIR / name
        return path

    @classmethod
    def load(cls, path: str | Path, expected_model_id: str | None = None) -> CandidateRetriever:
        """Read the current version saved under `path` (or a version folder itself).

        Args:
            path: the folder given to `save`, or one of its version folders.
            expected_model_id: the id of the embedding model in use; when given, an index
                built with another model is refused.

        Returns:
            The fitted retriever.

        Raises:
            ModelMismatchError: the index was built with another embedding model.
            CorruptArtifactError: files missing, damaged or of an unknown format.
        """
        folder = cls._resolve(Path(path))
        try:
            config = json.loads((folder / _CONFIG_FILE).read_text(encoding="utf-8"))
            if not isinstance(config, dict) or config.get("format") != _FORMAT:
                raise ValueError("not a candidate index")
            if config.get("format_version") != _FORMAT_VERSION:
                raise ValueError(f"unsupported format version {config.get('format_version')}")
        except (OSError, ValueError) as exc:
            raise CorruptArtifactError(
                f"cannot read the candidate index in {folder}: {exc}"
            ) from exc
        if expected_model_id is not None and config.get("model_id") != expected_model_id:
            raise ModelMismatchError(
                f"the candidate index was built with embedding model '{config.get('model_id')}' "
                f"but '{expected_model_id}' is in use; rebuild it (peyvand index build)"
            )
        try:
            for name, digest in config["sha256"].items():
                if _sha256(folder / name) != digest:
                    raise ValueError(f"{name} does not match its checksum")
            retriever = cls(**config["params"])
            index = faiss.read_index(str(folder / _INDEX_FILE))
            raw = json.loads((folder / _PROGRAMS_FILE).read_text(encoding="utf-8"))
            programs = [Program.model_validate(item) for item in raw]
            lexical = BM25Index.load(folder / _LEXICAL_DIR)
            n = int(config["n_programs"])
            if index.ntotal != n or len(programs) != n or lexical.n_docs_ != n:
                raise ValueError("the index, programs and lexical index disagree in size")
            if index.d != int(config["dim"]):
                raise ValueError("the index dimension does not match the config")
        except CorruptArtifactError:
            raise
        except Exception as exc:  # faiss raises RuntimeError, pydantic ValidationError, ...
            raise CorruptArtifactError(
                f"cannot read the candidate index in {folder}: {exc}"
            ) from exc
        if config["index_type"] == "hnsw":
            index.hnsw.efSearch = retriever.hnsw_ef_search
        retriever.index_ = index
        retriever.index_type_ = config["index_type"]
        retriever.lexical_ = lexical
        retriever._set_state(programs, index.reconstruct_n(0, index.ntotal), config["model_id"])
        return retriever
