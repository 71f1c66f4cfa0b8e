"""Background jobs: state in the store's `jobs` table, run by an in-process worker thread.

A job kind is a plain function registered under a name::

    registry = JobRegistry()

    @registry.kind("round_score", title="امتیازدهی دوره")
    def score(ctx: JobContext) -> dict:
        for i, app in enumerate(apps):
            ...
            ctx.progress(i + 1, len(apps), "در حال امتیازدهی")
        (ctx.output_dir / "scores.csv").write_text(...)
        return {"n_applications": len(apps)}

The function gets a `JobContext` (its params, the store, the settings, a lazy recommender, an
output folder and a progress callback) and returns a small JSON-able dict (the job's
`result`). Files it writes into `ctx.output_dir` are listed in the result and served by
`GET /v1/jobs/{id}/files/{name}`. An exception fails the job: a `PeyvandError`'s message is
shown as is (those are written for people and never quote plan text); any other error shows
only its type, and the log gets a traceback without messages.

Life of a job: `queued` → `running` → `succeeded` | `failed`. Workers claim queued jobs with
one conditional UPDATE, so several API processes on one PostgreSQL never run a job twice.
A running job's `heartbeat_at` is refreshed every few seconds. When a worker starts (and then
every minute) jobs left `running` by a process that is gone are marked `failed` with a plain
reason: at once when the process was on this host and is dead (or is this process, restarted),
else when the heartbeat is older than `stale_after`. Nothing stays "running" forever. Queued
jobs simply wait for the next worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from recommender.errors import InvalidInputError, NotFoundError, PeyvandError
from recommender.store.database import Store
from recommender.store.tables import JobRow, as_utc, utcnow
from recommender.store.tenancy import Scope

from .security import safe_traceback

logger = logging.getLogger(__name__)

INTERRUPTED_REASON = (
    "سرور هنگام اجرای این کار متوقف شد و کار نیمه‌تمام ماند؛ لطفاً دوباره اجرا کنید."
    " (the server stopped while this job was running; run it again)"
)
UNKNOWN_KIND_REASON = "این نوع کار در این نسخه پشتیبانی نمی‌شود. (unknown job kind '{kind}')"
FAILED_REASON = "کار با خطای داخلی ({error}) متوقف شد. (the job failed: {error})"


@dataclass(frozen=True)
class Job:
    """A job as callers see it."""

    id: str
    kind: str
    subject: str | None
    params: dict[str, Any]
    status: str
    progress: float
    message: str
    error: str | None
    result: dict[str, Any] | None
    created_by: str
    worker: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def files(self) -> list[str]:
        return list((self.result or {}).get("files", []))




def _to_job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        subject=row.subject,
        params=dict(row.params or {}),
        status=row.status,
        progress=float(row.progress or 0.0),
        message=row.message or "",
        error=row.error,
        result=row.result,
        created_by=row.created_by,
        worker=row.worker,
        created_at=as_utc(row.created_at) or utcnow(),
        started_at=as_utc(row.started_at),
        heartbeat_at=as_utc(row.heartbeat_at),
        finished_at=as_utc(row.finished_at),
    )


# ------------------------------------------------------------------------ registry
@dataclass
class JobContext:
    """What a job function gets.

    Attributes:
        job_id: the job's id.
        params: the JSON params it was submitted with.
        store: the store.
        output_dir: an empty folder for the job's output files (served for download).
        services: app-level objects by name (e.g. "recommender": a zero-argument callable that
            returns the loaded Recommender, "settings": the Settings).
    """

    job_id: str
    params: dict[str, Any]
    store: Store
    output_dir: Path
    services: dict[str, Any]
    _report: Callable[[float, str], None] = field(repr=False, default=lambda p, m: None)

    def progress(self, done: float, total: float = 1.0, message: str = "") -> None:
        """Report progress: `done` of `total` units (0 <= fraction <= 1) and a short message."""
        fraction = 0.0 if total <= 0 else min(1.0, max(0.0, float(done) / float(total)))
        self._report(fraction, message)


JobFunction = Callable[[JobContext], "dict[str, Any] | None"]


@dataclass(frozen=True)
class JobKind:
    name: str
    function: JobFunction
    title: str = ""


class JobRegistry:
    """Job kinds by name. `register` replaces an existing kind (how a real implementation
    takes over from a placeholder)."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def register(self, name: str, function: JobFunction, title: str = "") -> None:
        self._kinds[name] = JobKind(name, function, title or name)

    def kind(self, name: str, title: str = "") -> Callable[[JobFunction], JobFunction]:
        """Decorator form of `register`."""

        def wrap(function: JobFunction) -> JobFunction:
            self.register(name, function, title)
            return function

        return wrap

    def get(self, name: str) -> JobKind | None:
        return self._kinds.get(name)

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def copy(self) -> JobRegistry:
        other = JobRegistry()
        other._kinds = dict(self._kinds)
        return other


def selftest_job(ctx: JobContext) -> dict[str, Any]:
    """A job that checks the machinery: `steps` steps of `delay` seconds, one output file;
    `fail: true` makes it raise an InvalidInputError at the end."""
    steps = max(1, min(int(ctx.params.get("steps", 3)), 1000))
    delay = max(0.0, min(float(ctx.params.get("delay", 0.0)), 5.0))
    for step in range(steps):
        time.sleep(delay)
        ctx.progress(step + 1, steps, f"گام {step + 1} از {steps}")
    if ctx.params.get("fail"):
        raise InvalidInputError("the self-test job was asked to fail")
    (ctx.output_dir / "selftest.txt").write_text(f"{steps} steps\n", encoding="utf-8")
    return {"steps": steps}


default_registry = JobRegistry()
default_registry.register("selftest", selftest_job, "آزمایش سامانه")


# --------------------------------------------------------------------------- store
def worker_identity() -> str:
    """`host:pid:random`: which process runs a job (the random part tells restarts apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobStore:
    """Job rows on a store, plus their output folders under `root`.

    Args:
        store: a migrated Store.
        root: where each job's output folder `root/<id>/` lives (HOME/jobs).
    """

    def __init__(self, store: Store, root: Path) -> None:
        self.store = store
        self.root = Path(root)

    def scoped(self, scope: Scope) -> JobStore:
        """The jobs `scope` may see (staff: their house's; see recommender.store.tenancy);
        jobs submitted through it belong to the scope's house."""
        return JobStore(self.store.scoped(scope), self.root)

    def output_dir(self, job_id: str) -> Path:
        return self.root / job_id

    def submit(
        self,
        kind: str,
        params: dict[str, Any] | None = None,
        *,
        created_by: str,
        subject: str | None = None,
        org_id: str | None = None,
    ) -> Job:
        """Queue a new job; returns it (status `queued`). It belongs to `org_id` (the house
        whose data it works on, e.g. a round's) or else to the submitter's house."""
        now = utcnow()
        row = JobRow(
            id=uuid.uuid4().hex,
            kind=kind,
            subject=subject,
            params=dict(params or {}),
            status="queued",
            progress=0.0,
            message="",
            created_by=created_by[:100],
            created_at=now,
            org_id=self.store.scope.org_id or org_id,
        )
        with self.store.session() as s:
            s.add(row)
            s.flush()
            return _to_job(row)

    def get(self, job_id: str) -> Job:
        """Raises: NotFoundError."""
        with self.store.session() as s:
            row = s.scalars(
                sa.select(JobRow).where(JobRow.id == job_id, self.store.where_visible(JobRow))
            ).first()
            if row is None:
                raise NotFoundError(f"no job with id '{job_id}'")
            return _to_job(row)

    def list(
        self, subject: str | None = None, limit: int = 50, kind: str | None = None
    ) -> list[Job]:
        """Newest first; of one subject and/or one kind when given."""
        query = (
            sa.select(JobRow)
            .where(self.store.where_visible(JobRow))
            .order_by(JobRow.created_at.desc(), JobRow.id)
            .limit(limit)
        )
        if subject is not None:
            query = query.where(JobRow.subject == subject)
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        with self.store.session() as s:
            return [_to_job(r) for r in s.scalars(query)]

    def claim_next(self, worker: str) -> Job | None:
        """Atomically move the oldest queued job to `running` for this worker."""
        for _ in range(5):
            with self.store.session() as s:
                job_id = s.scalar(
                    sa.select(JobRow.id)
                    .where(JobRow.status == "queued")
                    .order_by(JobRow.created_at, JobRow.id)
                    .limit(1)
                )
            if job_id is None:
                return None
            now = utcnow()
            with self.store.session() as s:
                claimed = s.execute(
                    sa.update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == "queued")
                    .values(
                        status="running",
                        worker=worker,
                        started_at=now,
                        heartbeat_at=now,
                        message="",
                    )
                ).rowcount
            if claimed:
                return self.get(job_id)
        return None

    def report(self, job_id: str, progress: float, message: str) -> None:
        with self.store.session() as s:
            s.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "running")
                .values(progress=progress, message=message[:500], heartbeat_at=utcnow())
            )

    def heartbeat(self, job_id: str) -> None:
        with self.store.session() as s:
            s.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "running")
                .values(heartbeat_at=utcnow())
            )

    def finish(self, job_id: str, result: dict[str, Any]) -> None:
        now = utcnow()
        with self.store.session() as s:
            s.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id)
                .values(
                    status="succeeded",
                    progress=1.0,
                    result=result,
                    finished_at=now,
                    heartbeat_at=now,
                    message="",
                )
            )

    def fail(self, job_id: str, reason: str) -> None:
        now = utcnow()
        with self.store.session() as s:
            s.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id)
                .values(status="failed", error=reason, finished_at=now, heartbeat_at=now)
            )

    def recover(self, me: str, stale_after: dt.timedelta) -> list[str]:
        """Mark `failed` every running job whose process is gone; returns their ids.

        A job's process is gone when it ran on this host under a pid that is dead or is this
        very process (a restart: `me` differs), or when its heartbeat is older than
        `stale_after`.
        """
        host = me.split(":", 1)[0]
        now = utcnow()
        dead: list[str] = []
        with self.store.session() as s:
            running = s.execute(
                sa.select(JobRow.id, JobRow.worker, JobRow.heartbeat_at).where(
                    JobRow.status == "running"
                )
            ).all()
        for job_id, worker, heartbeat in running:
            if worker == me:
                continue
            parts = (worker or "").split(":")
            same_host_dead = False
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
                pid = int(parts[1])
                same_host_dead = pid == os.getpid() or not _pid_alive(pid)
            beat = as_utc(heartbeat)
            stale = beat is None or now - beat > stale_after
            if same_host_dead or stale:
                dead.append(job_id)
        for job_id in dead:
            with self.store.session() as s:
                s.execute(
                    sa.update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == "running")
                    .values(status="failed", error=INTERRUPTED_REASON, finished_at=now)
                )
            logger.warning("job %s was left running by a stopped process; marked failed", job_id)
        return dead


# --------------------------------------------------------------------------- worker
class JobWorker:
    """Runs queued jobs one at a time in a daemon thread.

    Args:
        jobs: the JobStore.
        registry: the job kinds.
        services: passed to every JobContext.
        poll_interval: seconds between looks at the queue when nobody calls `wake()`.
        heartbeat_interval: seconds between heartbeats of a running job.
        stale_after: a running job without a heartbeat for this long is failed by `recover`.
        report_interval: least seconds between two progress writes of a job.
        on_done: called with each finished Job (metrics).
    """

    def __init__(
        self,
        jobs: JobStore,
        registry: JobRegistry,
        services: dict[str, Any] | None = None,
        *,
        poll_interval: float = 2.0,
        heartbeat_interval: float = 5.0,
        stale_after: dt.timedelta = dt.timedelta(minutes=2),
        report_interval: float = 0.25,
        on_done: Callable[[Job], None] | None = None,
    ) -> None:
        self.jobs = jobs
        self.registry = registry
        self.services = dict(services or {})
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.report_interval = report_interval
        self.on_done = on_done
        self.identity = worker_identity()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_recover = 0.0

    def recover(self) -> list[str]:
        self._last_recover = time.monotonic()
        return self.jobs.recover(self.identity, self.stale_after)

    def start(self) -> None:
        """Recover jobs left running by a dead process, then start the thread (again after a
        `stop`; a no-op while it runs)."""
        if self.alive:
            return
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="peyvand-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at the queue now (called after a submit)."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._last_recover > 60:
                    self.recover()
                job = self.jobs.claim_next(self.identity)
            except Exception as exc:  # the database may be briefly unreachable
                logger.error("job queue unavailable: %s", type(exc).__name__)
                job = None
            if job is None:
                self._wake.wait(self.poll_interval)
                self._wake.clear()
                continue
            self.run_one(job)

    def run_one(self, job: Job) -> Job:
        """Run a claimed job to its end (also usable synchronously, e.g. from the CLI)."""
        kind = self.registry.get(job.kind)
        if kind is None:
            self.jobs.fail(job.id, UNKNOWN_KIND_REASON.format(kind=job.kind))
            return self._done(job.id)
        out = self.jobs.output_dir(job.id)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        ctx = JobContext(
            job_id=job.id,
            params=job.params,
            store=self.jobs.store,
            output_dir=out,
            services=self.services,
            _report=self._reporter(job.id),
        )
        beating = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job.id, beating), daemon=True)
        beat.start()
        started = time.monotonic()
        try:
            result = dict(kind.function(ctx) or {})
        except PeyvandError as exc:
            logger.info("job %s (%s) failed: %s", job.id, job.kind, type(exc).__name__)
            self.jobs.fail(job.id, str(exc)[:2000])
        except Exception as exc:
            logger.error(
                "job %s (%s) failed: %s\n%s",
                job.id,
                job.kind,
                type(exc).__name__,
                safe_traceback(exc),
            )
            self.jobs.fail(job.id, FAILED_REASON.format(error=type(exc).__name__))
        else:
            result["files"] = sorted(p.name for p in out.iterdir() if p.is_file())
            result["seconds"] = round(time.monotonic() - started, 3)
            self.jobs.finish(job.id, result)
            logger.info("job %s (%s) succeeded", job.id, job.kind)
        finally:
            beating.set()
            beat.join(2)
        return self._done(job.id)

    def _reporter(self, job_id: str) -> Callable[[float, str], None]:
        """Progress writes, at most one every `report_interval` seconds (the last one of a
        job is written by `finish`)."""
        last = [0.0]

        def report(fraction: float, message: str) -> None:
            now = time.monotonic()
            if now - last[0] >= self.report_interval:
                last[0] = now
                self.jobs.report(job_id, fraction, message)

        return report

    def _done(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if self.on_done is not None:
            self.on_done(job)
        return job

    def _beat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.heartbeat_interval):
            try:
                self.jobs.heartbeat(job_id)
            except Exception as exc:
                logger.warning("heartbeat of job %s failed: %s", job_id, type(exc).__name__)
