"""The job queue on the real Redis and PostgreSQL (skipped only when one is unreachable): a
round scored in chunks by two `peyvand worker` processes, a worker killed (SIGKILL) in the
middle of a chunk, and the same scores as an in-process run; `peyvand worker` refusing to
start without Redis or the database."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from api.cli import main
from recommender.rounds.scoring import score_round
from recommender.rounds.stored import load_round_scores
from recommender.store.database import Store
from recommender.store.tables import JobTaskRow, RoundScoreRow
from tests.conftest import _pg_connect
from tests.recommender import _round_fixtures as round_fixtures
from tests.recommender._round_fixtures import ROUND_ID, fill_store, make_model

from .conftest import Env, make_env

REDIS = os.environ.get("PEYVAND_TEST_REDIS", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
N_APPS, N_PROGRAMS, CHUNK = 24, 6, 4

pytestmark = pytest.mark.postgres


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A fresh key prefix on the test Redis, its keys deleted after the test."""
    import redis

    client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS}: {type(exc).__name__}")
    namespace = f"peyvand-test-{uuid.uuid4().hex[:8]}"
    yield namespace
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def pg_url(postgres_database: str) -> str:
    with _pg_connect(postgres_database.rsplit("/", 1)[1].split("?", 1)[0]) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return postgres_database


@pytest.fixture
def queue_env(
    pg_url: str, redis_namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    """The app in queue mode (PEYVAND_QUEUE_URL) on PostgreSQL, with the round tests' round."""
    variables = {
        "PEYVAND_QUEUE_URL": REDIS,
        "PEYVAND_QUEUE_NAMESPACE": redis_namespace,
        "PEYVAND_QUEUE_HEARTBEAT_S": "2",
        "PEYVAND_QUEUE_CHUNK_SIZE": str(CHUNK),
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    for env in make_env(pg_url, tmp_path / "home"):
        fill_store(env.store, N_APPS)
        yield env


class Workers:
    """Worker processes started for a test (`tests/api/_queue_worker.py`), stopped after it."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, *delays: float) -> list[tuple[subprocess.Popen[str], str]]:
        """Start one worker per delay (seconds added to each embedding call), all at once;
        returns (process, worker id) of each once it takes messages."""
        environ = dict(os.environ)
        environ.update(
            PYTHONPATH=str(ROOT),
            PEYVAND_HOME=str(self.env.settings.resolved_home),
            PEYVAND_DATABASE_URL=str(self.env.settings.db_url),
        )
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.api._queue_worker", str(delay)],
                cwd=ROOT, env=environ, stdout=subprocess.PIPE, text=True,
            )
            for delay in delays
        ]
        self.processes.extend(started)
        return [(process, self._ready(process)) for process in started]

    @staticmethod
    def _ready(process: subprocess.Popen[str]) -> str:
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                line = process.stdout.readline()
                if line.startswith("READY "):
                    return line.split()[1]
            assert process.poll() is None, "the worker exited at start"
        raise AssertionError("the worker did not start in 90 s")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def workers(queue_env: Env) -> Iterator[Workers]:
    started = Workers(queue_env)
    yield started
    started.stop()


def submit_round(env: Env) -> str:
    job = env.app.state.jobs.submit(
        "round_score", {"round_id": ROUND_ID, "top": 3, "allocate": True}, created_by="test"
    )
    env.app.state.worker.wake()
    return job.id


def wait_done(env: Env, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = env.client.get(f"/v1/jobs/{job_id}", headers=env.auth("admin")).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")


def assert_same_scores_as_in_process(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pair stored once, and each score what an in-process run gives (with the model
    the workers fit: the fixtures' ranker, not the one cached for the app's PROGRAMS)."""
    monkeypatch.setattr(round_fixtures, "_RANKER", None)
    queued = load_round_scores(store, ROUND_ID)
    with store.session() as s:
        count = s.scalar(
            sa.select(sa.func.count()).select_from(RoundScoreRow)
            .where(RoundScoreRow.round_id == ROUND_ID)
        )
    assert count == N_APPS * N_PROGRAMS
    # Batches of the chunk size: the same plans through the same matrix products (another
    # batch size may differ by float rounding, ~1e-16; benchmarks/round_workers.py).
    again = score_round(store, ROUND_ID, make_model(), force=True, batch_size=CHUNK)
    assert again.n_scored == N_APPS
    inprocess = load_round_scores(store, ROUND_ID)
    assert queued.application_ids == inprocess.application_ids
    assert queued.program_ids == inprocess.program_ids
    np.testing.assert_array_equal(queued.score, inprocess.score)
    np.testing.assert_array_equal(queued.eligible, inprocess.eligible)
    np.testing.assert_array_equal(queued.p_residency, inprocess.p_residency)


def assert_scored_once(job: dict[str, Any]) -> None:
    assert job["status"] == "succeeded", job
    scoring = job["result"]["scoring"]
    assert scoring["n_chunks"] == N_APPS // CHUNK
    assert scoring["n_scored"] + scoring["n_reused"] == N_APPS
    assert scoring["n_rescored_at_finish"] == 0  # the finish found every chunk's rows current
    names = {f["name"] for f in job["files"]}
    assert {"scores.csv", "allocation.csv", "report.xlsx", "summary.json"} <= names
    assert job["result"]["allocation"]["n_placed"] > 0


@pytest.mark.slow  # each worker process takes ~3 s CPU to import, far longer on a busy machine
def test_a_round_scored_by_two_workers(
    queue_env: Env, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    (_, first), (_, second) = workers.start(0.4, 0.4)
    job_id = submit_round(queue_env)
    job = wait_done(queue_env, job_id)
    assert_scored_once(job)
    assert job["result"]["scoring"]["n_scored"] == N_APPS
    assert set(job["workers"]) == {first, second}
    with queue_env.store.session() as s:
        tasks = dict(
            s.execute(
                sa.select(JobTaskRow.task, JobTaskRow.workers).where(JobTaskRow.job_id == job_id)
            ).all()
        )
    assert sorted(tasks) == sorted(
        ["start", "finish", *(f"chunk-{i:04d}" for i in range(N_APPS // CHUNK))]
    )
    chunk_workers = {w for task, w in tasks.items() if task.startswith("chunk-")}
    assert chunk_workers == {first, second}  # both scored chunks
    assert_same_scores_as_in_process(queue_env.store, monkeypatch)


@pytest.mark.slow
def test_a_worker_killed_mid_round_loses_nothing(
    queue_env: Env, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(doomed, doomed_id)] = workers.start(1.5)
    job_id = submit_round(queue_env)
    deadline = time.monotonic() + 60
    while True:  # the doomed worker is inside a chunk (embedding its plans)
        with queue_env.store.session() as s:
            running = s.scalar(
                sa.select(JobTaskRow.task).where(
                    JobTaskRow.job_id == job_id,
                    JobTaskRow.task.startswith("chunk-"),
                    JobTaskRow.status == "running",
                )
            )
        if running:
            break
        assert time.monotonic() < deadline, "no chunk started"
        time.sleep(0.05)
    time.sleep(0.3)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    [(_, survivor)] = workers.start(0.0)
    job = wait_done(queue_env, job_id)
    assert_scored_once(job)
    assert job["workers"][0] == doomed_id and survivor in job["workers"]
    with queue_env.store.session() as s:
        taken_over = s.scalar(
            sa.select(JobTaskRow.workers).where(
                JobTaskRow.job_id == job_id, JobTaskRow.task == running
            )
        )
    assert taken_over.split() == [doomed_id, survivor]  # re-delivered, done by the survivor
    assert_same_scores_as_in_process(queue_env.store, monkeypatch)


@pytest.mark.slow
def test_plans_embedded_ahead_by_two_workers(queue_env: Env, workers: Workers) -> None:
    """`POST /v1/applications/embed` with queue workers: the applications' chunks are shared
    between both workers; every plan once."""
    (_, first), (_, second) = workers.start(0.4, 0.4)
    response = queue_env.client.post("/v1/applications/embed", headers=queue_env.auth("admin"))
    assert response.status_code == 202
    job = wait_done(queue_env, response.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["n_plans"] == N_APPS and job["result"]["n_chunks"] == N_APPS // CHUNK
    assert set(job["workers"]) == {first, second}


def test_worker_refuses_to_start_without_redis_or_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    redis_namespace: str,
) -> None:
    home = str(tmp_path / "home")
    monkeypatch.delenv("PEYVAND_QUEUE_URL", raising=False)
    assert main(["--home", home, "worker"]) == 2
    assert "PEYVAND_QUEUE_URL تنظیم نشده است" in capsys.readouterr().err
    monkeypatch.setenv("PEYVAND_QUEUE_URL", "redis://127.0.0.1:1/0")
    assert main(["--home", home, "worker"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "خطا: صف کارها (Redis در 127.0.0.1:1/0) در دسترس نیست؛ Redis را راه‌اندازی کنید یا "
        "PEYVAND_QUEUE_URL را درست کنید."
    ]
    monkeypatch.setenv("PEYVAND_QUEUE_URL", REDIS)
    monkeypatch.setenv("PEYVAND_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert main(["--home", home, "worker"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "پایگاه داده در postgresql" in err[0] and "در دسترس نیست" in err[0]
    assert "Traceback" not in err[0]
    # a database the worker's code is newer than: told which command brings it up
    from recommender.store.database import Store

    old = f"sqlite:///{tmp_path / 'old.db'}"
    with Store(old) as store:
        store.upgrade("0001")
    monkeypatch.setenv("PEYVAND_DATABASE_URL", old)
    assert main(["--home", home, "worker"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "peyvand init" in err[0] and "هم‌خوان نیست" in err[0]


def test_a_houses_job_tasks_are_hidden_from_other_houses(pg_url: str, tmp_path: Path) -> None:
    """job_workers reads through the caller's scope, and PostgreSQL's row-level security
    (migration 0008) hides another house's task rows even from a raw SELECT."""
    import datetime as dt

    from api.job_tasks import TaskStore, job_workers
    from api.jobs import JobStore
    from recommender.store.tenancy import Scope

    with Store(pg_url) as store:
        store.upgrade()
        jobs = JobStore(store, tmp_path / "jobs")
        tasks = TaskStore(store, dt.timedelta(seconds=30))
        ids = {}
        for house in ("house-a", "house-b"):
            job = jobs.submit("selftest", {}, created_by="test", org_id=house)
            assert tasks.claim(job.id, "start", f"vm:1:{house}", house)
            assert not tasks.claim(job.id, "start", "vm:2:late", house)  # a live worker has it
            ids[house] = job.id
        a = store.scoped(Scope.house("house-a"))
        assert job_workers(a, ids["house-a"]) == ["vm:1:house-a"]
        assert job_workers(a, ids["house-b"]) == []
        with a.session() as s:
            raw = set(s.execute(sa.text("SELECT job_id FROM job_tasks")).scalars())
        assert raw == {ids["house-a"]}
