"""A whole round's scores as matrices (applications x programs): what the scoring core gives
for a round, what the allocation reads and what the committee files show."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RoundScores:
    """Every (application, program) score of a round, as matrices.

    Attributes:
        round_id: the round.
        application_ids: (n_app,) rows, sorted by id.
        program_ids: (n_prog,) columns, in the round's order.
        score: (n_app, n_prog) fit scores.
        p_residency, p_funding: (n_app, n_prog) probabilities; None without a trained model.
        expected_funding: (n_app, n_prog) rial; None without a trained model.
        eligible: (n_app, n_prog) bool, the hard rules of `recommender.eligibility.eligibility`.
        model_version: the model that made the scores.
        fingerprint: the round-level data fingerprint (model, programs, catalogue).
    """

    round_id: str
    application_ids: list[str]
    program_ids: list[str]
    score: np.ndarray
    p_residency: np.ndarray | None
    p_funding: np.ndarray | None
    expected_funding: np.ndarray | None
    eligible: np.ndarray
    model_version: str
    fingerprint: str

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.application_ids), len(self.program_ids)

    def ranks_for_application(self) -> np.ndarray:
        """(n_app, n_prog) 1-based rank of each program for each application: eligible
        programs first, then by score (best first), ties in program order."""
        return _ranks(self.score, self.eligible)

    def ranks_for_program(self) -> np.ndarray:
        """(n_app, n_prog) 1-based rank of each application for each program (eligible
        first, best score first, ties in application-id order)."""
        return _ranks(self.score.T, self.eligible.T).T

    def top_for_application(self, n: int) -> list[list[int]]:
        """Per application, the column indices of its `n` best eligible programs."""
        ranks = self.ranks_for_application()
        out = []
        for i in range(len(self.application_ids)):
            cols = np.flatnonzero((ranks[i] <= n) & self.eligible[i])
            out.append(cols[np.argsort(ranks[i, cols], kind="stable")].tolist())
        return out

    def shortlist(self, n: int) -> list[list[int]]:
        """Per program, the row indices of its `n` best eligible applications."""
        ranks = self.ranks_for_program()
        out = []
        for j in range(len(self.program_ids)):
            rows = np.flatnonzero((ranks[:, j] <= n) & self.eligible[:, j])
            out.append(rows[np.argsort(ranks[rows, j], kind="stable")].tolist())
        return out


def _ranks(score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    n_rows, n_cols = score.shape
    if score.size == 0:
        return np.zeros(score.shape, dtype=np.int64)
    index = np.broadcast_to(np.arange(n_cols), score.shape)
    order = np.lexsort((index, -score, ~eligible), axis=1)
    ranks = np.empty(score.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(1, n_cols + 1)[None, :].repeat(n_rows, 0), axis=1)
    return ranks
