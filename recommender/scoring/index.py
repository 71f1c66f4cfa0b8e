"""The search index of the catalogue as the `Recommender` uses it: the text each program is
embedded from, building a fitted `CandidateRetriever`, and the BM25 memo that lets a search
reuse a prepared plan's lexical scores.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recommender.errors import InvalidInputError
from recommender.retrieval.hybrid import CandidateRetriever
from recommender.schemas import Program
from recommender.text.normalization import normalize

__all__ = ["LexicalMemo", "build_retriever", "program_passage_text"]


def program_passage_text(program: Program, sector_labels: Mapping[str, str] | None = None) -> str:
    """The text a program is embedded from: normalized name, description and sector names.

    Args:
        program: the program.
        sector_labels: Persian name per sector slug; a slug without one is written as words.

    Returns:
        One normalized text.
    """
    labels = sector_labels or {}
    sectors = "، ".join(labels.get(s, s.replace("_", " ")) for s in program.sectors)
    parts = [program.name, program.description] + ([f"حوزه‌ها: {sectors}"] if sectors else [])
    return normalize("\n".join(parts))


def current_records(indexed: Sequence[Program], current: Sequence[Program]) -> list[Program]:
    """The indexed programs in the index's order, each replaced by its record in the store now.

    The one "refresh the indexed programs from the store" step: the index embeds names,
    descriptions and sectors, but seats, money, places and the active flag are read from the
    current records (a program missing from `current` keeps its indexed record). Used by the
    service's loader, the `Recommender` and a round's feature builder.
    """
    by_id = {p.id: p for p in current}
    return [by_id.get(p.id, p) for p in indexed]


def build_retriever(
    programs: Sequence[Program],
    embedder: Any,
    *,
    sector_labels: Mapping[str, str] | None = None,
    sector_terms: Mapping[str, Sequence[str]] | None = None,
    batch_size: int = 64,
    **retriever_params: Any,
) -> CandidateRetriever:
    """Embed every program (as a passage, chunk-aware) and fit a `CandidateRetriever`.

    Args:
        programs: the catalogue (inactive programs included: filters drop them at search).
        embedder: a fitted `embedding.Embedder` (its vector cache makes rebuilds cheap).
        sector_labels: Persian name per sector slug (added to the embedded text).
        sector_terms: Persian keywords per sector slug (added to the BM25 text).
        batch_size: programs embedded per call (each batch lands in the embedder's vector
            cache, so an interrupted build resumes where it stopped).
        **retriever_params: other `CandidateRetriever` arguments.

    Returns:
        The fitted retriever.
    """
    programs = list(programs)
    if not programs:
        raise InvalidInputError("there are no programs to index; import some first")
    rows: list[np.ndarray] = []
    for start in range(0, len(programs), max(1, batch_size)):
        batch = programs[start : start + max(1, batch_size)]
        texts = [program_passage_text(p, sector_labels) for p in batch]
        documents = embedder.embed_documents(texts, role="passage")
        rows.extend(np.asarray(d.pooled, dtype=np.float32).reshape(-1) for d in documents)
    vectors = np.stack(rows)
    retriever = CandidateRetriever(sector_terms=sector_terms, **retriever_params)
    return retriever.fit(programs, vectors, str(embedder.model_id_))


class LexicalMemo:
    """Stands in for the retriever's `BM25Index` so `search` reuses a prepared plan's scores.

    Scores are remembered by query text (a bounded LRU); anything else is forwarded.
    """

    def __init__(self, inner: Any, size: int = 128) -> None:
        self._inner = inner
        self._size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def inner(self) -> Any:
        """The wrapped `BM25Index`."""
        return self._inner

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def remember(self, text: str, scores: np.ndarray) -> None:
        with self._lock:
            self._memo[text] = scores
            self._memo.move_to_end(text)
            while len(self._memo) > self._size:
                self._memo.popitem(last=False)

    def scores(self, query: str) -> np.ndarray:
        with self._lock:
            hit = self._memo.get(query)
        if hit is not None:
            return hit
        return self._inner.scores(query)
