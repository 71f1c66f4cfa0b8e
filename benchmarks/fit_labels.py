"""What the fit score's words mean on hand-written plans: for each level of
`recommender.scoring.fit_level` («تناسب بسیار خوب / خوب / متوسط / کم»), how relevant the
programs it labels really are.

Data: the hand-written set of `benchmarks/realistic/` (62 plans, 32 programs graded 0-3 per
plan, not the sample catalogue). Every plan is ranked as free text over all 32 programs in a
cold home (the "text" scale of `fit_level`, `ranking.compose_scores`), and each
(plan, program) pair is put in the level its shown score gets. For each level: how many
pairs, the mean grade, and the share of pairs graded 2 or 3 (a program staff would suggest)
and graded 0 (unrelated). A level is honest when "very good" pairs are mostly 2-3 and "low"
ones mostly 0.

The text thresholds were first set from the score's formula (0.75/0.55/0.35: 80% of the
pairs called «خوب» were unrelated); the present ones (0.9/0.8/0.65) were chosen on this set
with this script — the set is small (62 plans) and also serves the matching benchmark, so
expect lower precision on plans written by others. `--thresholds A,B,C` tries others.

Usage:
    .venv/bin/python benchmarks/fit_labels.py [--thresholds 0.75,0.55,0.35]
        [--out benchmarks/results/fit_labels.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.realistic_matching import load_set, make_homes  # noqa: E402
from recommender.scoring.fit_level import FIT_LEVELS, FIT_THRESHOLDS  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "fit_labels.json"


def level_of(score: float, thresholds: tuple[float, float, float]) -> str:
    for level, lowest in zip(FIT_LEVELS, thresholds, strict=False):
        if score >= lowest:
            return level
    return FIT_LEVELS[-1]


def table(pairs: list[tuple[float, int]], thresholds: tuple[float, float, float]) -> dict:
    out: dict[str, dict[str, float | int]] = {}
    for level in FIT_LEVELS:
        grades = np.array([g for s, g in pairs if level_of(s, thresholds) == level], float)
        out[level] = {
            "pairs": int(grades.size),
            "mean_grade": round(float(grades.mean()), 2) if grades.size else 0.0,
            "share_grade_2_3": round(float((grades >= 2).mean()), 3) if grades.size else 0.0,
            "share_grade_0": round(float((grades == 0).mean()), 3) if grades.size else 0.0,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default=",".join(map(str, FIT_THRESHOLDS["text"])))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    thresholds = tuple(float(x) for x in args.thresholds.split(","))
    if len(thresholds) != 3:
        parser.error("--thresholds takes three numbers, best level first")

    from api.services import load_embedder, load_recommender
    from api.settings import Settings

    programs, plans = load_set()
    with tempfile.TemporaryDirectory() as tmp:
        embedder = load_embedder(Settings(home=Path(tmp) / "model"))
        homes = make_homes(None, Path(tmp), programs, embedder)
        recommender = load_recommender(Settings(home=homes["product_cold"]), embedder=embedder)
        pairs: list[tuple[float, int]] = []
        for plan in plans:
            result = recommender.recommend(text=plan["text"], top=len(programs))
            for item in result.items:
                pairs.append((float(item.score), int(plan["relevance"].get(item.program_id, 0))))
    result = {
        "thresholds": list(thresholds),
        "plans": len(plans),
        "programs": len(programs),
        "levels": table(pairs, thresholds),
        "shown_pairs": len(pairs),
        "pairs": [[round(s, 4), g] for s, g in pairs],
    }
    print(f"thresholds {thresholds} over {len(plans)} plans x {len(programs)} programs "
          f"({len(pairs)} pairs shown)")
    print(f"{'level':<10} {'pairs':>6} {'mean grade':>11} {'graded 2-3':>11} {'graded 0':>9}")
    for level, row in result["levels"].items():
        print(f"{level:<10} {row['pairs']:>6} {row['mean_grade']:>11.2f} "
              f"{row['share_grade_2_3']:>11.1%} {row['share_grade_0']:>9.1%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
