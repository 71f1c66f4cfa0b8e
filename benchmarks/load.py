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

Usage:
    .venv/bin/python benchmarks/load.py [--clients 50] [--duration 60] [--baseline 15]
        [--home .cache/load-home] [--applications 200] [--fake]
        [--out benchmarks/results/load.json]
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
def prepare_home(home: Path, n_applications: int, fake: bool) -> tuple[str, list[str]]:
    """Make sure the home has programs, applications and (unless fake) an index; return a
    staff token and the application ids to match."""
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
        if len(ids) < n_applications:
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
    return token, ids[:n_applications]


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
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "load.json")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    os.environ.setdefault("PEYVAND_MODEL_CACHE", str(ROOT / ".cache" / "models"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.command == "serve":
        serve(home, args.port, args.fake, args.max_concurrent)
        return 0

    token, ids = prepare_home(home, args.applications, args.fake)
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
        # Warm-up: every application once (plan vectors cached), not measured.
        warm_started = time.monotonic()
        import httpx

        with httpx.Client(
            base_url=base, timeout=300, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            for app_id in ids:
                http.post("/v1/staff/match", json={"application_id": app_id, "top": args.top})
        warm_s = time.monotonic() - warm_started
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
    print(
        f"{'':<16}{'clients':>8}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    )
    for label, row in (("single client", baseline), ("concurrent", loaded)):
        print(
            f"{label:<16}{row['clients']:>8}{row['requests']:>10}{row['errors']:>8}"
            f"{row['requests_per_s']:>9}{row['p50_ms'] or '-':>9}{row['p99_ms'] or '-':>9}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 1 if loaded["errors"] or baseline["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
