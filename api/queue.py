"""The job queue on Redis, with Dramatiq (README, "Job queue"): chosen when
`PEYVAND_QUEUE_URL` is set; without it jobs run in a thread of the API process (`api.jobs`).

The queue carries only *which task of which job* to run — `(job_id, task, payload)` — on
one Dramatiq actor (`peyvand_task`). The job itself (its params, state, progress, result,
files) stays in the store as before and is read through `GET /v1/jobs/{id}`; its tasks and
the worker processes that ran them are in `job_tasks` (`api.job_tasks`).

The API side (`QueueDispatcher`) stands where the in-process `JobWorker` stood: `wake()`
after a submit sends a `start` message for each job still queued that has none (once across
API processes: the `start` task row is created first, and only its creator sends). The
worker side is `api.queue_worker` (`peyvand worker`).

Dramatiq's Redis broker acknowledges a message only after its actor returns, keeps a
heartbeat per worker process, and puts the unacknowledged messages of a worker that stopped
beating (killed, machine gone) back on the queue: `PEYVAND_QUEUE_HEARTBEAT_S` after its last
beat, at the next maintenance pass of a live worker.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from recommender.store.tables import JobRow, JobTaskRow

from .job_tasks import TaskStore
from .jobs import JobStore
from .settings import Settings

logger = logging.getLogger(__name__)

QUEUE_NAME = "peyvand"
ACTOR_NAME = "peyvand_task"
START_TASK = "start"
# Share of the broker's fetches that also look for dead workers' messages (Dramatiq's scale
# is 1,000,000; its default, 1,000, may leave a dead worker's message waiting many minutes).
MAINTENANCE_CHANCE = 100_000
# A task may run this long (a big round's chunk); Dramatiq's default is 10 minutes.
TIME_LIMIT_MS = 6 * 60 * 60 * 1000

# The worker process's task handler (api.queue_worker sets it; the API never runs tasks).
_handler: Any = None


class QueueUnavailableError(RuntimeError):
    """Redis cannot be reached at the queue URL."""


def queue_place(url: str) -> str:
    """host:port/db of a queue URL, without a password (for messages)."""
    parts = urlsplit(url)
    place = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
    return place + (parts.path if parts.path not in ("", "/") else "")


def set_handler(handler: Any) -> None:
    """Make `handler(job_id, task, payload)` run this process's tasks (queue workers)."""
    global _handler
    _handler = handler


def _perform(job_id: str, task: str, payload: dict[str, Any]) -> None:
    if _handler is None:  # a message reached a process that runs no tasks
        raise RuntimeError("no task handler in this process")
    _handler(job_id, task, payload)


def make_broker(settings: Settings) -> Any:
    """The Dramatiq Redis broker of `settings.queue_url`, with the one actor declared.

    Raises:
        QueueUnavailableError: Redis does not answer.
    """
    import dramatiq
    import redis
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import (
        AgeLimit,
        CurrentMessage,
        Retries,
        ShutdownNotifications,
        TimeLimit,
    )

    if not settings.queue_url:
        raise QueueUnavailableError("PEYVAND_QUEUE_URL is not set")
    broker = RedisBroker(
        client=redis.Redis.from_url(settings.queue_url, socket_connect_timeout=3),
        namespace=settings.queue_namespace,
        heartbeat_timeout=int(settings.queue_heartbeat_s * 1000),
        maintenance_chance=MAINTENANCE_CHANCE,
        # Failures are recorded on the job (the task handler never raises for a job's own
        # error), so the broker retries nothing; a killed worker's message is re-delivered.
        middleware=[
            AgeLimit(),
            TimeLimit(time_limit=TIME_LIMIT_MS),
            ShutdownNotifications(),
            CurrentMessage(),
            Retries(max_retries=0),
        ],
    )
    try:
        broker.client.ping()
    except redis.RedisError as exc:
        broker.close()
        raise QueueUnavailableError(
            f"Redis is not reachable at {queue_place(settings.queue_url)}: {type(exc).__name__}"
        ) from exc
    dramatiq.actor(actor_name=ACTOR_NAME, queue_name=QUEUE_NAME, broker=broker, max_retries=0)(
        _perform
    )
    return broker


def send(broker: Any, job_id: str, task: str, payload: dict[str, Any] | None = None) -> None:
    """Put one task of a job on the queue."""
    import dramatiq

    broker.enqueue(
        dramatiq.Message(
            queue_name=QUEUE_NAME,
            actor_name=ACTOR_NAME,
            args=(job_id, task, dict(payload or {})),
            kwargs={},
            options={},
        )
    )


class QueueDispatcher:
    """The API's side of the queue, in place of the in-process `JobWorker` (same `start`,
    `stop`, `recover`, `wake` and `alive`).

    Args:
        jobs: the (unscoped) JobStore.
        broker: from `make_broker`.
        stale_after_s: seconds after which a running task's worker is taken for dead.
    """

    def __init__(self, jobs: JobStore, broker: Any, stale_after_s: float) -> None:
        import datetime as dt

        self.jobs = jobs
        self.broker = broker
        self.tasks = TaskStore(jobs.store, dt.timedelta(seconds=stale_after_s))
        self._lock = threading.Lock()

    def start(self) -> None:
        """Send the jobs queued while no API process could (e.g. Redis was down)."""
        self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self.broker.close()

    def recover(self) -> list[str]:
        """Nothing to do here: the broker re-delivers a dead worker's messages."""
        return []

    @property
    def alive(self) -> bool:
        """Redis answers."""
        try:
            return bool(self.broker.client.ping())
        except Exception:
            return False

    def wake(self) -> None:
        """Send a `start` message for every queued job that has none yet."""
        with self._lock:
            try:
                self._dispatch()
            except Exception as exc:  # Redis or the store briefly away: the next wake sends
                logger.error("could not put jobs on the queue: %s", type(exc).__name__)

    def _dispatch(self) -> None:
        store = self.jobs.store
        started = sa.select(JobTaskRow.job_id).where(JobTaskRow.task == START_TASK)
        with store.session() as s:
            queued = s.execute(
                sa.select(JobRow.id, JobRow.org_id)
                .where(JobRow.status == "queued", JobRow.id.not_in(started))
                .order_by(JobRow.created_at, JobRow.id)
                .limit(100)
            ).all()
        for job_id, org_id in queued:
            if not self.tasks.insert_queued(job_id, START_TASK, org_id):
                continue  # another API process sends this one
            try:
                send(self.broker, job_id, START_TASK)
            except Exception:
                self.tasks.delete(job_id, START_TASK)  # sent by a later wake
                raise
