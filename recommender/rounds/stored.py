"""What a round keeps in the store: its inputs (round, programs, applications), its scores
(`round_scores`, one upsert per batch) and the progress of its scoring runs (`round_runs`).

Every score row carries the model version and a data fingerprint per application; an
application whose rows are complete and carry the current fingerprint is not scored again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from recommender import schemas
from recommender.errors import InvalidInputError, NotFoundError, bilingual
from recommender.scoring.round_scores import RoundScores
from recommender.store.database import Store
from recommender.store.tables import RoundRunRow, RoundScoreRow, as_utc, utcnow

__all__ = [
    "RUN_STATES",
    "RoundRun",
    "current_applications",
    "fail_run",
    "finish_run",
    "latest_run",
    "load_round_scores",
    "round_inputs",
    "score_rows",
    "start_run",
    "upsert_scores",
    "write_batch",
    "write_scores",
]

RUN_STATES: tuple[str, ...] = ("running", "succeeded", "failed", "interrupted")

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


def round_inputs(
    store: Store, round_id: str, *, session: Session | None = None
) -> tuple[schemas.IntakeRound, list[schemas.Program], list[schemas.Application]]:
    """The round, its programs (round order) and its applications (sorted by id).

    A round is its house's: every program it scores and allocates must be run by the round's
    house (a program moved to another house after the round was made is refused, not scored
    into this house's shortlists and seats).

    Raises:
        NotFoundError: unknown round.
        InvalidInputError: the round has no programs or no applications, or names a program
            of another house.
    """
    intake = store.get_round(round_id, session=session)
    if not intake.program_ids:
        raise InvalidInputError(
            bilingual(
                f"round '{round_id}' has no programs; attach programs to it first",
                f"دورهٔ «{round_id}» هیچ برنامه‌ای ندارد؛ نخست برنامه‌ها را به آن بیفزایید.",
            )
        )
    catalogue = {p.id: p for p in store.list_programs(session=session)}
    programs = [catalogue[pid] for pid in intake.program_ids if pid in catalogue]
    if len(programs) != len(intake.program_ids):
        missing = [pid for pid in intake.program_ids if pid not in catalogue]
        raise NotFoundError(
            bilingual(
                f"round '{round_id}' names unknown program(s): {', '.join(missing)}",
                f"دورهٔ «{round_id}» برنامه‌هایی را نام می‌برد که نیستند: {'، '.join(missing)}",
            )
        )
    foreign = [p.id for p in programs if intake.org_id and p.org_id != intake.org_id]
    if foreign:
        raise InvalidInputError(
            bilingual(
                f"round '{round_id}' belongs to the house '{intake.org_id}' but names "
                f"program(s) of another house: {', '.join(foreign)}; remove them from the round",
                f"دورهٔ «{round_id}» از آنِ خانهٔ «{intake.org_id}» است اما برنامه‌های خانهٔ "
                f"دیگری را نام می‌برد: {'، '.join(foreign)}؛ آنها را از دوره بردارید.",
            )
        )
    applications = sorted(store.list_applications(round_id, session=session), key=lambda a: a.id)
    if not applications:
        raise InvalidInputError(
            bilingual(
                f"round '{round_id}' has no applications; import applications with round_id "
                f"'{round_id}' first",
                f"دورهٔ «{round_id}» هیچ درخواستی ندارد؛ نخست درخواست‌هایی با round_id "
                f"«{round_id}» وارد کنید.",
            )
        )
    return intake, programs, applications


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


def current_applications(
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


def upsert_scores(session: Session, rows: list[dict[str, Any]]) -> None:
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


def start_run(
    store: Store,
    round_id: str,
    *,
    model_version: str,
    fingerprint: str,
    expected: Mapping[str, str],
    n_programs: int,
    force: bool = False,
) -> tuple[int, set[str]]:
    """Record a new `running` run of the round (a run still marked running is superseded).

    Args:
        expected: the current fingerprint per application id (all of the round's).
        n_programs: the round's programs.
        force: count no stored score as current.

    Returns:
        (the run's id, the application ids whose stored scores are current).
    """
    with store.session() as s:
        done_ids = set() if force else current_applications(s, round_id, expected, n_programs)
        now = utcnow()
        s.execute(
            sa.update(RoundRunRow)
            .where(RoundRunRow.round_id == round_id, RoundRunRow.status == "running")
            .values(status="interrupted", error="superseded by a newer run", updated_at=now)
        )
        run_row = RoundRunRow(
            round_id=round_id,
            status="running",
            model_version=model_version,
            data_fingerprint=fingerprint,
            n_total=len(expected),
            n_done=len(done_ids),
            n_reused=len(done_ids),
            started_at=now,
            updated_at=now,
        )
        s.add(run_row)
        s.flush()
        return run_row.id, done_ids


def write_batch(
    store: Store,
    round_id: str,
    run_id: int,
    rows: list[dict[str, Any]],
    *,
    application_ids: Sequence[str],
    program_ids: Sequence[str],
    n_done: int,
) -> None:
    """One transaction: a batch's score rows, the removal of its applications' rows for
    programs no longer in the round, and the run's progress (`n_done`)."""
    with store.session() as s:
        _write_scores(s, round_id, rows, application_ids, program_ids)
        s.execute(
            sa.update(RoundRunRow)
            .where(RoundRunRow.id == run_id)
            .values(n_done=n_done, updated_at=utcnow())
        )


def write_scores(
    store: Store,
    round_id: str,
    rows: list[dict[str, Any]],
    *,
    application_ids: Sequence[str],
    program_ids: Sequence[str],
) -> None:
    """`write_batch` without a run (a chunk scored by a queue worker): one transaction,
    idempotent (the rows are upserted by round, application and program)."""
    with store.session() as s:
        _write_scores(s, round_id, rows, application_ids, program_ids)


def _write_scores(
    session: Session,
    round_id: str,
    rows: list[dict[str, Any]],
    application_ids: Sequence[str],
    program_ids: Sequence[str],
) -> None:
    upsert_scores(session, rows)
    t = _SCORES
    session.execute(
        sa.delete(t).where(
            t.c.round_id == round_id,
            t.c.application_id.in_(list(application_ids)),
            t.c.program_id.not_in(list(program_ids)),
        )
    )


def finish_run(store: Store, round_id: str, run_id: int, keep: set[str]) -> None:
    """Mark the run succeeded and delete the rows of applications that left the round."""
    with store.session() as s:
        _drop_departed(s, round_id, keep)
        s.execute(
            sa.update(RoundRunRow)
            .where(RoundRunRow.id == run_id)
            .values(status="succeeded", updated_at=utcnow(), finished_at=utcnow())
        )


def fail_run(store: Store, run_id: int, status: str, message: str) -> None:
    """Mark the run `failed` or `interrupted` with a short reason; a failure to record it is
    swallowed (the original error matters more than the bookkeeping)."""
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


def score_rows(
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
