"""Per-plan memo of the scoring core's outputs for single requests: a stored application asked
about again reuses its scored pairs and the contributions of its shown items.

A pair's features depend only on the plan, the applicant's facts and the program record, all
fixed for one memo, so its ranker outputs can be kept. The `Recommender` uses a memo only with
a trained ranker that has training means (then contributions do not depend on the candidate
set); the fallback is cheap enough to recompute.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.schemas import Application
from recommender.scoring.core import PreparedPlan, ScoringCore
from recommender.scoring.explain import ApplicantFacts, contributions_from

__all__ = ["memo_contributions", "memo_scores", "pair_memo"]

_EXTRA = ("p_residency", "p_funding", "expected_funding")


def pair_memo(plan: PreparedPlan, subject: Application, facts: ApplicantFacts) -> dict[Any, Any]:
    """The plan's memo for (these applicant facts, this application record); at most 8 per
    plan are kept."""
    key = (repr(facts), repr(subject.model_dump(exclude={"business_plan"})))
    memos = plan.memo.setdefault("pairs", {})
    if key not in memos and len(memos) >= 8:
        memos.clear()
    return memos.setdefault(key, {})


def memo_scores(
    core: ScoringCore, X: np.ndarray, positions: np.ndarray, memo: dict[Any, Any] | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """`core.predict(X)` for the candidate rows (programs at `positions`), from `memo` where
    known."""
    if memo is None:
        return core.predict(X)
    missing = [i for i, p in enumerate(positions) if ("s", int(p)) not in memo]
    if missing:
        fresh, extra = core.predict(X[missing])
        for j, i in enumerate(missing):
            memo[("s", int(positions[i]))] = (
                float(fresh[j]), *(float(np.asarray(extra[k])[j]) for k in _EXTRA)
            )
    rows = np.array([memo[("s", int(p))] for p in positions], dtype=np.float64)
    return rows[:, 0], {k: rows[:, 1 + t] for t, k in enumerate(_EXTRA)}


def memo_contributions(
    core: ScoringCore,
    shown: np.ndarray,
    positions: np.ndarray,
    scores: np.ndarray,
    baseline: np.ndarray,
    memo: dict[Any, Any] | None,
) -> np.ndarray:
    """(len(shown), n_features) contributions of the shown rows (programs at `positions`,
    with their `scores`), from `memo` where known.

    One model call over the rows that are not memoized: a boosted model's cost grows with its
    rows (about 60 ns per row and tree, on top of ~18 us per tree and call), so only the shown
    items are explained.
    """
    out = np.zeros((len(shown), shown.shape[1]))
    todo = [j for j, p in enumerate(positions) if memo is None or ("c", int(p)) not in memo]
    if todo:
        rows = shown[todo]
        replaced, _ = core.predict_replaced(rows, baseline)
        out[todo] = contributions_from(scores[todo], replaced, rows, baseline)
    for j, p in enumerate(positions):
        key = ("c", int(p))
        if memo is not None:
            if key in memo:
                out[j] = memo[key]
            else:
                memo[key] = out[j].copy()
    return out
