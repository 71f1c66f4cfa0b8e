"""Plans embedded ahead by queue workers: the `plans_embed` job with 1 vs 2 `peyvand worker`
processes, against the same work in one process, with the real e5 model on the real
PostgreSQL and Redis.

What runs: a fresh PostgreSQL database (made on `--pg`, dropped at the end) and a fresh home
whose six programs are indexed by `peyvand index build` with the default embedding model;
`--apps` applications with ~1,000-character Persian plans (the round tests' sentences,
shuffled: this measures speed, not quality). Timed: submit -> succeeded of a `plans_embed`
job over the round's applications (chunks of `--chunk`), run by `peyvand worker
--concurrency N`; before it, a warm-up job on four other plans loads the model in every
worker process (long-running workers load it once), and the shared vector cache
(`document_vectors`) is emptied. The in-process figure is `api.embed_tasks.embed_here`
(what `peyvand applications embed` runs) with the model already loaded.

Threads: each worker process gets `--threads` torch threads (default: the CPU count divided
by the number of workers, at least one), so N workers do not oversubscribe the cores. On a
shared machine the figures are stretched by other processes: the load average is recorded.

Usage:
    .venv/bin/python benchmarks/embed_workers.py [--apps 200] [--chunk 25] [--workers 1 2]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/15]
        [--out benchmarks/results/embed_workers.json]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _services import clear_queue, fresh_database, worker_environ, write_report  # noqa: E402
from round_workers import long_plans  # noqa: E402

from api.embed_tasks import JOB_KIND, embed_here  # noqa: E402
from api.jobs import JobStore  # noqa: E402
from api.queue import QueueDispatcher, make_broker  # noqa: E402
from api.settings import Settings  # noqa: E402
from recommender.rounds.scoring import ScoringModel  # noqa: E402
from recommender.store.database import Store  # noqa: E402
from tests.recommender._round_fixtures import (  # noqa: E402
    ROUND_ID,
    make_applications,
    make_programs,
    make_round,
)

WARM_UP_ROUND = "warm-up"


def _peyvand(*args: str, environ: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())"]
    return subprocess.Popen([*command, *args], cwd=ROOT, env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run_job(jobs: JobStore, dispatcher: QueueDispatcher, params: dict[str, Any]) -> Any:
    job = jobs.submit(JOB_KIND, params, created_by="bench")
    dispatcher.wake()
    deadline = time.monotonic() + 1800
    while not (job := jobs.get(job.id)).done:
        if time.monotonic() > deadline:
            raise SystemExit("the job did not end in 30 minutes")
        time.sleep(0.1)
    if job.status != "succeeded":
        raise SystemExit(f"the job failed: {job.error}")
    return job


def _empty_vector_cache(store: Store) -> None:
    with store.session() as s:
        s.execute(sa.text("DELETE FROM document_vectors"))


def queued_run(settings: Settings, store: Store, n_workers: int, threads: int,
               chunk: int) -> dict[str, Any]:
    jobs = JobStore(store, settings.resolved_home / "jobs")
    dispatcher = QueueDispatcher(jobs, make_broker(settings), settings.queue_heartbeat_s)
    workers = _peyvand("worker", "--concurrency", str(n_workers),
                       environ=worker_environ(settings, PEYVAND_EMBEDDING_THREADS=str(threads)))
    try:
        began = time.perf_counter()
        _run_job(jobs, dispatcher, {"round_id": WARM_UP_ROUND, "chunk_size": 1})
        warm_up = time.perf_counter() - began
        _empty_vector_cache(store)
        began = time.perf_counter()
        job = _run_job(jobs, dispatcher, {"round_id": ROUND_ID, "chunk_size": chunk})
        seconds = time.perf_counter() - began
    finally:
        workers.send_signal(signal.SIGTERM)
        workers.wait(60)
        dispatcher.stop()
    result = job.result or {}
    return {
        "workers": n_workers,
        "threads_per_worker": threads,
        "seconds": round(seconds, 2),
        "plans_per_second": round(int(result["n_plans"]) / seconds, 2),
        "warm_up_seconds": round(warm_up, 2),
        "n_chunks": result["n_chunks"],
        "chunk_wall_seconds_sum": result["chunk_seconds"],
        "n_embedded_chunks": result["n_embedded_chunks"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=25)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads per worker (0: CPUs / workers)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/embed_workers.json")
    args = parser.parse_args(argv)
    cpus = os.cpu_count() or 1

    url, drop = fresh_database(args.pg)
    namespace = f"peyvand-bench-{uuid.uuid4().hex[:6]}"
    try:
        with tempfile.TemporaryDirectory() as home, Store(url) as store:
            store.upgrade()
            store.upsert_programs(make_programs())
            store.upsert_rounds([make_round(), make_round(WARM_UP_ROUND)])
            store.upsert_applications(long_plans(args.apps))
            store.upsert_applications(make_applications(4, round_id=WARM_UP_ROUND))
            settings = Settings(
                home=Path(home), database_url=url, queue_url=args.redis,
                queue_namespace=namespace, queue_chunk_size=args.chunk,
            )
            index = _peyvand("index", "build", environ=worker_environ(settings))
            if index.wait(900) != 0:
                raise SystemExit("peyvand index build failed")

            from api.services import load_recommender

            model = ScoringModel.from_recommender(load_recommender(settings))
            _empty_vector_cache(store)
            began = time.perf_counter()
            here = embed_here(store, model, ROUND_ID)
            seconds = time.perf_counter() - began
            in_process = {"seconds": round(seconds, 2),
                          "plans_per_second": round(here["n_plans"] / seconds, 2),
                          "n_embedded_chunks": here["n_embedded_chunks"]}
            print(f"in process: {in_process['seconds']} s", flush=True)
            runs = []
            for n in args.workers:
                threads = args.threads or max(1, cpus // n)
                run = queued_run(settings, store, n, threads, args.chunk)
                runs.append(run)
                print(f"{n} worker(s) x {threads} thread(s): {run['seconds']} s", flush=True)
    finally:
        drop()
        clear_queue(args.redis, namespace)
    report = {
        "apps": args.apps,
        "chunk": args.chunk,
        "model": "multilingual-e5-small (torch)",
        "in_process": in_process,
        "queued": runs,
        "cpus": cpus,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
