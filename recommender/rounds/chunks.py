"""A round's scoring split into chunks of applications that separate processes can score
(the queue workers of `api.round_tasks`), with the very code of `scoring.score_round`: the
same setup and fingerprints, the same batches through the same scoring core, so a chunked
round's scores equal an in-process run's.

A chunk's work is idempotent: it skips the applications whose stored rows are complete and
carry the current fingerprint, and upserts the rest (`stored.write_scores`); a chunk scored
twice (a worker killed mid-chunk, its message re-delivered) leaves the same rows, never two.
Once every chunk is in, `score_round` finds every application current and only records the
run and reads the scores back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from recommender.errors import InvalidInputError
from recommender.rounds.scoring import (
    DEFAULT_BATCH_SIZE,
    ScoringModel,
    TextPreparer,
    _batches,
    _prepare_plans,
    _score_batch,
    _setup,
    _Stopwatch,
)
from recommender.rounds.stored import current_applications, round_inputs, write_scores
from recommender.store.database import Store

__all__ = [
    "ChunkResult", "DEFAULT_CHUNK_SIZE", "check_chunk_size", "score_chunk", "split_ids",
    "split_round",
]

DEFAULT_CHUNK_SIZE = 200


@dataclass(frozen=True)
class ChunkResult:
    """What `score_chunk` did: applications scored, found current, with empty plans."""

    n_applications: int
    n_scored: int
    n_reused: int
    n_empty_plans: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_applications": self.n_applications,
            "n_scored": self.n_scored,
            "n_reused": self.n_reused,
            "n_empty_plans": self.n_empty_plans,
            "seconds": round(self.seconds, 3),
        }


def split_round(store: Store, round_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[
    list[str]
]:
    """The round's application ids (sorted) in chunks of at most `chunk_size`.

    Raises:
        NotFoundError, InvalidInputError: as `stored.round_inputs` (unknown or empty round);
            InvalidInputError for a chunk size below 1.
    """
    check_chunk_size(chunk_size)  # before the round is read
    _, _, applications = round_inputs(store, round_id)
    return split_ids([a.id for a in applications], chunk_size)


def check_chunk_size(chunk_size: int) -> None:
    """Raises: InvalidInputError: a chunk size below 1 (callers check before reading data)."""
    if chunk_size < 1:
        raise InvalidInputError(f"chunk_size must be >= 1, got {chunk_size}")


def split_ids(ids: Sequence[str], chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[list[str]]:
    """`ids` in order, in chunks of at most `chunk_size`.

    Raises:
        InvalidInputError: a chunk size below 1.
    """
    check_chunk_size(chunk_size)
    return [list(ids[i : i + chunk_size]) for i in range(0, len(ids), chunk_size)]


def score_chunk(
    store: Store,
    round_id: str,
    model: ScoringModel,
    application_ids: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    preparer: Callable[..., list[tuple[str, list[str]]]] | None = None,
) -> ChunkResult:
    """Score the round's applications named in `application_ids` (ids no longer in the round
    are ignored) against every round program, and store their rows.

    Args:
        progress: called as `progress(done, total)` in applications of this chunk.
        preparer: replaces the text preparation (see `score_round`).
    """
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
    started = time.perf_counter()
    watch = _Stopwatch()
    setup = _setup(store, round_id, model)
    wanted = set(application_ids)
    chunk = [a for a in setup.applications if a.id in wanted]
    expected = {a.id: setup.app_fp[a.id] for a in chunk}
    with store.session() as s:
        current = current_applications(s, round_id, expected, len(setup.programs))
    pending_all = [a for a in chunk if a.id not in current]
    prepare = preparer if preparer is not None else TextPreparer(1)
    n_done = len(chunk) - len(pending_all)
    n_empty = 0
    if progress is not None:
        progress(n_done, len(chunk))
    for pending in _batches(pending_all, batch_size):
        plans, empty = _prepare_plans(setup, model, pending, prepare, watch)
        n_empty += empty
        rows = _score_batch(setup, round_id, model.model_version, pending, plans, watch)
        write_scores(
            store, round_id, rows, application_ids=[a.id for a in pending],
            program_ids=setup.program_ids,
        )
        n_done += len(pending)
        if progress is not None:
            progress(n_done, len(chunk))
    return ChunkResult(
        n_applications=len(chunk),
        n_scored=len(pending_all),
        n_reused=len(chunk) - len(pending_all),
        n_empty_plans=n_empty,
        seconds=time.perf_counter() - started,
    )
