"""The fit score in words: «تناسب بسیار خوب / خوب / متوسط / کم», next to the number.

The shown score means one of two things (see `pipeline.Recommender`), and each has its own
thresholds, defined here once (`FIT_THRESHOLDS`):

- "probability": a stored application ranked by a trained ranker. The score is the ranker's
  combined calibrated probability (by default the mean of P(residency) and P(funding),
  `ranking.ScoreWeights`). «بسیار خوب» from 0.5 (a decision in the applicant's favour is as
  likely as not), «خوب» from 0.3 (about the share of pairs that end in residency or funding
  in the history the rankers learn from: 31% residency, 29% funded, data/README.md),
  «متوسط» from 0.15 (half that), «کم» below.
- "text": free text (`ranking.compose_scores`: text fit relative to the plan's best
  program, about 1 for it, scaled down by stated facts that do not suit, plus 0.15 x the
  prior). Measured on the 62 hand-written plans x 32 programs of `benchmarks/realistic/`
  (`python benchmarks/fit_labels.py`, README): «بسیار خوب» from 0.9 (76% of those pairs are
  graded 2-3 by hand, 19% unrelated), «خوب» from 0.8 (35% graded 2-3, 61% unrelated),
  «متوسط» from 0.65, «کم» below (97% unrelated). The first cut-offs, 0.75/0.55/0.35 set from
  the formula, called 80% unrelated pairs «خوب».
- "rule": a stored application before any ranker is trained (`ranking.unsupervised_score`, a
  weighted mean of rule terms in [0, 1]): «بسیار خوب» from 0.75 (three quarters of the rule
  terms match), «خوب» from 0.55, «متوسط» from 0.35, «کم» below — from the formula, not
  measured (no graded set of stored applications without history exists yet).
"""

from __future__ import annotations

__all__ = ["FIT_LABELS_FA", "FIT_LEVELS", "FIT_THRESHOLDS", "fit_level"]

#: Levels, best first.
FIT_LEVELS: tuple[str, ...] = ("very_good", "good", "fair", "low")

#: Lowest score of each level but the last, per kind of score (see the module docstring).
FIT_THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "probability": (0.5, 0.3, 0.15),
    "text": (0.9, 0.8, 0.65),
    "rule": (0.75, 0.55, 0.35),
}

FIT_LABELS_FA: dict[str, str] = {
    "very_good": "تناسب بسیار خوب",
    "good": "تناسب خوب",
    "fair": "تناسب متوسط",
    "low": "تناسب کم",
}


def fit_level(score: float, scale: str) -> str:
    """The level of a fit score.

    Args:
        score: the shown fit score.
        scale: "probability" (a trained ranker's score of a stored application), "text"
            (free text) or "rule" (the unsupervised score of a stored application).

    Returns:
        One of `FIT_LEVELS` (its Persian words: `FIT_LABELS_FA`).

    Raises:
        KeyError: for an unknown scale.
    """
    for level, lowest in zip(FIT_LEVELS, FIT_THRESHOLDS[scale], strict=False):
        if score >= lowest:
            return level
    return FIT_LEVELS[-1]
