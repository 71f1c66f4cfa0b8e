"""Load test of `POST /v1/staff/match` with stored applications against a locally started
server: a single-client baseline, then N concurrent clients, from the same run and server.

The server runs in its own process (`uvicorn`, one worker: the in-process recommender is shared
by every request; `create_app(max_concurrent_matches=...)` caps concurrent recommend calls).
Clients are threads with one `httpx.Client` each, cycling over stored application ids, so the
numbers are for staff matching of already-submitted plans (their plan vectors come from the
vector cache after the first pass).

Home: `--home DIR` (default `.cache/load-home`). When it has no programs, applications or
index, they are made first: the sample catalogue (data/programs.json), `--applications`
synthetic applications (data/synthetic.py) and `index build` with the offline e5 model
(PEYVAND_MODEL_CACHE, as `make models` builds it). `--fake` swaps the recommender for a
constant one, which measures the service alone (auth, store, JSON, middleware).

**The production deployment** (`--pg URL`): the service as README "Running it for the whole
network" runs it — a fresh PostgreSQL database on that server (dropped at the end), a fresh
home, `peyvand serve --workers N` (`--api-processes N`) and `--workers M` processes of
`peyvand worker` on the queue in Redis (`--redis`; rate limits there too). With
`--score-round` a round of `--round-applications` further applications (not matched by the
clients, so their plans are embedded by the round job itself) is scored with allocation
through `POST /v1/rounds/{id}/score` as the concurrent clients start; the job's wall time, its
`workers` and whether it ended inside the clients' window are reported. One API process and
no workers runs the same through one process (jobs in its own threads), for the figures side
by side.

Usage:
    .venv/bin/python benchmarks/load.py [--clients 50] [--duration 60] [--baseline 15]
        [--home .cache/load-home] [--applications 200] [--fake]
        [--out benchmarks/results/load.json]
    .venv/bin/python benchmarks/load.py --pg postgresql://postgres@127.0.0.1:5432/test
        --api-processes 2 --workers 2 --score-round [--round-applications 150] [--chunk-size 25]
        [--redis redis://127.0.0.1:6379/13] [--out benchmarks/results/load_deployment.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
LOAD_USER = "bench-load"


# ---------------------------------------------------------------------------- server side
class ConstantRecommender:
    """`--fake`: the first ten programs with fixed scores; no model, no index."""

    def __init__(self, programs: list[Any]) -> None:
        self.programs = programs[:10]

    def recommend(self, text=None, application=None, filters=None, top=None, facts=None):  # type: ignore[no-untyped-def]
        from recommender.scoring.pipeline import Recommendation, RecommendationList

        items = [
            Recommendation(
                program_id=p.id,
                name=p.name,
                kind=p.kind,
                province=p.province,
                rank=i + 1,
                score=1.0 - i / 20,
                p_residency=None,
                p_funding=None,
                expected_funding=None,
                reasons=["ثابت"],
                factors={},
                dense_score=0.0,
                lexical_score=0.0,
            )
            for i, p in enumerate(self.programs[: top or 10])
        ]
        return RecommendationList(items=items, notes=["constant recommender (--fake)"])


def serve(home: Path, port: int, fake: bool, max_concurrent: int) -> None:
    """Run the app on 127.0.0.1:port until killed (the benchmark's child process)."""
    import logging

    import uvicorn

    from api.main import create_app
    from api.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(home=home)
    recommender = None
    if fake:
        from recommender.store.database import Store

        with Store(settings.db_url) as store:
            recommender = ConstantRecommender(store.list_programs())
    app = create_app(settings, recommender=recommender, max_concurrent_matches=max_concurrent)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------------------- preparation
def prepare_home(
    home: Path, n_applications: int, fake: bool, round_applications: int = 0
) -> tuple[str, list[str], dict[str, Any] | None]:
    """Make sure the home has programs, applications and (unless fake) an index; return a
    network operator's token, the application ids to match and, with `round_applications`,
    the round to score ({"id", "applications"}: a stored round whose applications are not
    among the ids to match)."""
    from api.accounts import Accounts
    from api.settings import Settings
    from recommender.store.database import Store

    settings = Settings(home=home)
    home.mkdir(parents=True, exist_ok=True)
    with Store(settings.db_url) as store:
        store.upgrade()
        if not store.count("programs"):
            from data.catalog import seed_store

            seed_store(store)  # the sample network's houses, then their programs
        ids = sorted(store.existing_ids("applications"))
        to_score = None
        if round_applications:
            ids, to_score = _store_round(store, n_applications, round_applications)
        elif len(ids) < n_applications:
            from data.synthetic import generate_history
            from recommender.schemas import Application

            history = generate_history(n_rounds=1, applications_per_round=n_applications)
            store.upsert_applications([Application.model_validate(a) for a in history.applications])
            ids = sorted(store.existing_ids("applications"))
        accounts = Accounts(store)
        user = accounts.find_user(LOAD_USER)
        if user is None:
            # the network operator: staff-side matching over every house's applications
            _, token = accounts.add_user(LOAD_USER, "network", token_label="load benchmark")
        else:
            token = accounts.issue_token(user.id, label="load benchmark")
    if not fake and not (settings.index_dir / "CURRENT").exists():
        from api.services import build_index

        print("building the candidate index (once) ...", flush=True)
        build_index(settings)
    return token, ids[:n_applications], to_score


def _store_round(
    store: Any, n_applications: int, round_applications: int
) -> tuple[list[str], dict[str, Any]]:
    """One season of synthetic history, stored: its largest house round (trimmed to about
    `round_applications`) is the round to score; the other applications are matched."""
    from data.synthetic import generate_history
    from recommender.schemas import Application, IntakeRound

    history = generate_history(
        n_rounds=1, applications_per_round=4 * (n_applications + round_applications)
    )
    by_round: dict[str, list[dict[str, Any]]] = {}
    for app in history.applications:
        by_round.setdefault(app["round_id"], []).append(app)
    round_id = max(by_round, key=lambda r: len(by_round[r]))
    in_round = by_round[round_id][:round_applications]
    others = [a for r, apps in by_round.items() if r != round_id for a in apps][:n_applications]
    store.upsert("rounds", [IntakeRound.model_validate(r) for r in history.rounds])
    store.upsert("applications", [Application.model_validate(a) for a in in_round + others])
    return sorted(a["id"] for a in others), {"id": round_id, "applications": len(in_round)}


# --------------------------------------------------------------------------------- client
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, timeout: float) -> dict[str, Any]:
    import httpx

    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=5)
            last = response.json()
            if response.status_code == 200:
                return last
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.5)
    raise SystemExit(f"the server did not become ready in {timeout:.0f} s: {last}")


def warm_up(base: str, token: str, ids: list[str], top: int) -> float:
    """Every application matched once, not measured: its plan vectors go to the home's vector
    cache (one file, shared by every API process). Returns the seconds it took."""
    import httpx

    began = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=300, headers=headers) as http:
        for app_id in ids:
            http.post("/v1/staff/match", json={"application_id": app_id, "top": top})
    return time.monotonic() - began


def run_clients(
    base: str, token: str, ids: list[str], n_clients: int, duration: float, top: int
) -> dict[str, Any]:
    """`n_clients` threads posting matches for `duration` seconds; latency figures."""
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    start_gate = threading.Barrier(n_clients + 1)
    stop_at = [0.0]

    def client(offset: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        mine: list[float] = []
        bad: dict[str, int] = {}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            i = offset
            start_gate.wait()
            while time.monotonic() < stop_at[0]:
                body = {"application_id": ids[i % len(ids)], "top": top}
                i += n_clients
                began = time.perf_counter()
                try:
                    response = http.post("/v1/staff/match", json=body)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - began
                if status == 200:
                    mine.append(elapsed)
                else:
                    bad[str(status)] = bad.get(str(status), 0) + 1
        with lock:
            latencies.extend(mine)
            for key, count in bad.items():
                errors[key] = errors.get(key, 0) + count

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n_clients)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop_at[0] = began + duration
    start_gate.wait()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    return summarize(latencies, errors, wall, n_clients)


def summarize(
    latencies: list[float], errors: dict[str, int], wall: float, n_clients: int
) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    n_errors = sum(errors.values())
    return {
        "clients": n_clients,
        "seconds": round(wall, 2),
        "requests": len(ordered) + n_errors,
        "ok": len(ordered),
        "errors": n_errors,
        "errors_by_status": errors,
        "requests_per_s": round(len(ordered) / wall, 2) if wall else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else None,
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
    }


# ------------------------------------------------------------------- production deployment
def start_deployment(
    home: Path, port: int, api_processes: int, workers: int, environ: dict[str, str]
) -> list[subprocess.Popen[bytes]]:
    """`peyvand serve --workers N` and `workers` × `peyvand worker`, as the README runs them."""
    peyvand = str(Path(sys.executable).parent / "peyvand")
    log = subprocess.DEVNULL
    processes = [
        subprocess.Popen(
            [peyvand, "--home", str(home), "worker"], cwd=ROOT, env=environ, stdout=log
        )
        for _ in range(workers)
    ]
    processes.append(
        subprocess.Popen(
            [peyvand, "--home", str(home), "serve", "--port", str(port),
             "--workers", str(api_processes)],
            cwd=ROOT, env=environ, stdout=log,
        )
    )
    return processes


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


class RoundJob(threading.Thread):
    """Submit the round's scoring (with allocation) and poll its job until it ends."""

    def __init__(self, base: str, token: str, round_id: str, timeout: float) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.round_id, self.timeout = base, token, round_id, timeout
        self.result: dict[str, Any] = {}
        self.ended = float("inf")

    def run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"}
        began = time.monotonic()
        with httpx.Client(base_url=self.base, headers=headers, timeout=120) as http:
            response = http.post(f"/v1/rounds/{self.round_id}/score", json={"allocate": True})
            if response.status_code != 202:
                self.result = {"status": f"HTTP {response.status_code}"}
                return
            job_id = response.json()["job_id"]
            job: dict[str, Any] = {}
            while time.monotonic() - began < self.timeout:
                job = http.get(f"/v1/jobs/{job_id}").json()
                if job.get("status") in ("succeeded", "failed"):
                    break
                time.sleep(1.0)
        self.ended = time.monotonic()
        self.result = {
            "status": job.get("status", "timeout"),
            "seconds": round(time.monotonic() - began, 1),
            "workers": job.get("workers", []),
            "error": job.get("error"),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "serve"])
    parser.add_argument("--home", type=Path, default=ROOT / ".cache" / "load-home")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds, concurrent")
    parser.add_argument("--baseline", type=float, default=15.0, help="seconds, one client")
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument(
        "--max-concurrent", type=int, default=4, help="recommend calls the server runs at once"
    )
    parser.add_argument("--fake", action="store_true", help="constant recommender")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None)
    deployment = parser.add_argument_group("the production deployment")
    deployment.add_argument("--pg", help="PostgreSQL server URL (a fresh database is made)")
    deployment.add_argument("--api-processes", type=int, default=1)
    deployment.add_argument("--workers", type=int, default=0, help="queue worker processes")
    deployment.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    deployment.add_argument("--score-round", action="store_true")
    deployment.add_argument("--round-applications", type=int, default=150)
    deployment.add_argument("--round-timeout", type=float, default=1800.0)
    deployment.add_argument(
        "--chunk-size", type=int, default=25, help="applications per round-scoring task"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        name = "load_deployment.json" if args.pg else "load.json"
        args.out = ROOT / "benchmarks" / "results" / name
    if not args.pg and (args.api_processes != 1 or args.workers or args.score_round):
        parser.error("--api-processes, --workers and --score-round need --pg")
    home = args.home.resolve()
    os.environ.setdefault("PEYVAND_MODEL_CACHE", str(ROOT / ".cache" / "models"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.command == "serve":
        serve(home, args.port, args.fake, args.max_concurrent)
        return 0

    if args.pg:
        return run_deployment(args)
    token, ids, _ = prepare_home(home, args.applications, args.fake)
    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        __file__,
        "serve",
        "--home",
        str(home),
        "--port",
        str(port),
        "--max-concurrent",
        str(args.max_concurrent),
    ] + (["--fake"] if args.fake else [])
    server = subprocess.Popen(command, cwd=ROOT)
    try:
        started = time.monotonic()
        _wait_ready(base, args.ready_timeout)
        ready_s = time.monotonic() - started
        warm_s = warm_up(base, token, ids, args.top)
        baseline = run_clients(base, token, ids, 1, args.baseline, args.top)
        loaded = run_clients(base, token, ids, args.clients, args.duration, args.top)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()

    result = {
        "benchmark": "load: POST /v1/staff/match with stored applications",
        "recommender": "constant (--fake)" if args.fake else "real (home's index and model)",
        "home": str(home),
        "applications": len(ids),
        "top": args.top,
        "max_concurrent_matches": args.max_concurrent,
        "server_ready_s": round(ready_s, 1),
        "warmup_s": round(warm_s, 1),
        "single_client": baseline,
        "concurrent": loaded,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return report(result, args.out)


def report(result: dict[str, Any], out: Path) -> int:
    """Print the table, write the JSON; 1 when any request failed."""
    baseline, loaded = result["single_client"], result["concurrent"]
    print(
        f"{'':<16}{'clients':>8}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    )
    for label, row in (("single client", baseline), ("concurrent", loaded)):
        print(
            f"{label:<16}{row['clients']:>8}{row['requests']:>10}{row['errors']:>8}"
            f"{row['requests_per_s']:>9}{row['p50_ms'] or '-':>9}{row['p99_ms'] or '-':>9}"
        )
    job = result.get("round_job")
    if job:
        print(
            f"round job: {job['status']} in {job.get('seconds')} s "
            f"({result['round']['applications']} applications, allocation), "
            f"workers {job.get('workers')}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    failed = loaded["errors"] or baseline["errors"] or (job and job["status"] != "succeeded")
    return 1 if failed else 0


def run_deployment(args: argparse.Namespace) -> int:
    """The `--pg` mode: fresh database and home, the deployment's processes, the clients and
    (with `--score-round`) a round scored at the same time."""
    import tempfile

    import redis
    from _services import fresh_database

    url, drop = fresh_database(args.pg)
    redis.Redis.from_url(args.redis).flushdb()
    environ = dict(os.environ)
    environ.update(
        PEYVAND_DATABASE_URL=url,
        PEYVAND_RATELIMIT_URL=args.redis,
        PYTHONPATH=str(ROOT),
    )
    if args.workers:
        environ["PEYVAND_QUEUE_URL"] = args.redis
        environ["PEYVAND_QUEUE_CHUNK_SIZE"] = str(args.chunk_size)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="peyvand-load-") as folder:
        home = Path(folder) / "home"
        os.environ["PEYVAND_DATABASE_URL"] = url
        try:
            token, ids, to_score = prepare_home(
                home, args.applications, False, args.round_applications if args.score_round else 0
            )
            port = args.port or _free_port()
            base = f"http://127.0.0.1:{port}"
            started = time.monotonic()
            processes = start_deployment(home, port, args.api_processes, args.workers, environ)
            _wait_ready(base, args.ready_timeout)
            ready_s = time.monotonic() - started
            warm_s = warm_up(base, token, ids, args.top)
            baseline = run_clients(base, token, ids, 1, args.baseline, args.top)
            job = None
            if to_score is not None:
                job = RoundJob(base, token, to_score["id"], args.round_timeout)
                job.start()
            loaded = run_clients(base, token, ids, args.clients, args.duration, args.top)
            clients_done = time.monotonic()
            if job is not None:
                job.join(args.round_timeout)
        finally:
            stop_all(processes)
            drop()
    result = {
        "benchmark": "load: POST /v1/staff/match, production deployment",
        "deployment": {
            "api_processes": args.api_processes,
            "queue_workers": args.workers,
            "store": "PostgreSQL",
            "queue": "Redis (Dramatiq)" if args.workers else "in the API process",
            "chunk_size": args.chunk_size if args.workers else None,
            "rate_limits": "Redis",
        },
        "applications": len(ids),
        "top": args.top,
        "server_ready_s": round(ready_s, 1),
        "warmup_s": round(warm_s, 1),
        "single_client": baseline,
        "concurrent": loaded,
        "round": to_score,
        "round_job": None if job is None else {
            **job.result,
            "ended_within_clients_window": job.ended <= clients_done,
            "seconds_after_clients": round(max(0.0, job.ended - clients_done), 1),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return report(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
