"""Intake rounds: score every application of a round against every program of the round,
then allocate seats and budgets under capacity.

Scoring (`score_round`) is batch work, vectorized per batch of applications:

1. the plans are normalized and tokenized (hazm; optionally in worker processes),
2. embedded through the (cached) embedder, one `embed_documents` call per batch,
3. scored lexically against the catalogue (BM25),
4. turned into one feature matrix for every (application, round program) pair of the batch
   (`FeatureBuilder.transform`), and
5. scored by one `ranker.predict` call on that matrix (or `ranking.unsupervised_score` when no
   model is trained).

Results go to the `round_scores` table, one transaction per batch (an upsert, so writing a
batch twice changes nothing), together with the progress of the run in `round_runs`. Every
row carries the model version and a data fingerprint: a hash of the application, the round's
program records, the catalogue vectors, the embedding model, the feature list and the ranker.
A run killed at any point and started again skips the applications whose rows are complete
and carry the current fingerprint, and does the rest; a finished round scored again with
the same model and data does no work and returns the same results.

Features are computed per application over the whole catalogue (the same as for a single
recommendation), so the batch size changes nothing but memory and how much work a kill
loses.

Allocation: `build_allocation_problem` turns the scores, the round's seat/budget overrides
(falling back to the program's own seats and `funding_max x max(1, seats)` as budget), the
hard eligibility rules, staff pins/vetoes and province minimums into an
`allocation.AllocationProblem`; `run_round` runs the whole thing and writes the committee
reports (`recommender/reports/committee.py`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from recommender import schemas
from recommender.allocation.capacity import Capacity, WhatIf, round_capacity
from recommender.allocation.problem import AllocationProblem
from recommender.allocation.result import AllocationResult, PairDecision, ProgramUsage
from recommender.allocation.solver import DEFAULT_ALLOCATION_TOP_K, DEFAULT_TIME_LIMIT_S, Allocator
from recommender.eligibility import eligibility
from recommender.errors import InvalidInputError, NotFoundError, PeyvandError
from recommender.ranking.features import FEATURE_NAMES, FeatureBuilder
from recommender.scoring.round_scores import RoundScores
from recommender.store.database import Store
from recommender.store.tables import RoundRunRow, RoundScoreRow, as_utc, utcnow

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_TOP_N",
    "UNSUPERVISED_VERSION",
    "Capacity",
    "RoundOutcome",
    "RoundRun",
    "RoundScores",
    "ScoringModel",
    "ScoringRun",
    "TextPreparer",
    "build_allocation_problem",
    "latest_run",
    "load_round_scores",
    "parse_what_if",
    "read_pairs",
    "read_province_minimums",
    "result_from_dict",
    "round_capacity",
    "round_inputs",
    "run_round",
    "score_round",
]

DEFAULT_BATCH_SIZE = 100
DEFAULT_TOP_N = 10
UNSUPERVISED_VERSION = "unsupervised"
UNREGISTERED_VERSION = "unregistered"
RUN_STATES: tuple[str, ...] = ("running", "succeeded", "failed", "interrupted")
ALLOCATION_STATE_FILE = "allocation.json"

ProgressCallback = Callable[[int, int], None]


# --------------------------------------------------------------------------- tables


_SCORES: sa.Table = RoundScoreRow.__table__  # type: ignore[assignment]
_SCORE_VALUES = (
    "score",
    "p_residency",
    "p_funding",
    "expected_funding",
    "eligible",
    "model_version",
    "data_fingerprint",
    "scored_at",
)


# --------------------------------------------------------------------------- inputs


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
        lexical: BM25 over the catalogue in the builder's program order
            (`scores_for_tokens(tokens)` or `scores(text)`), or None for no lexical evidence.
        plan_role: how plans are embedded ("query", as the pipeline does).
        fallback: the scorer used without a ranker, (n, n_features) -> (n,); default
            `ranking.unsupervised_score`.
    """

    embedder: Any
    feature_builder: FeatureBuilder
    ranker: Any | None = None
    version: str | None = None
    lexical: Any | None = None
    plan_role: str = "query"
    fallback: Callable[[np.ndarray], np.ndarray] | None = None

    @classmethod
    def from_recommender(cls, recommender: Any) -> ScoringModel:
        """The parts of a loaded `pipeline.Recommender` (same models, same index)."""
        retriever = getattr(recommender, "retriever", None)
        return cls(
            embedder=recommender.embedder,
            feature_builder=recommender.feature_builder,
            ranker=getattr(recommender, "ranker", None),
            version=getattr(recommender, "ranker_version", None),
            lexical=getattr(retriever, "lexical_", None),
            plan_role=getattr(recommender, "plan_role", "query"),
            fallback=getattr(recommender, "_fallback", None),
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
    from recommender.text.normalization import normalize, tokenize

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


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RoundRun:
    """A scoring run as callers see it (a `round_runs` row)."""

    id: int
    round_id: str
    status: str
    model_version: str
    data_fingerprint: str
    n_total: int
    n_done: int
    n_reused: int
    error: str | None
    started_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("started_at", "updated_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


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


# --------------------------------------------------------------------------- scoring


@dataclass
class _EmptyPlan:
    chunks: np.ndarray
    pooled: np.ndarray
    chunk_spans: list[tuple[int, int]] = field(default_factory=list)
    n_tokens: int = 0


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _sha256(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def round_inputs(
    store: Store, round_id: str, *, session: Session | None = None
) -> tuple[schemas.IntakeRound, list[schemas.Program], list[schemas.Application]]:
    """The round, its programs (round order) and its applications (sorted by id).

    Raises:
        NotFoundError: unknown round.
        InvalidInputError: the round has no programs or no applications.
    """
    intake = store.get_round(round_id, session=session)
    if not intake.program_ids:
        raise InvalidInputError(
            f"round '{round_id}' has no programs; attach programs to it first"
        )
    catalogue = {p.id: p for p in store.list_programs(session=session)}
    programs = [catalogue[pid] for pid in intake.program_ids if pid in catalogue]
    if len(programs) != len(intake.program_ids):
        missing = [pid for pid in intake.program_ids if pid not in catalogue]
        raise NotFoundError(f"round '{round_id}' names unknown program(s): {', '.join(missing)}")
    applications = sorted(store.list_applications(round_id, session=session), key=lambda a: a.id)
    if not applications:
        raise InvalidInputError(
            f"round '{round_id}' has no applications; import applications with round_id "
            f"'{round_id}' first"
        )
    return intake, programs, applications


def _refreshed_builder(builder: FeatureBuilder, current: Mapping[str, schemas.Program]) -> Any:
    """The builder refitted with the store's current program records (same order, same
    vectors, same known loads), so seats and funding changed since indexing count."""
    old = list(builder.programs_)
    fresh = [current.get(p.id, p) for p in old]
    if fresh == old:
        return builder
    known = {
        pid: float(load)
        for pid, load, is_known in zip(
            builder.program_ids_, builder.program_load_, builder.program_load_known_, strict=True
        )
        if is_known
    }
    params = builder.get_params() if hasattr(builder, "get_params") else {}
    return type(builder)(**params).fit(fresh, builder.program_vectors_, program_load=known)


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
        json.dumps(builder.get_params() if hasattr(builder, "get_params") else {}, sort_keys=True),
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


def _to_run(row: RoundRunRow) -> RoundRun:
    return RoundRun(
        id=row.id,
        round_id=row.round_id,
        status=row.status,
        model_version=row.model_version,
        data_fingerprint=row.data_fingerprint,
        n_total=row.n_total,
        n_done=row.n_done,
        n_reused=row.n_reused,
        error=row.error,
        started_at=as_utc(row.started_at) or utcnow(),
        updated_at=as_utc(row.updated_at) or utcnow(),
        finished_at=as_utc(row.finished_at),
    )


def latest_run(store: Store, round_id: str) -> RoundRun | None:
    """The newest scoring run of a round, or None."""
    with store.session() as s:
        row = s.scalars(
            sa.select(RoundRunRow)
            .where(RoundRunRow.round_id == round_id)
            .order_by(RoundRunRow.id.desc())
            .limit(1)
        ).first()
        return _to_run(row) if row is not None else None


def _current_applications(
    session: Session, round_id: str, expected: Mapping[str, str], n_programs: int
) -> set[str]:
    """Application ids whose stored rows are complete and carry the expected fingerprint."""
    t = _SCORES
    query = (
        sa.select(t.c.application_id, t.c.data_fingerprint, sa.func.count())
        .where(t.c.round_id == round_id)
        .group_by(t.c.application_id, t.c.data_fingerprint)
    )
    groups: dict[str, list[tuple[str, int]]] = {}
    for app_id, fp, count in session.execute(query):
        groups.setdefault(app_id, []).append((fp, int(count)))
    return {
        app_id
        for app_id, found in groups.items()
        if found == [(expected.get(app_id), n_programs)]
    }


def _upsert_scores(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = _SCORES
    keys = [table.c.round_id, table.c.application_id, table.c.program_id]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import (  # type: ignore[assignment]
                insert as dialect_insert,
            )
        stmt = dialect_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={name: stmt.excluded[name] for name in _SCORE_VALUES}
        )
        session.execute(stmt, rows)
        return
    # Other databases: delete the batch's keys, then insert (same transaction).
    for app_id in sorted({r["application_id"] for r in rows}):
        session.execute(
            sa.delete(table).where(
                table.c.round_id == rows[0]["round_id"], table.c.application_id == app_id
            )
        )
    session.execute(sa.insert(table), rows)


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
    stages = ("setup", "prepare", "embed", "lexical", "features", "predict", "write", "load")
    timings = dict.fromkeys(stages, 0.0)
    cpu_timings = dict.fromkeys(stages, 0.0)
    clock = [time.perf_counter(), time.process_time()]

    def lap(stage: str) -> None:
        now = (time.perf_counter(), time.process_time())
        timings[stage] += now[0] - clock[0]
        cpu_timings[stage] += now[1] - clock[1]
        clock[:] = now

    intake, programs, applications = round_inputs(store, round_id)
    builder = model.feature_builder
    if not hasattr(builder, "program_ids_"):
        raise InvalidInputError("the feature builder is not fitted")
    current = {p.id: p for p in store.list_programs()}
    builder = _refreshed_builder(builder, current)
    position = {pid: j for j, pid in enumerate(builder.program_ids_)}
    missing = [p.id for p in programs if p.id not in position]
    if missing:
        raise InvalidInputError(
            f"program(s) {', '.join(missing[:10])} of round '{round_id}' are not in the search "
            "index; rebuild it (peyvand index build)"
        )
    columns = np.array([position[p.id] for p in programs], dtype=np.int64)
    program_ids = [p.id for p in programs]
    n_prog = len(programs)
    round_fp = _round_fingerprint(model, builder, programs)
    app_fp = {a.id: _application_fingerprint(round_fp, a) for a in applications}
    version = model.model_version
    fallback = model.fallback
    if model.ranker is None and fallback is None:
        from recommender.ranking.compose import unsupervised_score

        fallback = unsupervised_score
    feature_names = list(getattr(builder, "feature_names_", FEATURE_NAMES))
    eligible_col = feature_names.index("eligible") if "eligible" in feature_names else None

    total = len(applications)
    with store.session() as s:
        done_ids = set() if force else _current_applications(s, round_id, app_fp, n_prog)
        now = utcnow()
        s.execute(
            sa.update(RoundRunRow)
            .where(RoundRunRow.round_id == round_id, RoundRunRow.status == "running")
            .values(status="interrupted", error="superseded by a newer run", updated_at=now)
        )
        run_row = RoundRunRow(
            round_id=round_id,
            status="running",
            model_version=version,
            data_fingerprint=round_fp,
            n_total=total,
            n_done=len(done_ids),
            n_reused=len(done_ids),
            started_at=now,
            updated_at=now,
        )
        s.add(run_row)
        s.flush()
        run_id = run_row.id
    n_reused = len(done_ids)
    n_done = n_reused
    n_scored = 0
    n_empty = 0
    own_preparer = preparer is None
    prepare = preparer if preparer is not None else TextPreparer(workers)
    with_tokens = model.lexical is not None and hasattr(model.lexical, "scores_for_tokens")
    try:
        lap("setup")
        if progress is not None:
            progress(n_done, total)
        for batch in _batches(applications, batch_size):
            pending = [a for a in batch if a.id not in done_ids]
            if not pending:
                continue
            lap("load")  # bookkeeping between batches counts as load
            prepared = prepare([a.business_plan for a in pending], with_tokens)
            lap("prepare")
            texts = [text for text, _ in prepared]
            has_words = [_has_words(text) for text in texts]
            to_embed = [text for text, ok in zip(texts, has_words, strict=True) if ok]
            embedded = iter(
                model.embedder.embed_documents(to_embed, role=model.plan_role) if to_embed else []
            )
            empty = _EmptyPlan(
                np.zeros((0, builder.dim_), np.float32), np.zeros(builder.dim_, np.float32)
            )
            plans = [next(embedded) if ok else empty for ok in has_words]
            n_empty += has_words.count(False)
            lap("embed")
            lexical = np.zeros((len(pending), len(position)), dtype=np.float32)
            if model.lexical is not None:
                for i, ((text, tokens), ok) in enumerate(zip(prepared, has_words, strict=True)):
                    if not ok:
                        continue
                    row = (
                        model.lexical.scores_for_tokens(tokens)
                        if with_tokens
                        else model.lexical.scores(text)
                    )
                    row = np.asarray(row, dtype=np.float32).reshape(-1)
                    if row.shape != (len(position),):
                        raise InvalidInputError(
                            "the lexical index and the feature builder hold different programs; "
                            "rebuild the index (peyvand index build)"
                        )
                    lexical[i] = row
            lap("lexical")
            pairs = np.stack(
                [np.repeat(np.arange(len(pending)), n_prog), np.tile(columns, len(pending))],
                axis=1,
            )
            X = builder.transform(pending, plans, lexical, pairs=pairs)
            lap("features")
            if model.ranker is not None:
                out = model.ranker.predict(X)
                score = np.asarray(out.score, dtype=np.float64)
                p_res = np.asarray(out.p_residency, dtype=np.float64)
                p_fund = np.asarray(out.p_funding, dtype=np.float64)
                expected = np.asarray(out.expected_funding, dtype=np.float64)
            else:
                assert fallback is not None
                score = np.asarray(fallback(X), dtype=np.float64)
                p_res = p_fund = expected = None  # type: ignore[assignment]
            if eligible_col is not None:
                eligible = X[:, eligible_col] > 0
            else:
                eligible = np.array(
                    [eligibility(a, p) is None for a in pending for p in programs], dtype=bool
                )
            lap("predict")
            rows = _score_rows(
                round_id, pending, program_ids, app_fp, version,
                score, p_res, p_fund, expected, eligible,
            )
            with store.session() as s:
                _upsert_scores(s, rows)
                t = _SCORES
                s.execute(
                    sa.delete(t).where(
                        t.c.round_id == round_id,
                        t.c.application_id.in_([a.id for a in pending]),
                        t.c.program_id.not_in(program_ids),
                    )
                )
                n_done += len(pending)
                s.execute(
                    sa.update(RoundRunRow)
                    .where(RoundRunRow.id == run_id)
                    .values(n_done=n_done, updated_at=utcnow())
                )
            n_scored += len(pending)
            lap("write")
            if progress is not None:
                progress(n_done, total)
        lap("load")
        with store.session() as s:
            _drop_departed(s, round_id, {a.id for a in applications})
            s.execute(
                sa.update(RoundRunRow)
                .where(RoundRunRow.id == run_id)
                .values(status="succeeded", updated_at=utcnow(), finished_at=utcnow())
            )
        scores = load_round_scores(
            store, round_id, [a.id for a in applications], program_ids,
            model_version=version, fingerprint=round_fp,
        )
        lap("load")
    except BaseException as exc:
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        message = str(exc) if isinstance(exc, PeyvandError) else type(exc).__name__
        try:
            with store.session() as s:
                s.execute(
                    sa.update(RoundRunRow)
                    .where(RoundRunRow.id == run_id)
                    .values(
                        status=status,
                        error=message[:500],
                        updated_at=utcnow(),
                        finished_at=utcnow(),
                    )
                )
        except Exception:  # the original error matters more than the bookkeeping
            pass
        raise
    finally:
        if own_preparer and isinstance(prepare, TextPreparer):
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
        timings=timings,
        cpu_timings=cpu_timings,
    )


def _score_rows(
    round_id: str,
    applications: Sequence[schemas.Application],
    program_ids: Sequence[str],
    app_fp: Mapping[str, str],
    version: str,
    score: np.ndarray,
    p_res: np.ndarray | None,
    p_fund: np.ndarray | None,
    expected: np.ndarray | None,
    eligible: np.ndarray,
) -> list[dict[str, Any]]:
    now = utcnow()
    n_prog = len(program_ids)

    def values(arr: np.ndarray | None) -> list[float | None]:
        if arr is None:
            return [None] * len(score)
        return [float(v) if math.isfinite(v) else None for v in arr.tolist()]

    scores = [float(v) for v in score.tolist()]
    res, fund, exp = values(p_res), values(p_fund), values(expected)
    elig = eligible.tolist()
    rows = []
    k = 0
    for app in applications:
        fp = app_fp[app.id]
        for pid in program_ids:
            rows.append(
                {
                    "round_id": round_id,
                    "application_id": app.id,
                    "program_id": pid,
                    "score": scores[k],
                    "p_residency": res[k],
                    "p_funding": fund[k],
                    "expected_funding": exp[k],
                    "eligible": bool(elig[k]),
                    "model_version": version,
                    "data_fingerprint": fp,
                    "scored_at": now,
                }
            )
            k += 1
    assert k == len(applications) * n_prog
    return rows


def _drop_departed(session: Session, round_id: str, keep: set[str]) -> None:
    """Delete the rows of applications that left the round."""
    t = _SCORES
    stored = set(
        session.scalars(sa.select(t.c.application_id).where(t.c.round_id == round_id).distinct())
    )
    gone = sorted(stored - keep)
    for start in range(0, len(gone), 500):
        session.execute(
            sa.delete(t).where(
                t.c.round_id == round_id, t.c.application_id.in_(gone[start : start + 500])
            )
        )


def load_round_scores(
    store: Store,
    round_id: str,
    application_ids: Sequence[str] | None = None,
    program_ids: Sequence[str] | None = None,
    *,
    model_version: str | None = None,
    fingerprint: str = "",
) -> RoundScores:
    """The stored scores of a round as matrices.

    Args:
        store: the store.
        round_id: the round.
        application_ids: rows (default: every stored application, sorted).
        program_ids: columns (default: every stored program, sorted).
        model_version: reported version (default: the newest stored one).
        fingerprint: the round-level fingerprint to report.

    Raises:
        InvalidInputError: some requested pairs have no stored score (score the round).
    """
    t = _SCORES
    query = sa.select(
        t.c.application_id,
        t.c.program_id,
        t.c.score,
        t.c.p_residency,
        t.c.p_funding,
        t.c.expected_funding,
        t.c.eligible,
        t.c.model_version,
    ).where(t.c.round_id == round_id)
    with store.session() as s:
        rows = s.execute(query).all()
    if application_ids is None:
        application_ids = sorted({r[0] for r in rows})
    if program_ids is None:
        program_ids = sorted({r[1] for r in rows})
    a_index = {a: i for i, a in enumerate(application_ids)}
    p_index = {p: j for j, p in enumerate(program_ids)}
    shape = (len(application_ids), len(program_ids))
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    rows_i = np.fromiter((a_index.get(a, -1) for a in columns[0]), np.int64, len(rows))
    rows_j = np.fromiter((p_index.get(p, -1) for p in columns[1]), np.int64, len(rows))
    keep = (rows_i >= 0) & (rows_j >= 0)
    rows_i, rows_j = rows_i[keep], rows_j[keep]

    def matrix(values: Sequence[Any], dtype: Any = np.float64) -> np.ndarray:
        out = np.full(shape, np.nan) if dtype is np.float64 else np.zeros(shape, dtype)
        out[rows_i, rows_j] = np.asarray(values, dtype=dtype)[keep]
        return out

    score = matrix(columns[2])
    p_res = matrix(columns[3])  # None -> nan
    p_fund = matrix(columns[4])
    expected = matrix(columns[5])
    eligible = matrix([bool(v) for v in columns[6]], bool)
    seen = np.zeros(shape, dtype=bool)
    seen[rows_i, rows_j] = True
    versions = set(columns[7])
    any_prob = bool(np.isfinite(p_res).any())
    if not seen.all():
        n_missing = int((~seen).sum())
        raise InvalidInputError(
            f"round '{round_id}' has {n_missing} (application, program) pairs without a score; "
            "score the round first"
        )
    return RoundScores(
        round_id=round_id,
        application_ids=list(application_ids),
        program_ids=list(program_ids),
        score=score,
        p_residency=p_res if any_prob else None,
        p_funding=np.nan_to_num(p_fund, nan=0.0) if any_prob else None,
        expected_funding=np.nan_to_num(expected, nan=0.0) if any_prob else None,
        eligible=eligible,
        model_version=model_version or (sorted(versions)[-1] if versions else ""),
        fingerprint=fingerprint,
    )


# --------------------------------------------------------------------------- allocation


def build_allocation_problem(
    intake: schemas.IntakeRound,
    programs: Mapping[str, schemas.Program],
    applications: Sequence[schemas.Application],
    scores: RoundScores,
    *,
    pins: Sequence[tuple[str, str]] = (),
    vetoes: Sequence[tuple[str, str]] = (),
    province_min_seats: Mapping[Any, int] | None = None,
    seats: Mapping[str, int] | None = None,
    budget: Mapping[str, int] | None = None,
) -> AllocationProblem:
    """The round's `AllocationProblem` (rows = `scores.application_ids`, columns =
    `scores.program_ids`).

    Eligibility is `features.eligibility` on the current records; a grant never exceeds the
    application's funding ask (nor the program's `funding_max`).

    Args:
        intake: the round (seat/budget overrides).
        programs: program records by id.
        applications: the round's applications (any order).
        scores: the round's scores.
        pins: (application_id, program_id) pairs that must be allocated.
        vetoes: pairs that must get nothing.
        province_min_seats: `{province: n}` and/or `{(province, program_id): n}`.
        seats, budget: absolute per-program overrides on top of the round's.

    Raises:
        InvalidInputError: unknown ids in pins, vetoes, minimums or overrides.
    """
    by_id = {a.id: a for a in applications}
    apps = [by_id[a] for a in scores.application_ids]
    progs = [programs[p] for p in scores.program_ids]
    capacity = {c.program_id: c for c in round_capacity(intake, programs)}
    for name, changes in (("seats", seats), ("budget", budget)):
        unknown = [p for p in (changes or {}) if p not in capacity]
        if unknown:
            raise InvalidInputError(
                f"{name} given for program(s) not in the round: {', '.join(unknown)}"
            )
    cap = [capacity[p] for p in scores.program_ids]
    eligible = np.array(
        [[eligibility(a, p) is None for p in progs] for a in apps], dtype=bool
    ).reshape(scores.shape)
    return AllocationProblem(
        application_ids=scores.application_ids,
        program_ids=scores.program_ids,
        score=scores.score,
        eligible=eligible,
        needs_residency=np.array([a.needs_residency for a in apps], dtype=bool),
        funding_ask=np.array([a.funding_ask for a in apps], dtype=np.int64),
        seats=np.array([(seats or {}).get(c.program_id, c.seats) for c in cap], dtype=np.int64),
        budget=np.array(
            [(budget or {}).get(c.program_id, c.budget) for c in cap], dtype=np.int64
        ),
        grant_min=np.array([c.grant_min for c in cap], dtype=np.int64),
        grant_max=np.array([c.grant_max for c in cap], dtype=np.int64),
        p_residency=scores.p_residency,
        p_funding=scores.p_funding,
        expected_funding=None,
        app_province=[a.province for a in apps],
        pins=list(pins),
        vetoes=list(vetoes),
        province_min_seats=dict(province_min_seats or {}),
    )


# --------------------------------------------------------------------------- staff files


def _rows_of(path: Path, what: str) -> list[Any]:
    if not path.is_file():
        raise InvalidInputError(f"{what} file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {what} file {path}: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{what} file {path} is not valid JSON (line {exc.lineno})"
            ) from exc
        return data if isinstance(data, list) else [data]
    if suffix == ".csv":
        return list(csv.DictReader(text.splitlines()))
    raise InvalidInputError(f"{what} file {path} must be .json or .csv")


def read_pairs(path: str | Path, what: str = "pins") -> list[tuple[str, str]]:
    """(application_id, program_id) pairs from a JSON or CSV file.

    JSON: a list of `{"application_id": ..., "program_id": ...}` objects or of
    `[application_id, program_id]` pairs; CSV: a header with `application_id,program_id`.

    Raises:
        InvalidInputError: a missing or unreadable file, or a row without both ids.
    """
    path = Path(path)
    out: list[tuple[str, str]] = []
    for n, row in enumerate(_rows_of(path, what), start=1):
        if isinstance(row, dict):
            a, p = row.get("application_id"), row.get("program_id")
        elif isinstance(row, list | tuple) and len(row) == 2:
            a, p = row
        else:
            a = p = None
        if a in (None, "") or p in (None, ""):
            raise InvalidInputError(
                f"{what} file {path}, row {n}: give both application_id and program_id"
            )
        out.append((str(a).strip(), str(p).strip()))
    return out


def read_province_minimums(path: str | Path) -> dict[Any, int]:
    """Province minimum seats from a JSON or CSV file.

    JSON: `{"تهران": 5}` (at least 5 residencies over all programs) or a list of
    `{"province": ..., "program_id": ... (optional), "min_seats": n}`; CSV: a header with
    `province,program_id,min_seats` (program_id may be empty).

    Returns:
        `{province: n}` and `{(province, program_id): n}` entries.

    Raises:
        InvalidInputError: a missing or unreadable file or a bad row.
    """
    path = Path(path)
    rows = _rows_of(path, "province minimums")
    if len(rows) == 1 and isinstance(rows[0], dict) and "min_seats" not in rows[0]:
        rows = [{"province": k, "min_seats": v} for k, v in rows[0].items()]
    out: dict[Any, int] = {}
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise InvalidInputError(f"province minimums file {path}, row {n}: not an object")
        province = str(row.get("province") or "").strip()
        program = str(row.get("program_id") or "").strip()
        try:
            value = int(str(row.get("min_seats", "")).strip())
        except ValueError:
            value = -1
        if not province or value < 0:
            raise InvalidInputError(
                f"province minimums file {path}, row {n}: give a province and min_seats >= 0"
            )
        out[(province, program) if program else province] = value
    return out


_WHAT_IF_ITEM = re.compile(r"^\s*([^:;]+?)\s*:\s*(.+?)\s*$")


def parse_what_if(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """`"P-12:seats=5,budget=2000000000;P-3:seats=0"` -> (seats, budget) by program id.

    Values are absolute (not changes); `_` may group digits (`2_000_000_000`).

    Raises:
        InvalidInputError: text that does not follow the form.
    """
    seats: dict[str, int] = {}
    budget: dict[str, int] = {}
    parts = [p for p in text.split(";") if p.strip()]
    if not parts:
        raise InvalidInputError("--what-if is empty; write e.g. 'P-12:seats=5,budget=2000000000'")
    for part in parts:
        match = _WHAT_IF_ITEM.match(part)
        if not match:
            raise InvalidInputError(
                f"cannot read what-if item '{part.strip()}'; write PROGRAM:seats=N,budget=RIAL"
            )
        program, settings = match.groups()
        for setting in settings.split(","):
            key, _, value = setting.partition("=")
            key, value = key.strip().lower(), value.strip().replace("_", "")
            if key not in ("seats", "budget") or not value.isdigit():
                raise InvalidInputError(
                    f"cannot read '{setting.strip()}' for program {program}; use seats=N or "
                    "budget=RIAL with whole numbers >= 0"
                )
            (seats if key == "seats" else budget)[program] = int(value)
    return seats, budget


# --------------------------------------------------------------------------- saved allocations


def result_from_dict(data: Mapping[str, Any]) -> AllocationResult:
    """An `AllocationResult` from its `to_dict()` form (e.g. read back from allocation.json)."""
    try:
        decisions = [PairDecision(**d) for d in data["decisions"]]
        names = {f.name for f in dataclasses.fields(ProgramUsage)}
        programs = [
            ProgramUsage(**{k: v for k, v in p.items() if k in names}) for p in data["programs"]
        ]
        fields = {f.name for f in dataclasses.fields(AllocationResult)}
        values = {k: v for k, v in data.items() if k in fields}
        values["decisions"] = decisions
        values["programs"] = programs
        for key in ("gap", "bound"):
            if values.get(key) is None:
                values[key] = math.inf
        return AllocationResult(**values)
    except (KeyError, TypeError) as exc:
        raise InvalidInputError(f"the saved allocation cannot be read: {exc}") from exc


def _save_allocation_state(
    path: Path,
    result: AllocationResult,
    *,
    scores: RoundScores,
    pins: Sequence[tuple[str, str]],
    vetoes: Sequence[tuple[str, str]],
    province_min_seats: Mapping[Any, int],
) -> None:
    state = {
        "format": "peyvand.round_allocation",
        "round_id": scores.round_id,
        "model_version": scores.model_version,
        "data_fingerprint": scores.fingerprint,
        "inputs": {
            "pins": [list(p) for p in pins],
            "vetoes": [list(p) for p in vetoes],
            "province_min_seats": [
                {"province": k[0], "program_id": k[1], "min_seats": v}
                if isinstance(k, tuple)
                else {"province": k, "min_seats": v}
                for k, v in province_min_seats.items()
            ],
        },
        "result": result.to_dict(),
    }
    _atomic_write_text(path, json.dumps(state, ensure_ascii=False, indent=1))


def _load_allocation_state(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"the saved allocation {path} cannot be read: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != "peyvand.round_allocation":
        raise InvalidInputError(f"{path} is not an allocation saved by `peyvand round score`")
    return state


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- the whole round


@dataclass
class RoundOutcome:
    """What `run_round` did: the scoring run, the allocation, a what-if, the files."""

    scoring: ScoringRun
    allocation: AllocationResult | None
    what_if: WhatIf | None
    files: dict[str, Path]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Small JSON-ready summary (the API job's result)."""
        out: dict[str, Any] = {
            "round_id": self.scoring.scores.round_id,
            "scoring": self.scoring.to_dict(),
            "files": sorted(p.name for p in self.files.values()),
            "notes": list(self.notes),
        }
        if self.allocation is not None:
            a = self.allocation
            out["allocation"] = {
                "status": a.status_code,
                "optimal": a.optimal,
                "gap": a.gap if math.isfinite(a.gap) else None,
                "objective": a.objective,
                "n_placed": a.n_placed,
                "unfilled_seats": a.unfilled_seats,
                "unused_budget": a.unused_budget,
                "solve_seconds": round(a.solve_seconds, 3),
            }
        if self.what_if is not None:
            d = self.what_if.diff
            out["what_if"] = {
                "residency_gained": len(d.residency_gained),
                "residency_lost": len(d.residency_lost),
                "funding_changes": len(d.funding_changes),
                "objective_before": d.objective_before,
                "objective_after": d.objective_after,
            }
        return out


def run_round(
    store: Store,
    round_id: str,
    model: ScoringModel,
    out_dir: str | Path,
    *,
    top: int = DEFAULT_TOP_N,
    allocate: bool = False,
    what_if: str | tuple[Mapping[str, int], Mapping[str, int]] | None = None,
    pins: Sequence[tuple[str, str]] | None = None,
    vetoes: Sequence[tuple[str, str]] | None = None,
    province_min_seats: Mapping[Any, int] | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    allocation_top_k: int | None = DEFAULT_ALLOCATION_TOP_K,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int = 1,
    force: bool = False,
    progress: ProgressCallback | None = None,
    generated_at: dt.datetime | None = None,
) -> RoundOutcome:
    """Score a round, optionally allocate (and try a what-if), and write the committee files.

    Files in `out_dir`: scores.csv, shortlists.csv, top_programs.csv, summary.json,
    report.xlsx, report.html; with an allocation also allocation.csv and allocation.json (the
    saved allocation a later what-if compares with); with a what-if, what_if.json and
    what_if_allocation.csv.

    Args:
        store: a migrated store.
        round_id: the round.
        model: the fitted parts.
        out_dir: the output folder (created).
        top: length of each program's shortlist and each application's top list.
        allocate: solve the allocation.
        what_if: `"P-12:seats=5,budget=...;P-3:seats=0"` (or parsed (seats, budget)): re-solve
            with those capacities and compare with the allocation saved in `out_dir` (solved
            first when there is none). Pins, vetoes and minimums default to the saved ones.
        pins, vetoes: staff decisions, (application_id, program_id) pairs.
        province_min_seats: `{province: n}` / `{(province, program_id): n}`.
        time_limit_s: allocation solver limit.
        allocation_top_k: candidate programs per application in the allocation model.
        batch_size, workers, force, progress: see `score_round`.
        generated_at: the report's time (default: now).

    Raises:
        NotFoundError, InvalidInputError: bad round, empty round, bad options, unwritable
            folder.
        InfeasibleError: the pins/minimums cannot be met.
    """
    from recommender.reports import committee as reports

    if top < 1:
        raise InvalidInputError(f"top must be >= 1, got {top}")
    out = reports.ensure_writable(out_dir)
    seat_changes: dict[str, int] = {}
    budget_changes: dict[str, int] = {}
    if isinstance(what_if, str):
        seat_changes, budget_changes = parse_what_if(what_if)
    elif what_if is not None:
        seat_changes, budget_changes = dict(what_if[0]), dict(what_if[1])
    intake, programs, applications = round_inputs(store, round_id)
    program_map = {p.id: p for p in programs}
    unknown = [p for p in {**seat_changes, **budget_changes} if p not in program_map]
    if unknown:
        raise InvalidInputError(
            f"--what-if names program(s) not in round '{round_id}': {', '.join(sorted(unknown))}"
        )
    scoring = score_round(
        store, round_id, model, batch_size=batch_size, progress=progress, force=force,
        workers=workers,
    )
    scores = scoring.scores
    notes: list[str] = []
    state_path = out / ALLOCATION_STATE_FILE
    allocation: AllocationResult | None = None
    whatif: WhatIf | None = None
    allocator = Allocator(time_limit_s=time_limit_s, top_k=allocation_top_k)
    if allocate or what_if is not None:
        saved = None if allocate else _load_allocation_state(state_path)
        if saved is not None:
            inputs = saved.get("inputs", {})
            if pins is None:
                pins = [tuple(p) for p in inputs.get("pins", [])]  # type: ignore[misc]
            if vetoes is None:
                vetoes = [tuple(p) for p in inputs.get("vetoes", [])]  # type: ignore[misc]
            if province_min_seats is None:
                province_min_seats = {
                    (m["province"], m["program_id"]) if m.get("program_id") else m["province"]: int(
                        m["min_seats"]
                    )
                    for m in inputs.get("province_min_seats", [])
                }
        pins = list(pins or [])
        vetoes = list(vetoes or [])
        province_min_seats = dict(province_min_seats or {})
        problem = build_allocation_problem(
            intake, program_map, applications, scores,
            pins=pins, vetoes=vetoes, province_min_seats=province_min_seats,
        )
        if saved is not None:
            allocation = result_from_dict(saved["result"])
            known_a, known_p = set(scores.application_ids), set(scores.program_ids)
            if any(
                d.application_id not in known_a or d.program_id not in known_p
                for d in allocation.decisions
            ) or {u.program_id for u in allocation.programs} != known_p:
                raise InvalidInputError(
                    f"the allocation saved in {out} is for other applications or programs "
                    "than the round has now; run with --allocate to make a new one"
                )
            stale = (
                saved.get("model_version") != scores.model_version
                or saved.get("data_fingerprint") != scores.fingerprint
            )
            if stale:
                notes.append(
                    "the saved allocation was made with another model or other data; the "
                    "what-if is compared with it as saved"
                )
        else:
            allocation = allocator.solve(problem)
            _save_allocation_state(
                state_path, allocation, scores=scores, pins=pins, vetoes=vetoes,
                province_min_seats=province_min_seats,
            )
            stale = False
        if what_if is not None:
            new_result, diff = allocator.what_if(
                problem, allocation, seat_changes or None, budget_changes or None
            )
            whatif = WhatIf(seat_changes, budget_changes, new_result, diff, stale)
    report = reports.RoundReport(
        intake=intake,
        programs=program_map,
        applications={a.id: a for a in applications},
        scores=scores,
        capacity=round_capacity(intake, program_map),
        scoring=scoring.to_dict(),
        allocation=allocation,
        what_if=whatif,
        top=top,
        embedding_model=model.embedding_model,
        generated_at=generated_at or utcnow(),
        notes=notes,
    )
    files = reports.write_round_reports(out, report)
    if state_path.is_file() and allocation is not None:
        files["allocation_state"] = state_path
    return RoundOutcome(scoring=scoring, allocation=allocation, what_if=whatif, files=files,
                        notes=notes)
