"""Scoring a whole intake round: every application against every program of the round, with
the one scoring core (`scoring.core.ScoringCore`) that also serves single requests, vectorized
per batch of applications:

1. the plans are normalized and tokenized (hazm; optionally in worker processes,
   `TextPreparer`),
2. embedded through the (cached) embedder, one `embed_documents` call per batch,
3. scored lexically against the catalogue (BM25),
4. turned into one feature matrix for every (application, round program) pair of the batch,
   and
5. scored by one `ranker.predict` call on that matrix (or `ranking.unsupervised_score` when no
   model is trained).

Results go to the `round_scores` table, one transaction per batch (`rounds.stored`), together
with the progress of the run in `round_runs`. Every row carries the model version and a data
fingerprint: a hash of the application, the round's program records, the catalogue vectors,
the embedding model, the feature list and the ranker. A run killed at any point and started
again skips the applications whose rows are complete and carry the current fingerprint, and
does the rest; a finished round scored again with the same model and data does no work and
returns the same results.

Features are computed per application over the whole catalogue (the same as for a single
recommendation), so the batch size changes nothing but memory and how much work a kill loses;
a stored application's pair gets the same score here as from `Recommender.recommend`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender import schemas
from recommender.errors import InvalidInputError, PeyvandError
from recommender.ranking.features import FEATURE_NAMES, FeatureBuilder
from recommender.retrieval.lexical import BM25Index
from recommender.rounds.stored import (
    RoundRun,
    fail_run,
    finish_run,
    latest_run,
    load_round_scores,
    round_inputs,
    score_rows,
    start_run,
    write_batch,
)
from recommender.scoring.core import (
    PreparedPlan,
    ScoringCore,
    embed_plans,
    has_words,
    lexical_row,
)
from recommender.scoring.index import current_records
from recommender.scoring.pipeline import Recommender
from recommender.scoring.round_scores import RoundScores
from recommender.store.database import Store
from recommender.text.normalization import normalize, tokenize

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "UNSUPERVISED_VERSION",
    "ProgressCallback",
    "ScoringModel",
    "ScoringRun",
    "TextPreparer",
    "score_round",
]

DEFAULT_BATCH_SIZE = 100
UNSUPERVISED_VERSION = "unsupervised"
UNREGISTERED_VERSION = "unregistered"
_STAGES = ("setup", "prepare", "embed", "lexical", "features", "predict", "write", "load")

ProgressCallback = Callable[[int, int], None]


@dataclass
class ScoringModel:
    """The fitted parts that score a round (plain objects; `from_recommender` takes them
    from a loaded `pipeline.Recommender`).

    Attributes:
        embedder: a fitted embedder: `embed_documents(texts, role)` and `model_id_`.
        feature_builder: a `FeatureBuilder` fitted on the catalogue (every round program must
            be in it); its program records are refreshed from the store before scoring.
        ranker: a fitted `FitRanker` (`predict(X) -> RankerOutput`), or None for the
            unsupervised fallback.
        version: the ranker's registry version (recorded with every score).
        lexical: BM25 over the catalogue in the builder's program order, or None for no
            lexical evidence.
        plan_role: how plans are embedded ("query", as the pipeline does).
        fallback: the scorer used without a ranker, (n, n_features) -> (n,); default
            `ranking.unsupervised_score`.
    """

    embedder: Any
    feature_builder: FeatureBuilder
    ranker: Any | None = None
    version: str | None = None
    lexical: BM25Index | None = None
    plan_role: str = "query"
    fallback: Callable[[np.ndarray], np.ndarray] | None = None

    @classmethod
    def from_recommender(cls, recommender: Recommender) -> ScoringModel:
        """The parts of a loaded `pipeline.Recommender` (same models, same index, same
        scoring core)."""
        return cls(
            embedder=recommender.embedder,
            feature_builder=recommender.feature_builder,
            ranker=recommender.ranker,
            version=recommender.ranker_version,
            lexical=recommender.retriever.lexical_,
            plan_role=recommender.plan_role,
            fallback=recommender.core.fallback,
        )

    @property
    def model_version(self) -> str:
        """What is recorded with the scores: the registry version, or "unsupervised"."""
        if self.ranker is None:
            return UNSUPERVISED_VERSION
        return str(self.version) if self.version else UNREGISTERED_VERSION

    @property
    def embedding_model(self) -> str:
        return str(getattr(self.embedder, "model_id_", ""))


def _prepare_one(raw: str, with_tokens: bool) -> tuple[str, list[str]]:
    text = normalize(raw)
    return text, (tokenize(text) if with_tokens else [])


def _prepare_many(raws: Sequence[str], with_tokens: bool) -> list[tuple[str, list[str]]]:
    return [_prepare_one(raw, with_tokens) for raw in raws]


class TextPreparer:
    """Normalizes plans (and makes their BM25 tokens), optionally in worker processes.

    hazm is the slowest part of scoring a new round (tens of milliseconds per plan), and it
    is pure CPU work per plan, so `workers > 1` spreads it over processes (started once, on
    first use, with the "spawn" method so it is safe inside a threaded server).

    Args:
        workers: processes to use; 1 = in this process.
        min_parallel: batches smaller than this are done in this process.
    """

    def __init__(self, workers: int = 1, min_parallel: int = 16) -> None:
        self.workers = max(1, int(workers))
        self.min_parallel = min_parallel
        self._pool: ProcessPoolExecutor | None = None

    def __call__(
        self, raws: Sequence[str], with_tokens: bool = True
    ) -> list[tuple[str, list[str]]]:
        """Returns (normalized text, BM25 tokens) per raw text, in order."""
        raws = list(raws)
        if self.workers == 1 or len(raws) < self.min_parallel:
            return _prepare_many(raws, with_tokens)
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        size = math.ceil(len(raws) / self.workers)
        parts = [raws[i : i + size] for i in range(0, len(raws), size)]
        out: list[tuple[str, list[str]]] = []
        for part in self._pool.map(_prepare_many, parts, [with_tokens] * len(parts)):
            out.extend(part)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> TextPreparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ScoringRun:
    """What `score_round` did.

    Attributes:
        run: the `round_runs` row of this run.
        scores: every score of the round.
        n_scored: applications scored by this run.
        n_reused: applications whose stored scores were current (skipped).
        n_empty_plans: plans with no word (scored without semantic/lexical evidence).
        seconds: wall time of the run.
        cpu_seconds: CPU time of this process during the run (all its threads).
        timings: wall seconds per stage (setup: reading the round and checking stored scores;
            prepare, embed, lexical, features, predict, write; load: reading every score
            back).
        cpu_timings: CPU seconds per stage (this process, all threads).
    """

    run: RoundRun
    scores: RoundScores
    n_scored: int
    n_reused: int
    n_empty_plans: int
    seconds: float
    cpu_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "n_applications": len(self.scores.application_ids),
            "n_programs": len(self.scores.program_ids),
            "n_scored": self.n_scored,
            "n_reused": self.n_reused,
            "n_empty_plans": self.n_empty_plans,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "cpu_timings": {k: round(v, 3) for k, v in self.cpu_timings.items()},
            "model_version": self.scores.model_version,
            "data_fingerprint": self.scores.fingerprint,
        }


def _sha256(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _refreshed_builder(builder: FeatureBuilder, current: Sequence[schemas.Program]) -> Any:
    """The builder refitted with the store's current program records (same order, same
    vectors, same known loads), so seats and funding changed since indexing count."""
    old = list(builder.programs_)
    fresh = current_records(old, current)
    if fresh == old:
        return builder
    known = {
        pid: float(load)
        for pid, load, is_known in zip(
            builder.program_ids_, builder.program_load_, builder.program_load_known_, strict=True
        )
        if is_known
    }
    refit = type(builder)(**builder.get_params())
    return refit.fit(fresh, builder.program_vectors_, program_load=known)


def _round_fingerprint(
    model: ScoringModel, builder: Any, programs: Sequence[schemas.Program]
) -> str:
    ranker = model.ranker
    ranker_id = (
        None
        if ranker is None
        else {
            "version": model.model_version,
            "data": getattr(ranker, "data_fingerprint_", None),
            "n_train": getattr(ranker, "n_train_", None),
            "weights": repr(getattr(ranker, "weights_", getattr(ranker, "weights", None))),
        }
    )
    vectors = np.ascontiguousarray(np.asarray(builder.program_vectors_, dtype=np.float32))
    catalogue = _sha256(
        json.dumps(list(builder.program_ids_)),
        vectors.tobytes(),
        np.asarray(builder.program_load_, dtype=np.float32).tobytes(),
        json.dumps(builder.get_params(), sort_keys=True),
    )
    payload = {
        "model_version": model.model_version,
        "ranker": ranker_id,
        "embedding_model": model.embedding_model,
        "plan_role": model.plan_role,
        "features": list(getattr(builder, "feature_names_", FEATURE_NAMES)),
        "lexical": model.lexical is not None,
        "programs": [p.model_dump(mode="json") for p in programs],
        "catalogue": catalogue,
    }
    return _sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False))


def _application_fingerprint(round_fp: str, application: schemas.Application) -> str:
    return _sha256(round_fp, application.model_dump_json())


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Stopwatch:
    """Wall and CPU seconds (this process, all threads) per stage of a run."""

    def __init__(self) -> None:
        self.wall = dict.fromkeys(_STAGES, 0.0)
        self.cpu = dict.fromkeys(_STAGES, 0.0)
        self._clock = (time.perf_counter(), time.process_time())

    def lap(self, stage: str) -> None:
        """Charge the time since the last lap to `stage`."""
        now = (time.perf_counter(), time.process_time())
        self.wall[stage] += now[0] - self._clock[0]
        self.cpu[stage] += now[1] - self._clock[1]
        self._clock = now


@dataclass
class _RoundSetup:
    """A round made ready for scoring: its records, the core on the refreshed feature
    builder, the round programs' positions in the catalogue and the fingerprints."""

    programs: list[schemas.Program]
    applications: list[schemas.Application]
    core: ScoringCore
    positions: np.ndarray
    round_fp: str
    app_fp: dict[str, str]

    @property
    def program_ids(self) -> list[str]:
        return [p.id for p in self.programs]


def _setup(store: Store, round_id: str, model: ScoringModel) -> _RoundSetup:
    """Read the round, refresh the builder's program records, check the round's programs
    are in the catalogue, and fingerprint everything."""
    _, programs, applications = round_inputs(store, round_id)
    builder = model.feature_builder
    if not hasattr(builder, "program_ids_"):
        raise InvalidInputError("the feature builder is not fitted")
    builder = _refreshed_builder(builder, store.list_programs())
    position = {pid: j for j, pid in enumerate(builder.program_ids_)}
    missing = [p.id for p in programs if p.id not in position]
    if missing:
        raise InvalidInputError(
            f"program(s) {', '.join(missing[:10])} of round '{round_id}' are not in the search "
            "index; rebuild it (peyvand index build)"
        )
    round_fp = _round_fingerprint(model, builder, programs)
    return _RoundSetup(
        programs=programs,
        applications=applications,
        core=ScoringCore(builder, model.ranker, model.fallback),
        positions=np.array([position[p.id] for p in programs], dtype=np.int64),
        round_fp=round_fp,
        app_fp={a.id: _application_fingerprint(round_fp, a) for a in applications},
    )


def _prepare_plans(
    setup: _RoundSetup,
    model: ScoringModel,
    pending: Sequence[schemas.Application],
    prepare: Callable[..., list[tuple[str, list[str]]]],
    watch: _Stopwatch,
) -> tuple[list[PreparedPlan], int]:
    """Normalize, embed and lexically score a batch of plans; a plan without words gets a
    zero vector and no lexical evidence. Returns the plans and how many had no words."""
    prepared = prepare([a.business_plan for a in pending], model.lexical is not None)
    watch.lap("prepare")
    texts = [text for text, _ in prepared]
    builder = setup.core.feature_builder
    embeddings = embed_plans(model.embedder, texts, model.plan_role, builder.dim_)
    watch.lap("embed")
    n_catalogue = len(builder.program_ids_)
    plans = []
    for (text, tokens), embedding in zip(prepared, embeddings, strict=True):
        row = np.zeros(n_catalogue, dtype=np.float32)
        if model.lexical is not None and has_words(text):
            row = lexical_row(model.lexical, text, tokens)
            if row.shape != (n_catalogue,):
                raise InvalidInputError(
                    "the lexical index and the feature builder hold different programs; "
                    "rebuild the index (peyvand index build)"
                )
        plans.append(PreparedPlan(text=text, embedding=embedding, lexical=row))
    watch.lap("lexical")
    return plans, sum(1 for text in texts if not has_words(text))


def _score_batch(
    setup: _RoundSetup,
    round_id: str,
    version: str,
    pending: Sequence[schemas.Application],
    plans: Sequence[PreparedPlan],
    watch: _Stopwatch,
) -> list[dict[str, Any]]:
    """The score rows of every (pending application, round program) pair."""
    core = setup.core
    X = core.features(pending, plans, setup.positions)
    watch.lap("features")
    score, extra = core.predict(X)
    eligible = core.eligible(X, pending, setup.positions)
    watch.lap("predict")
    return score_rows(
        round_id, pending, setup.program_ids, setup.app_fp, version,
        score, extra["p_residency"], extra["p_funding"], extra["expected_funding"], eligible,
    )


def score_round(
    store: Store,
    round_id: str,
    model: ScoringModel,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    force: bool = False,
    workers: int = 1,
    preparer: Callable[..., list[tuple[str, list[str]]]] | None = None,
) -> ScoringRun:
    """Score every application of a round against every program of the round.

    Args:
        store: a migrated store.
        round_id: the round.
        model: the fitted parts (`ScoringModel`).
        batch_size: applications per batch (one transaction, one feature matrix, one
            `predict` call each).
        progress: called as `progress(done, total)` in applications, once at the start and
            after each committed batch. An exception it raises stops the run (the batches
            already committed stay; a rerun continues from there).
        force: score every application again even when its stored scores are current.
        workers: processes for text normalization (see `TextPreparer`).
        preparer: replaces the text preparation: `preparer(raw_texts, with_tokens)` ->
            [(normalized, tokens)] (tests and benchmarks).

    Returns:
        A `ScoringRun` with every score of the round.

    Raises:
        NotFoundError: unknown round.
        InvalidInputError: a round without programs or applications, or a round program that
            is not in the model's catalogue (index).
    """
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
    started, cpu_started = time.perf_counter(), time.process_time()
    watch = _Stopwatch()
    setup = _setup(store, round_id, model)
    applications = setup.applications
    version = model.model_version
    run_id, done_ids = start_run(
        store, round_id, model_version=version, fingerprint=setup.round_fp,
        expected=setup.app_fp, n_programs=len(setup.programs), force=force,
    )
    total = len(applications)
    n_reused = n_done = len(done_ids)
    n_scored = n_empty = 0
    prepare = preparer if preparer is not None else TextPreparer(workers)
    try:
        watch.lap("setup")
        if progress is not None:
            progress(n_done, total)
        for batch in _batches(applications, batch_size):
            pending = [a for a in batch if a.id not in done_ids]
            if not pending:
                continue
            watch.lap("load")  # bookkeeping between batches counts as load
            plans, empty = _prepare_plans(setup, model, pending, prepare, watch)
            n_empty += empty
            rows = _score_batch(setup, round_id, version, pending, plans, watch)
            n_done += len(pending)
            write_batch(
                store, round_id, run_id, rows, application_ids=[a.id for a in pending],
                program_ids=setup.program_ids, n_done=n_done,
            )
            n_scored += len(pending)
            watch.lap("write")
            if progress is not None:
                progress(n_done, total)
        watch.lap("load")
        finish_run(store, round_id, run_id, {a.id for a in applications})
        scores = load_round_scores(
            store, round_id, [a.id for a in applications], setup.program_ids,
            model_version=version, fingerprint=setup.round_fp,
        )
        watch.lap("load")
    except BaseException as exc:
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        message = str(exc) if isinstance(exc, PeyvandError) else type(exc).__name__
        fail_run(store, run_id, status, message)
        raise
    finally:
        if preparer is None and isinstance(prepare, TextPreparer):
            prepare.close()
    run = latest_run(store, round_id)
    assert run is not None
    return ScoringRun(
        run=run,
        scores=scores,
        n_scored=n_scored,
        n_reused=n_reused,
        n_empty_plans=n_empty,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        timings=watch.wall,
        cpu_timings=watch.cpu,
    )
