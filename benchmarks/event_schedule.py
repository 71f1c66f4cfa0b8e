"""Event schedule speed on a seeded random event: 300 participants x 12 slots x 30 tables.

150 startups, 60 mentors, 50 investors and 40 programs; fits from a seeded latent likeness;
each startup asks to meet 2 partners that fit it (with noise), each partner asks for 1-2
startups (some requests become mutual), everyone is available in 8-12 of the 12 slots, at
most 6 meetings each, 6 suggestions per startup. The schedule is solved exactly
(`recommender.events.solver`: sequential HiGHS solves, one per lexicographic level), then
re-solved after 10 participants cancel, keeping the previous meetings (`--keep-from`'s path).
Target: proven optimal (or the gap stated) within 60 s on the 2-core development machine.
Prints the figures and writes them as JSON (benchmarks/results/ is not committed).

Usage:
    .venv/bin/python benchmarks/event_schedule.py [--participants 300] [--slots 12]
        [--tables 30] [--time-limit 60] [--out benchmarks/results/event_schedule.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.constants import SEED  # noqa: E402
from recommender.events.model import Event, EventData, Participant  # noqa: E402
from recommender.events.planner import schedule_event  # noqa: E402
from recommender.events.result import summary  # noqa: E402
from recommender.events.suggest import Suggestion  # noqa: E402

SHARES = (("startup", 0.5), ("mentor", 0.2), ("investor", 1 / 6), ("program", 2 / 15))


def random_event(n: int, n_slots: int, tables: int, seed: int = SEED):
    """(event data, suggestions, request fits) of a seeded event (module docstring)."""
    rng = np.random.default_rng(seed)
    kinds: list[str] = []
    for kind, share in SHARES:
        kinds += [kind] * round(n * share)
    kinds = (kinds + ["mentor"] * n)[:n]
    ids = [f"{k[:2]}{i:03d}" for i, k in enumerate(kinds)]
    latent = rng.normal(size=(n, 6))
    latent /= np.linalg.norm(latent, axis=1, keepdims=True)
    fit = np.clip((latent @ latent.T + 1) / 2, 0, 1)
    startups = [i for i, k in enumerate(kinds) if k == "startup"]
    partners = [i for i, k in enumerate(kinds) if k != "startup"]
    requests: dict[int, list[str]] = {i: [] for i in range(n)}
    for s in startups:
        noisy = fit[s, partners] + rng.normal(scale=0.1, size=len(partners))
        requests[s] = [ids[partners[j]] for j in np.argsort(-noisy)[:2]]
    for p in partners:
        noisy = fit[p, startups] + rng.normal(scale=0.1, size=len(startups))
        requests[p] = [ids[startups[j]] for j in np.argsort(-noisy)[: rng.integers(1, 3)]]
    slots = [
        {"id": f"s{k + 1:02d}", "start": f"{9 + k // 2:02d}:{(k % 2) * 30:02d}",
         "end": f"{9 + k // 2:02d}:{(k % 2) * 30 + 25:02d}"}
        for k in range(n_slots)
    ]  # fmt: skip
    people = []
    for i in range(n):
        count = int(rng.integers(max(1, n_slots - 4), n_slots + 1))
        chosen = sorted(rng.choice(n_slots, size=count, replace=False))
        people.append(
            Participant(
                id=ids[i], kind=kinds[i], name=ids[i],
                availability=[slots[k]["id"] for k in chosen], requests=requests[i],
            )
        )  # fmt: skip
    event = Event(
        id="bench", name="رویداد محک", date="2026-05-10", slots=slots, tables=tables,
        max_meetings_per_participant=6,
    )  # fmt: skip
    suggestions = []
    for s in startups:
        for j in np.argsort(-fit[s, partners])[:6]:
            p = partners[j]
            suggestions.append(Suggestion(ids[s], ids[p], kinds[p], float(fit[s, p]), ()))
    scores = {(ids[i], o): float(fit[i, ids.index(o)]) for i in range(n) for o in requests[i]}
    return EventData(event=event, participants=tuple(people)), suggestions, scores


def _figures(facts: dict, wall: float, cpu: float) -> dict:
    return {
        "optimal": facts["optimal"],
        "gap": facts["gap"],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "variables": facts["n_variables"],
        "meetings": facts["meetings"],
        "requests_met": facts["requests_met"],
        "startups_with_meeting": f"{facts['startups_with_meeting']}/{facts['startups']}",
        "kept": {k: facts["kept"][k] for k in ("met", "total")},
        "levels": facts["levels"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--slots", type=int, default=12)
    parser.add_argument("--tables", type=int, default=30)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default="benchmarks/results/event_schedule.json")
    args = parser.parse_args()
    data, suggestions, scores = random_event(args.participants, args.slots, args.tables)
    runs = {}
    t0, c0 = time.perf_counter(), time.process_time()
    first = schedule_event(data, suggestions=suggestions, scores=scores,
                           time_limit_s=args.time_limit)
    runs["schedule"] = _figures(summary(first), time.perf_counter() - t0, time.process_time() - c0)
    keep = [(m.participant_a, m.participant_b, m.slot_id) for m in first.meetings]
    tables = {k: m.table for k, m in zip(keep, first.meetings, strict=True)}
    gone = [p.id for p in data.participants[::30]]  # 10 cancellations
    t0, c0 = time.perf_counter(), time.process_time()
    second = schedule_event(data, suggestions=suggestions, scores=scores, keep=keep,
                            previous_tables=tables, without=gone, time_limit_s=args.time_limit)
    runs["reschedule_after_10_cancellations"] = _figures(
        summary(second), time.perf_counter() - t0, time.process_time() - c0
    )
    result = {
        "instance": {
            "participants": args.participants, "slots": args.slots, "tables": args.tables,
            "max_meetings_per_participant": 6, "suggestions": len(suggestions), "seed": SEED,
        },
        "runs": runs,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }  # fmt: skip
    for name, run in runs.items():
        print(
            f"{name}: optimal={run['optimal']} gap={run['gap']} wall={run['wall_s']}s "
            f"cpu={run['cpu_s']}s variables={run['variables']} meetings={run['meetings']} "
            f"mutual={run['requests_met']['mutual']} request={run['requests_met']['request']} "
            f"startups_with_meeting={run['startups_with_meeting']} kept={run['kept']}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
