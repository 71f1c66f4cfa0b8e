"""Candidate retrieval: the programs worth ranking for one business plan.

Two signals, fused:

- dense: cosine similarity of the plan's embedding to each program's embedding, from a FAISS
  inner-product index over L2-normalized vectors: exact (`IndexFlatIP`) up to
  `hnsw_threshold` programs, HNSW (`IndexHNSWFlat`) beyond it;
- lexical: BM25 (`recommender.retrieval.lexical.BM25Index`) over each program's name,
  description and sector keywords, tokenized by hazm.

Filters (`recommender.retrieval.filters.ProgramFilter`) never cost recall: the set of programs
that pass is computed first and the top-k is filled from it (an exact search over that subset,
or a filtered HNSW search that falls back to an exact one), so `search` returns
min(k, programs passing) candidates.

Fusion is per query, over the union of each signal's top `candidate_pool` passing programs:
"adaptive" (default), "weighted", "rrf", "dense" or "lexical", described in
`recommender.retrieval.fusion`.

The fitted retriever is saved as a versioned folder: `save(root)` writes a complete new
version under `root/versions/` through a temporary folder and a rename, then switches the
`root/CURRENT` pointer with an atomic replace, so a reader never sees a half-written index
(`recommender.retrieval.index`).
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from recommender.constants import DEFAULT_CANDIDATES
from recommender.errors import (
    CorruptArtifactError,
    InvalidInputError,
    ModelMismatchError,
    bilingual,
)
from recommender.estimator import PeyvandEstimator
from recommender.retrieval.candidate import Candidate
from recommender.retrieval.dense import build_index, dense_top, unit_rows
from recommender.retrieval.filters import ProgramFilter
from recommender.retrieval.fusion import (
    ADAPTIVE_COEFFICIENTS,
    FUSION_METHODS,
    SCORE_NORMALIZATIONS,
    adaptive_weight,
    lexical_margin,
    normalize_scores,
    rrf_scores,
    top_positions,
)
from recommender.retrieval.index import (
    checksums,
    current_version,
    read_config,
    verify_checksums,
    write_version,
)
from recommender.retrieval.lexical import BM25Index, program_lexical_text
from recommender.schemas import Program

__all__ = ["Candidate", "CandidateRetriever"]

_FORMAT = "peyvand.candidate_retriever"
_FORMAT_VERSION = 1
_CONFIG_FILE = "config.json"
_INDEX_FILE = "index.faiss"
_PROGRAMS_FILE = "programs.json"
_LEXICAL_DIR = "lexical"


class CandidateRetriever(PeyvandEstimator):
    """Dense (FAISS) + lexical (BM25) candidate retrieval over the program catalogue.

    Args:
        hnsw_threshold: catalogues up to this many programs use an exact `IndexFlatIP`;
            larger ones an `IndexHNSWFlat`. Filtered searches over at most this many passing
            programs are always exact.
        hnsw_m: HNSW graph degree.
        hnsw_ef_construction: HNSW build-time beam width.
        hnsw_ef_search: HNSW search-time beam width (raised to the pool size when smaller).
        fusion: one of FUSION_METHODS.
        adaptive_coefficients: (b0, b1, b2, b3) of the "adaptive" lexical weight (see
            `recommender.retrieval.fusion`).
        lexical_weight: weight of the lexical signal (see `recommender.retrieval.fusion`).
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

    _fitted_attribute = "index_"
    _fit_hint = "fit(...) or load(path)"

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
        self.adaptive_coefficients = adaptive_coefficients
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

    def _config_params(self) -> dict[str, Any]:
        """Constructor arguments in JSON form, as saved in config.json."""
        params = self.get_params()
        params["adaptive_coefficients"] = [float(c) for c in self.adaptive_coefficients]
        if self.sector_terms:
            params["sector_terms"] = {k: list(v) for k, v in self.sector_terms.items()}
        else:
            params["sector_terms"] = None
        return params

    @classmethod
    def _from_config_params(cls, params: dict[str, Any]) -> CandidateRetriever:
        """The unfitted retriever of saved `_config_params` (coefficients back to a tuple)."""
        params = dict(params)
        params["adaptive_coefficients"] = tuple(params["adaptive_coefficients"])
        return cls(**params)

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
            raise InvalidInputError(
                bilingual(
                    "cannot build a candidate index over zero programs",
                    "نمایه بدون هیچ برنامه‌ای ساخته نمی‌شود؛ نخست برنامه‌ها را وارد کنید.",
                )
            )
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
        matrix = unit_rows(matrix)
        lexical_texts = (
            list(texts)
            if texts is not None
            else [program_lexical_text(p, self.sector_terms) for p in programs]
        )
        self.lexical_ = BM25Index(k1=self.bm25_k1, b=self.bm25_b).fit(lexical_texts)
        self.index_type_ = "flat" if len(programs) <= self.hnsw_threshold else "hnsw"
        self.index_ = build_index(
            matrix, self.index_type_, self.hnsw_m, self.hnsw_ef_construction, self.hnsw_ef_search
        )
        self._set_state(programs, matrix, model_id)
        return self

    def _set_state(self, programs: list[Program], matrix: np.ndarray, model_id: str) -> None:
        self.programs_ = tuple(programs)
        self.program_ids_ = tuple(p.id for p in programs)
        self.vectors_ = matrix
        self.model_id_ = model_id
        self.dim_ = int(matrix.shape[1])
        self._active_positions = np.flatnonzero([p.active for p in programs])
        self._position = {pid: i for i, pid in enumerate(self.program_ids_)}

    def with_records(self, programs: Sequence[Program]) -> CandidateRetriever:
        """A shallow copy (same vectors and indexes) whose filters read `programs`: one record
        per indexed program in index order, e.g. the store's current ones (house, active
        flag, seats and money may have changed since indexing).

        Raises:
            InvalidInputError: not the indexed programs in index order.
        """
        self._check_fitted()
        programs = tuple(programs)
        if tuple(p.id for p in programs) != self.program_ids_:
            raise InvalidInputError("the records are not the indexed programs in index order")
        view = copy.copy(self)
        view.programs_ = programs
        view._active_positions = np.flatnonzero([p.active for p in programs])
        return view

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
            [i for i, p in enumerate(self.programs_) if filters.matches(p)[0]],
            dtype=np.int64,
        )

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
        return unit_rows(query[None, :])[0]

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
        dense_pos = dense_top(
            self.index_, self.index_type_, self.vectors_, query, passing, n_pool,
            hnsw_threshold=self.hnsw_threshold, ef_search=self.hnsw_ef_search,
        )
        lexical_pool = np.empty(0, dtype=np.float64)
        lexical_pos = np.empty(0, dtype=np.int64)
        lexical_all: np.ndarray | None = None
        if self.fusion != "dense" and query_text and query_text.strip():
            lexical_all = self.lexical_.scores(query_text)
            lexical_top = passing[top_positions(lexical_all[passing], n_pool)]
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
        """Fused scores of the `union` positions (see `recommender.retrieval.fusion`).

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
        if self.fusion == "rrf":
            return rrf_scores(union, dense_pos, lexical_pos, self.lexical_weight, self.rrf_k)
        dense_pool = dense[np.searchsorted(union, dense_pos)]
        dense_norm = normalize_scores(dense, dense_pool, self.score_normalization)
        lexical_norm = normalize_scores(lexical, lexical_pool, self.score_normalization)
        weight = self.lexical_weight
        if long_query:
            weight = self.long_query_lexical_weight
        elif self.fusion == "adaptive":
            weight = adaptive_weight(
                self.adaptive_coefficients, dense_pool, dense_pos, lexical_pos, lexical_pool
            )
        elif self.lexical_confidence:
            weight *= lexical_margin(lexical_pool)
        return dense_norm + weight * lexical_norm

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
        return write_version(Path(path), self._write_version, keep_versions)

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
            "params": self._config_params(),
            "model_id": self.model_id_,
            "dim": self.dim_,
            "n_programs": len(self.programs_),
            "index_type": self.index_type_,
            "sha256": checksums(folder),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (folder / _CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")

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
        folder = current_version(Path(path))
        config = read_config(folder, _CONFIG_FILE, _FORMAT, _FORMAT_VERSION)
        if expected_model_id is not None and config.get("model_id") != expected_model_id:
            raise ModelMismatchError(
                f"the candidate index was built with embedding model '{config.get('model_id')}' "
                f"but '{expected_model_id}' is in use; rebuild it (peyvand index build)"
            )
        try:
            verify_checksums(folder, config["sha256"])
            retriever = cls._from_config_params(config["params"])
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
