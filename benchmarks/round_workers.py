"""Round scoring by queue workers: 1 vs 2 `peyvand worker` processes on one round, against
the in-process run, on the real PostgreSQL and Redis.

What runs: a fresh PostgreSQL database (made on `--pg`, dropped at the end), the round tests'
six programs and small model (bag-of-words embedder, real BM25, `FeatureBuilder` and a
logistic `FitRanker`) and `--apps` applications with ~1,000-character Persian plans, so the
real hazm text preparation is most of the work, as on a new round. Workers are
`tests/api/_queue_worker.py` (what `peyvand worker` runs, with that model); their start-up
(imports) is not timed. Timed: submit -> succeeded of a `round_score` job with allocation
(chunks of `--chunk` applications, then the finish: allocation and committee files), and the
same round in-process (`run_round`, forced rescoring). The scores of every run are checked
equal to the in-process ones.

On a shared machine the figures are wall seconds stretched by other processes: the load
average and the CPU count are recorded with them.

Usage:
    .venv/bin/python benchmarks/round_workers.py [--apps 400] [--chunk 25] [--workers 1 2]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/15]
        [--out benchmarks/results/round_workers.json]
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _services import clear_queue, fresh_database, worker_environ, write_report  # noqa: E402

from api.jobs import JobStore  # noqa: E402
from api.queue import QueueDispatcher, make_broker  # noqa: E402
from api.settings import Settings  # noqa: E402
from recommender.rounds.run import run_round  # noqa: E402
from recommender.rounds.stored import load_round_scores  # noqa: E402
from recommender.store.database import Store  # noqa: E402
from recommender.text.normalization import normalize, tokenize  # noqa: E402
from tests.recommender._round_fixtures import (  # noqa: E402
    PLANS,
    ROUND_ID,
    make_applications,
    make_model,
    make_programs,
    make_round,
)


def long_plans(n: int) -> list[Any]:
    """`n` applications whose plans are ~1,000 characters of varied Persian sentences."""
    sentences = [s.strip() + "." for text in PLANS.values() for s in text.split(".") if s.strip()]
    rng = np.random.default_rng(7)
    out = []
    for app in make_applications(n):
        picked = rng.choice(len(sentences), size=24)
        plan = " ".join(sentences[i] for i in picked) + f" {app.business_plan}"
        out.append(app.model_copy(update={"business_plan": plan}))
    return out


def start_workers(n: int, settings: Settings) -> list[subprocess.Popen[str]]:
    environ = worker_environ(settings)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.api._queue_worker", "0"],
            cwd=ROOT, env=environ, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(n)
    ]
    for process in processes:
        assert process.stdout is not None
        while True:
            ready, _, _ = select.select([process.stdout], [], [], 120)
            if not ready or process.poll() is not None:
                raise SystemExit("a worker did not start")
            if process.stdout.readline().startswith("READY "):
                break
    return processes


def queued_run(settings: Settings, store: Store, n_workers: int) -> dict[str, Any]:
    jobs = JobStore(store, settings.resolved_home / "jobs")
    dispatcher = QueueDispatcher(jobs, make_broker(settings), settings.queue_heartbeat_s)
    processes = start_workers(n_workers, settings)
    try:
        began = time.perf_counter()
        job = jobs.submit(
            "round_score", {"round_id": ROUND_ID, "allocate": True, "top": 5}, created_by="bench"
        )
        dispatcher.wake()
        while not (job := jobs.get(job.id)).done:
            time.sleep(0.05)
        seconds = time.perf_counter() - began
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
        dispatcher.stop()
    if job.status != "succeeded":
        raise SystemExit(f"the job failed: {job.error}")
    scoring = (job.result or {})["scoring"]
    return {
        "workers": n_workers,
        "seconds": round(seconds, 2),
        "n_chunks": scoring["n_chunks"],
        "chunk_cpu_wall_seconds_sum": scoring["chunk_seconds"],
        "n_scored": scoring["n_scored"],
    }


def reset_scores(store: Store) -> None:
    import sqlalchemy as sa

    with store.session() as s:
        s.execute(sa.text("DELETE FROM round_scores"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=400)
    parser.add_argument("--chunk", type=int, default=25)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/round_workers.json")
    args = parser.parse_args(argv)

    url, drop = fresh_database(args.pg)
    namespace = f"peyvand-bench-{uuid.uuid4().hex[:6]}"
    try:
        with tempfile.TemporaryDirectory() as home, Store(url) as store:
            store.upgrade()
            store.upsert_programs(make_programs())
            store.upsert_applications(long_plans(args.apps))
            store.upsert_rounds([make_round()])
            settings = Settings(
                home=Path(home), database_url=url, queue_url=args.redis,
                queue_namespace=namespace, queue_chunk_size=args.chunk,
            )
            # hazm's first call loads its resources (workers pay it before they take work)
            normalize("گرم کردن")
            tokenize("گرم کردن")
            began = time.perf_counter()
            # batches of the chunk size: the same groups of plans through the same matrix
            # products as the chunks (other batch sizes differ by float rounding, ~1e-16)
            run_round(store, ROUND_ID, make_model(), Path(home) / "inprocess", allocate=True,
                      top=5, force=True, batch_size=args.chunk)
            inprocess = {"seconds": round(time.perf_counter() - began, 2)}
            reference = load_round_scores(store, ROUND_ID)
            runs = []
            for n in args.workers:
                reset_scores(store)
                run = queued_run(settings, store, n)
                got = load_round_scores(store, ROUND_ID)
                assert got.application_ids == reference.application_ids
                run["same_scores_as_in_process"] = bool(np.array_equal(got.score, reference.score))
                run["max_score_difference"] = float(np.max(np.abs(got.score - reference.score)))
                runs.append(run)
                print(f"{n} worker(s): {run['seconds']} s", flush=True)
    finally:
        drop()
        clear_queue(args.redis, namespace)
    report = {
        "apps": args.apps,
        "programs": 6,
        "chunk": args.chunk,
        "in_process": inprocess,
        "queued": runs,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
