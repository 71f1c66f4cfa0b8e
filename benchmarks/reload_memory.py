"""Warm start and memory across reloads of a locally started server (issue 9, items 10-11).

1. Starts the server (uvicorn, one worker, the real recommender) on a prepared home and waits
   for `/readyz` to say 200.
2. First request vs warm requests: the first `POST /v1/staff/match` by text and the first
   `GET /v1/applications/{id}/suggestions`, then the median of `--warm` more of each.
3. `--cycles` times: imports one changed program (`POST /v1/imports/programs`), which makes the
   server rebuild its index and reload the recommender in the background; waits for the reload
   to finish (its log line) and reads the server's RSS (`VmRSS`) and peak (`VmHWM`).

Prints the figures and writes them to `--out` (JSON). `--code DIR` runs the server from another
checkout (e.g. the main branch) for a before/after comparison on the same home and machine.

Home: `--home DIR` (default `.cache/load-home`), prepared as `benchmarks/load.py` does (sample
catalogue, synthetic applications, index with the offline e5 model from PEYVAND_MODEL_CACHE).

Usage:
    .venv/bin/python benchmarks/reload_memory.py [--cycles 5] [--warm 5]
        [--home .cache/load-home] [--code DIR] [--out benchmarks/results/reload_memory.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if "--serve" not in sys.argv:  # the server child imports from PYTHONPATH (`--code`)
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

LOADED = "recommender loaded in"
PLANS = [
    # Each request gets a template of its own: later requests must not reuse the first one's
    # words (the tokenizer caches informal-to-formal word forms).
    "ما یک سامانهٔ پرداخت و کیف پول دیجیتال برای فروشگاه‌های کوچک ساخته‌ایم و {n} کاربر داریم.",
    "اپلیکیشن ما نوبت‌دهی آنلاین پزشکان و مشاورهٔ پزشکی از راه دور است؛ {n} درمانگاه مشتری ماست.",
    "حسگرهای رطوبت خاک ما مصرف آب گلخانه را {n} درصد کم می‌کند؛ کشاورزی هوشمند در اصفهان.",
    "بستر آموزش آنلاین برنامه‌نویسی برای نوجوانان با {n} دانش‌آموز فعال در سه استان.",
    "خانهٔ خلاق ما صنایع دستی شیراز را با {n} هنرمند به گردشگران خارجی می‌فروشد.",
    "نرم‌افزار حسابداری ابری برای کارگاه‌های تولیدی کوچک؛ {n} شرکت نسخهٔ آزمایشی را خریده‌اند.",
    "سامانهٔ مدیریت ناوگان حمل بار شهری با ردیابی لحظه‌ای برای {n} کامیون در مشهد.",
]
# Every request embeds a plan no run has embedded before (the home's vector cache would
# otherwise make a second run's requests cheaper than the first run's).
NONCE_WORDS = ["الف", "ب", "پ", "ت", "ث", "ج", "چ", "ح", "خ", "د"]


def serve(home: Path, port: int) -> None:
    """The child process: the app with the real recommender on 127.0.0.1:port."""
    import logging

    import uvicorn

    from api.main import create_app
    from api.settings import Settings

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("api.engine").setLevel(logging.INFO)
    app = create_app(Settings(home=home))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def _loads_logged(log: Path) -> int:
    return log.read_text(encoding="utf-8", errors="replace").count(LOADED)


def _timed(call: Any) -> float:
    began = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"request failed: {response.status_code} {response.text[:200]}")
    return elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from load import _free_port, prepare_home

    from api.settings import Settings
    from recommender.store.database import Store

    home = Path(args.home).resolve()
    staff_token, ids = prepare_home(home, args.applications, fake=False)
    with Store(Settings(home=home).db_url) as store:
        program = store.list_programs()[0]
    port = _free_port()
    log = Path(args.out).with_suffix(".server.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    code = Path(args.code).resolve() if args.code else ROOT
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONUNBUFFERED": "1"}
    with log.open("w", encoding="utf-8") as handle:
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), "--home",
             str(home)],
            stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=str(code),
        )
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"code": str(code), "home": str(home)}
    try:
        started = time.monotonic()
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited; see {log}")
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"not ready in {args.timeout:.0f} s; see {log}")
            time.sleep(0.2)
        result["ready_after_s"] = round(time.monotonic() - started, 2)
        result["rss_ready_mb"] = round(_rss_mb(server.pid)[0], 1)
        staff = {"Authorization": f"Bearer {staff_token}"}
        rng = random.Random(time.time_ns())
        nonce = " ".join(rng.choices(NONCE_WORDS, k=6)) + f" {rng.randrange(10**9)}"
        fresh_ids = rng.sample(ids, args.warm + 1)
        if args.warm + 1 > len(PLANS):
            raise SystemExit(f"--warm is at most {len(PLANS) - 1} (one new plan per request)")
        with httpx.Client(base_url=base, timeout=120) as http:
            match = [
                _timed(lambda k=k: http.post(
                    "/v1/staff/match",
                    json={"text": PLANS[k % len(PLANS)].format(n=100 + k) + nonce, "top": 10},
                    headers=staff,
                ))
                for k in range(args.warm + 1)
            ]
            # Suggestions of applications not requested before (their plans are embedded on
            # first use in every run), then the same page again (what the issue called later).
            suggest = [
                _timed(lambda k=k: http.get(
                    f"/v1/applications/{fresh_ids[k]}/suggestions", headers=staff
                ))
                for k in range(args.warm + 1)
            ]
            again = [
                _timed(lambda: http.get(
                    f"/v1/applications/{fresh_ids[0]}/suggestions", headers=staff
                ))
                for _ in range(args.warm)
            ]
            result["suggest_same_page_again_median_ms"] = round(statistics.median(again) * 1000, 1)
            result["rss_after_requests_mb"] = round(_rss_mb(server.pid)[0], 1)
            result["match_first_ms"] = round(match[0] * 1000, 1)
            result["match_warm_median_ms"] = round(statistics.median(match[1:]) * 1000, 1)
            result["suggest_first_ms"] = round(suggest[0] * 1000, 1)
            result["suggest_warm_median_ms"] = round(statistics.median(suggest[1:]) * 1000, 1)
            result["first_over_warm"] = {
                "match": round(match[0] / statistics.median(match[1:]), 2),
                "suggest": round(suggest[0] / statistics.median(suggest[1:]), 2),
            }
            cycles = []
            for cycle in range(1, args.cycles + 1):
                before = _loads_logged(log)
                changed = program.model_dump(mode="json")
                changed["description"] = f"{program.description} (ویرایش {cycle})"
                began = time.monotonic()
                response = http.post(
                    "/v1/imports/programs",
                    files={"file": ("p.json", json.dumps([changed]).encode())},
                    headers=staff,
                )
                if response.status_code != 200:
                    raise SystemExit(f"import failed: {response.status_code} {response.text}")
                while _loads_logged(log) <= before:
                    if time.monotonic() - began > args.timeout:
                        raise SystemExit(f"no reload in {args.timeout:.0f} s; see {log}")
                    time.sleep(0.2)
                time.sleep(1.0)  # let the reload thread finish its clean-up
                rss, peak = _rss_mb(server.pid)
                cycles.append({"cycle": cycle, "reload_s": round(time.monotonic() - began, 1),
                               "rss_mb": round(rss, 1), "peak_mb": round(peak, 1)})
                print(f"  reload {cycle}: {cycles[-1]}", flush=True)
            result["cycles"] = cycles
            result["rss_after_reloads_mb"] = cycles[-1]["rss_mb"] if cycles else None
            result["peak_mb"] = max((c["peak_mb"] for c in cycles), default=None)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=str(ROOT / ".cache" / "load-home"))
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--code", default=None, help="run the server from this checkout")
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "reload_memory.json")
    )
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(Path(args.home), args.serve)
        return
    load_before = os.getloadavg()
    result = run(args)
    result["loadavg_before"] = [round(x, 2) for x in load_before]
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "cycles"}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
