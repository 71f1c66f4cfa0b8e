"""The tasks of a job that queue workers run (`job_tasks` table): claimed by one worker at a
time, beaten while they run, done once.

A message on the queue may be delivered twice: the broker re-delivers the unacknowledged
messages of a worker that stopped beating (killed, machine gone), and a task that finishes
may send the job's next message again after a crash. So every task is guarded here, in the
store:

- `claim` takes a task that is new, queued, or running under a worker whose beat is older
  than `stale_after` (that worker is gone: its message came back); a task that is done, or
  running under a live worker, is not claimed (the duplicate is dropped);
- the work of a task is idempotent (a round's chunk upserts its score rows), so a task taken
  over from a dead worker is simply done again;
- `insert_queued` creates a task row once: of two workers that both find every chunk of a
  round done, one creates the finish task and sends its message, the other does nothing.

Every worker that took a task is kept in its `workers` column: a job's workers
(`job_workers`) are those of all its tasks, in order of first appearance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recommender.rounds.chunks import DEFAULT_CHUNK_SIZE
from recommender.store.database import Store
from recommender.store.tables import JobTaskRow, utcnow
from recommender.text.persian import format_number

if TYPE_CHECKING:
    from .jobs import JobContext

__all__ = [
    "CHUNK_PREFIX", "SplitJob", "TaskStore", "chunk_task", "chunk_tasks", "default_chunk_size",
    "job_workers",
]

CHUNK_PREFIX = "chunk-"


def chunk_task(index: int) -> str:
    """The name of a job's `index`-th chunk task."""
    return f"{CHUNK_PREFIX}{index:04d}"


def chunk_tasks(chunks: Sequence[Sequence[str]]) -> list[tuple[str, dict[str, Any]]]:
    """A job's chunk tasks, one per chunk of application ids: [(task name, payload)]."""
    return [
        (chunk_task(i), {"application_ids": list(ids), "n_chunks": len(chunks)})
        for i, ids in enumerate(chunks)
    ]


def default_chunk_size(ctx: JobContext) -> int:
    """Applications per chunk when the job's params do not say: the service's setting
    (`PEYVAND_QUEUE_CHUNK_SIZE`, in `ctx.services["chunk_size"]`) or `DEFAULT_CHUNK_SIZE`."""
    return int(ctx.services.get("chunk_size") or DEFAULT_CHUNK_SIZE)


@dataclass(frozen=True)
class SplitJob:
    """A job kind that queue workers run as tasks rather than whole (`api.queue_worker`):

    - `start(ctx)` checks the params and returns the chunk tasks `[(chunk_task(i), payload)]`
      (each payload carries `n_chunks`);
    - `chunk(ctx, payload)` does one chunk, idempotently (a re-delivered chunk may run
      twice), and returns its small JSON result (kept on the task);
    - `finish(ctx, chunk_results)` runs once every chunk is in and returns the job's result.

    `chunks_done` words the progress (`progress_text`).
    """

    start: Callable[[JobContext], list[tuple[str, dict[str, Any]]]]
    chunk: Callable[[JobContext, dict[str, Any]], dict[str, Any]]
    finish: Callable[[JobContext, list[dict[str, Any]]], dict[str, Any]]
    chunks_done: str = "{done} از {total} بخش انجام شد"

    def progress_text(self, done: int, total: int) -> str:
        """«۳ از ۱۲ بخش ...» in Persian digits."""
        return self.chunks_done.format(done=format_number(done), total=format_number(total))

    def run_whole(self, ctx: JobContext) -> dict[str, Any]:
        """The job in one process (no queue): start, every chunk in turn, finish."""
        tasks = self.start(ctx)
        results = []
        for done, (_, payload) in enumerate(tasks):
            ctx.progress(done, len(tasks), self.progress_text(done, len(tasks)))
            results.append(self.chunk(ctx, payload))
        return self.finish(ctx, results)


def _split(workers: str | None) -> list[str]:
    return [w for w in (workers or "").split() if w]


def job_workers(store: Store, job_id: str, fallback: str | None = None) -> list[str]:
    """The ids of the worker processes that ran a job's tasks, first comer first; a job run
    in-process (no tasks) has the one worker that ran it (`fallback`, the job's `worker`)."""
    with store.session() as s:
        rows = s.scalars(
            sa.select(JobTaskRow.workers)
            .where(JobTaskRow.job_id == job_id, store.where_visible(JobTaskRow))
            .order_by(JobTaskRow.created_at, JobTaskRow.task)
        ).all()
    seen: list[str] = []
    for workers in rows:
        for worker in _split(workers):
            if worker not in seen:
                seen.append(worker)
    if not seen and fallback:
        seen.append(fallback)
    return seen


class TaskStore:
    """Task rows of jobs on an (unscoped) store.

    Args:
        store: a migrated store.
        stale_after: a running task whose beat is older than this has lost its worker.
    """

    def __init__(self, store: Store, stale_after: dt.timedelta) -> None:
        self.store = store
        self.stale_after = stale_after

    def insert_queued(self, job_id: str, task: str, org_id: str | None) -> bool:
        """Create the task as `queued`; False when it exists already (someone else made it)."""
        try:
            with self.store.session() as s:
                s.add(
                    JobTaskRow(
                        job_id=job_id, task=task, status="queued", workers="", attempts=0,
                        org_id=org_id, created_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def status(self, job_id: str, task: str) -> str | None:
        with self.store.session() as s:
            return s.scalar(
                sa.select(JobTaskRow.status).where(
                    JobTaskRow.job_id == job_id, JobTaskRow.task == task
                )
            )

    def claim(self, job_id: str, task: str, worker: str, org_id: str | None) -> bool:
        """Take the task for `worker` (see the module's rules); True when it is ours now."""
        now = utcnow()
        if self.insert_running(job_id, task, worker, org_id):
            return True
        t = JobTaskRow
        with self.store.session() as s:
            taken = s.execute(  # type: ignore[attr-defined]
                sa.update(t)
                .where(
                    t.job_id == job_id,
                    t.task == task,
                    sa.or_(
                        t.status == "queued",
                        sa.and_(
                            t.status == "running",
                            sa.or_(
                                t.heartbeat_at.is_(None),
                                t.heartbeat_at < now - self.stale_after,
                            ),
                        ),
                    ),
                )
                .values(
                    status="running",
                    workers=sa.case((t.workers == "", worker), else_=t.workers + " " + worker),
                    attempts=t.attempts + 1,
                    heartbeat_at=now,
                )
            ).rowcount
        return bool(taken)

    def insert_running(self, job_id: str, task: str, worker: str, org_id: str | None) -> bool:
        now = utcnow()
        try:
            with self.store.session() as s:
                s.add(
                    JobTaskRow(
                        job_id=job_id, task=task, status="running", workers=worker, attempts=1,
                        org_id=org_id, created_at=now, heartbeat_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    def beat(self, job_id: str, task: str) -> None:
        with self.store.session() as s:
            s.execute(
                sa.update(JobTaskRow)
                .where(
                    JobTaskRow.job_id == job_id,
                    JobTaskRow.task == task,
                    JobTaskRow.status == "running",
                )
                .values(heartbeat_at=utcnow())
            )

    def end(self, job_id: str, task: str, status: str, result: dict[str, Any] | None) -> None:
        """Mark the task `done` (with its small result) or `failed`."""
        now = utcnow()
        with self.store.session() as s:
            s.execute(
                sa.update(JobTaskRow)
                .where(JobTaskRow.job_id == job_id, JobTaskRow.task == task)
                .values(status=status, result=result, finished_at=now, heartbeat_at=now)
            )

    def results(self, job_id: str, prefix: str) -> dict[str, dict[str, Any]]:
        """The results of the job's done tasks whose name starts with `prefix`."""
        with self.store.session() as s:
            rows = s.execute(
                sa.select(JobTaskRow.task, JobTaskRow.result).where(
                    JobTaskRow.job_id == job_id,
                    JobTaskRow.status == "done",
                    JobTaskRow.task.startswith(prefix),
                )
            ).all()
        return {task: dict(result or {}) for task, result in rows}

    def delete(self, job_id: str, task: str) -> None:
        """Forget a queued task whose message could not be sent (a later send makes it anew)."""
        with self.store.session() as s:
            s.execute(
                sa.delete(JobTaskRow).where(
                    JobTaskRow.job_id == job_id,
                    JobTaskRow.task == task,
                    JobTaskRow.status == "queued",
                )
            )
