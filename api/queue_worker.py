"""Queue workers (`peyvand worker`): processes that take tasks of jobs off the Redis queue
(`api.queue`) and run them against the shared store.

Every task message `(job_id, task, payload)` goes through `TaskRunner.perform`:

1. the job is read; a job that has ended (or is gone) drops the message;
2. the task is claimed in the store (`api.job_tasks`): a duplicate, or a task a live worker
   runs, is dropped; a task whose worker stopped beating is taken over;
3. `start` claims the job (`running`, this worker). A `round_score` job is cut into chunk
   tasks (`api.round_tasks`), each sent on the queue; any other kind runs whole here, as in
   the API's thread (`JobWorker.run_one`);
4. `chunk-NNNN` scores its applications; the worker that finds every chunk in creates the
   `finish` task (once) and sends it;
5. `finish` writes the allocation and the files and ends the job.

A job's own error (a `PeyvandError`, or any other shown by its type only) fails the job, as
in-process; the message is then acknowledged (nothing is retried by the broker). While a
task runs its row and its job are beaten every few seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from recommender.errors import NotFoundError, PeyvandError
from recommender.store.database import Store
from recommender.store.tables import JobRow, utcnow

from . import embed_tasks, round_tasks
from .job_tasks import CHUNK_PREFIX, SplitJob, TaskStore
from .jobs import FAILED_REASON, Job, JobContext, JobRegistry, JobStore, JobWorker
from .queue import START_TASK, send
from .security import safe_traceback

logger = logging.getLogger(__name__)

FINISH_TASK = "finish"
#: The job kinds queue workers split into tasks; every other kind runs whole in one task.
SPLIT_JOBS: dict[str, SplitJob] = {
    round_tasks.JOB_KIND: round_tasks.SPLIT,
    embed_tasks.JOB_KIND: embed_tasks.SPLIT,
}


class TaskRunner:
    """Runs task messages in one worker process.

    Args:
        jobs: the (unscoped) JobStore of the home.
        registry: job kinds (those not split into tasks run whole).
        services: as for `JobWorker` (plus `scoring_model`, `chunk_size`).
        broker: where to send the tasks a task makes.
        identity: this worker process's id (`jobs.worker_identity()`).
        stale_after: a task silent this long has lost its worker.
        beat_interval: seconds between two beats of a running task.
    """

    def __init__(
        self,
        jobs: JobStore,
        registry: JobRegistry,
        services: dict[str, Any],
        broker: Any,
        identity: str,
        stale_after: dt.timedelta,
        beat_interval: float = 2.0,
    ) -> None:
        self.jobs = jobs
        self.registry = registry
        self.services = services
        self.broker = broker
        self.identity = identity
        self.tasks = TaskStore(jobs.store, stale_after)
        self.beat_interval = beat_interval
        self.whole = JobWorker(jobs, registry, services, heartbeat_interval=beat_interval)
        self.whole.identity = identity

    def perform(self, job_id: str, task: str, payload: dict[str, Any]) -> None:
        try:
            job = self.jobs.get(job_id)
        except NotFoundError:
            return
        if job.done or not self.tasks.claim(job_id, task, self.identity, self._org(job_id)):
            return
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, task, done), daemon=True)
        beat.start()
        try:
            result = self._run(job, task, payload)
        except PeyvandError as exc:
            logger.info("job %s task %s failed: %s", job_id, task, type(exc).__name__)
            self._fail(job_id, task, str(exc)[:2000])
        except Exception as exc:
            logger.error(
                "job %s task %s failed: %s\n%s", job_id, task, type(exc).__name__,
                safe_traceback(exc),
            )
            self._fail(job_id, task, FAILED_REASON.format(error=type(exc).__name__))
        else:
            self.tasks.end(job_id, task, "done", result)
            if task.startswith(CHUNK_PREFIX):
                self._after_chunk(job, int(payload.get("n_chunks", 0)))
        finally:
            done.set()
            beat.join(2)

    # ------------------------------------------------------------------ the tasks
    def _run(self, job: Job, task: str, payload: dict[str, Any]) -> dict[str, Any]:
        if task == START_TASK:
            return self._start(job)
        ctx = self._context(job)
        split = SPLIT_JOBS.get(job.kind)
        if split is not None and task.startswith(CHUNK_PREFIX):
            return split.chunk(ctx, payload)
        if split is not None and task == FINISH_TASK:
            return self._finish(job, ctx)
        raise NotFoundError(f"unknown task '{task}' of job '{job.id}'")

    def _start(self, job: Job) -> dict[str, Any]:
        self._claim_job(job.id)
        split = SPLIT_JOBS.get(job.kind)
        if split is None:
            self.whole.run_one(self.jobs.get(job.id))
            return {}
        out = self.jobs.output_dir(job.id)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        chunks = split.start(self._context(job))
        self.jobs.report(job.id, 0.0, split.progress_text(0, len(chunks)))
        org = self._org(job.id)
        for task, payload in chunks:
            # A start taken over from a killed worker sends the chunks it left unsent (and
            # sent ones again: the claim drops a duplicate).
            made = self.tasks.insert_queued(job.id, task, org)
            if made or self.tasks.status(job.id, task) == "queued":
                send(self.broker, job.id, task, payload)
        return {"n_chunks": len(chunks)}

    def _after_chunk(self, job: Job, n_chunks: int) -> None:
        """Report the chunks done; the worker that completes the set sends the finish."""
        results = self.tasks.results(job.id, CHUNK_PREFIX)
        if n_chunks:
            self.jobs.report(job.id, 0.9 * len(results) / n_chunks,
                             SPLIT_JOBS[job.kind].progress_text(len(results), n_chunks))
        if len(results) < n_chunks:
            return
        made = self.tasks.insert_queued(job.id, FINISH_TASK, self._org(job.id))
        # A worker killed between making the finish and sending it left it queued: the
        # re-delivered chunk sends it again (a duplicate is dropped by the claim).
        if made or self.tasks.status(job.id, FINISH_TASK) == "queued":
            send(self.broker, job.id, FINISH_TASK)

    def _finish(self, job: Job, ctx: JobContext) -> dict[str, Any]:
        chunk_results = list(self.tasks.results(job.id, CHUNK_PREFIX).values())
        result = SPLIT_JOBS[job.kind].finish(ctx, chunk_results)
        out = self.jobs.output_dir(job.id)
        result["files"] = sorted(p.name for p in out.iterdir() if p.is_file())
        started = self.jobs.get(job.id).started_at
        result["seconds"] = round((utcnow() - started).total_seconds(), 3) if started else 0.0
        self.jobs.finish(job.id, result)
        return {}

    # ------------------------------------------------------------------ helpers
    def _context(self, job: Job) -> JobContext:
        out = self.jobs.output_dir(job.id)
        out.mkdir(parents=True, exist_ok=True)
        return JobContext(
            job_id=job.id, params=job.params, store=self.jobs.store, output_dir=out,
            services=self.services, _report=self._reporter(job.id),
        )

    def _reporter(self, job_id: str) -> Callable[[float, str], None]:
        last = [0.0]

        def report(fraction: float, message: str) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.5:
                last[0] = now
                self.jobs.report(job_id, fraction, message)

        return report

    def _claim_job(self, job_id: str) -> None:
        now = utcnow()
        with self.jobs.store.session() as s:
            s.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id, JobRow.status.in_(("queued", "running")))
                .values(status="running", worker=self.identity, started_at=now,
                        heartbeat_at=now, message="")
            )

    def _org(self, job_id: str) -> str | None:
        with self.jobs.store.session() as s:
            return s.scalar(sa.select(JobRow.org_id).where(JobRow.id == job_id))

    def _fail(self, job_id: str, task: str, reason: str) -> None:
        self.tasks.end(job_id, task, "failed", None)
        self.jobs.fail(job_id, reason)

    def _beat(self, job_id: str, task: str, done: threading.Event) -> None:
        while not done.wait(self.beat_interval):
            try:
                self.tasks.beat(job_id, task)
                self.jobs.heartbeat(job_id)
            except Exception as exc:
                logger.warning("beat of job %s failed: %s", job_id, type(exc).__name__)


# ---------------------------------------------------------------------- processes
def worker_services(
    settings: Any, scoring_model: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """What a worker's jobs get: the home's recommender (loaded in the background at start,
    unless `scoring_model` gives round tasks their model), the settings, the chunk size."""
    from .engine import RecommenderHolder
    from .services import load_recommender

    def load(previous: Any) -> Any:
        return load_recommender(
            settings, embedder=previous.embedder if previous is not None else None
        )

    holder = RecommenderHolder(loader=load, max_concurrent=1)
    if scoring_model is None:
        holder.load_in_background()
    return {
        "recommender": holder.get_settled,
        "reload_recommender": holder.reload_in_background,
        "settings": settings,
        "scoring_model": scoring_model,
        "chunk_size": settings.queue_chunk_size,
    }


def serve(
    settings: Any,
    *,
    scoring_model: Callable[[], Any] | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Run one worker process until SIGTERM or SIGINT: one task at a time, one message
    fetched ahead of none (so a long chunk never holds another one back).

    Raises:
        QueueUnavailableError: Redis does not answer.
        Exception: whatever the database raises when it does not answer.
    """
    import signal

    import dramatiq

    from .job_kinds import register_all
    from .jobs import default_registry, worker_identity
    from .queue import make_broker, set_handler

    store = Store(settings.db_url)
    try:
        store.require_current_schema()
        broker = make_broker(settings)
    except BaseException:
        store.close()
        raise
    registry = register_all(default_registry.copy())
    identity = worker_identity()
    runner = TaskRunner(
        JobStore(store, settings.resolved_home / "jobs"), registry,
        worker_services(settings, scoring_model), broker, identity,
        stale_after=dt.timedelta(seconds=settings.queue_heartbeat_s),
        beat_interval=max(0.2, min(5.0, settings.queue_heartbeat_s / 4)),
    )
    set_handler(runner.perform)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=500)
    worker.queue_prefetch = 1
    worker.start()
    if ready is not None:
        ready(identity)
    try:
        stop.wait()
    finally:
        worker.stop()
        broker.close()
        store.close()
