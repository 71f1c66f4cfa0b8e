"""`Candidate`: one program a search retrieved, with its dense, lexical and fused scores."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Candidate"]


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
