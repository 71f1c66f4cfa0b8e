"""Rule-based scores over the pair features: the fallback before any ranker is trained and
the composition of the shown fit score.

- `unsupervised_score(X)`: a weighted sum of rule features (`UNSUPERVISED_WEIGHTS`), the fit
  score used when no model is trained;
- `text_fit(X)`: how close a program's text is to the plan's, relative to the plan;
- `compose_scores(X, ...)`: the shown fit score — text fit first, scaled by the facts the plan
  states, plus a small prior (the trained ranker's score or the unsupervised one)
  (`COMPOSE_WEIGHTS`).

May import: recommender.ranking.features, recommender.errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from recommender.errors import InvalidInputError
from recommender.ranking.features import FEATURE_NAMES

__all__ = [
    "COMPOSE_WEIGHTS",
    "UNSUPERVISED_WEIGHTS",
    "compose_scores",
    "text_fit",
    "unsupervised_score",
]


# --------------------------------------------------------------------------- fallback

#: Weights of `unsupervised_score` (each term is in [0, 1]; the sum is normalized away).
#: Chosen on the training rounds of the default synthetic history with multilingual-e5-small
#: (nDCG@10 there 0.62 with equal-ish hand weights -> 0.68); held-out rounds 0.60 -> 0.69.
UNSUPERVISED_WEIGHTS: dict[str, float] = {
    "semantic": 0.20,
    "lexical": 0.30,
    "sector": 0.30,
    "stage": 0.10,
    "place": 0.05,
    "money": 0.20,
    "residency": 0.15,
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def unsupervised_score(
    X: np.ndarray,
    feature_names: Sequence[str] = FEATURE_NAMES,
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The fit score used when no model is trained: a weighted sum of rule features.

    Terms (each in [0, 1]) and default weights (`UNSUPERVISED_WEIGHTS`):

    - semantic 0.20: mean of sigmoid(sem_pooled_z) and the top-3 chunk cosine mapped from
      [-1, 1] to [0, 1] — how much closer this program is than the catalogue's average;
    - lexical 0.30: lex_bm25_norm;
    - sector 0.30: sector_jaccard;
    - stage 0.10: 1 - stage_distance;
    - place 0.05: place_ok;
    - money 0.20: 1 - funding_log_distance / 3 (1 inside the range, 0 at 1000x off);
    - residency 0.15: 1 - residency_unmet.

    The sum is divided by the weights' total and multiplied by 0.2 for ineligible pairs
    (`eligible` = 0), so they sink without vanishing.

    Args:
        X: (n_pairs, n_features) features.
        feature_names: the columns of X (default FEATURE_NAMES).
        weights: overrides of UNSUPERVISED_WEIGHTS.

    Returns:
        Array (n_pairs,) float64 in [0, 1].
    """
    X = np.asarray(X, dtype=np.float64)
    names = list(feature_names)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise InvalidInputError(f"X must have shape (n, {len(names)}), got {X.shape}")
    col = {n: X[:, i] for i, n in enumerate(names)}
    missing = {
        "sem_pooled_z", "sem_top3_mean", "lex_bm25_norm", "sector_jaccard", "stage_distance",
        "place_ok", "funding_log_distance", "residency_unmet", "eligible",
    } - set(col)
    if missing:
        raise InvalidInputError(f"unsupervised_score needs the features {sorted(missing)}")
    w = {**UNSUPERVISED_WEIGHTS, **(weights or {})}
    terms = {
        "semantic": 0.5 * _sigmoid(col["sem_pooled_z"]) + 0.25 * (col["sem_top3_mean"] + 1.0),
        "lexical": np.clip(col["lex_bm25_norm"], 0, 1),
        "sector": np.clip(col["sector_jaccard"], 0, 1),
        "stage": 1.0 - np.clip(col["stage_distance"], 0, 1),
        "place": col["place_ok"],
        "money": 1.0 - np.clip(col["funding_log_distance"] / 3.0, 0, 1),
        "residency": 1.0 - col["residency_unmet"],
    }
    total = sum(w[k] for k in terms)
    if total <= 0:
        raise InvalidInputError("unsupervised weights must have a positive sum")
    score = sum(w[k] * terms[k] for k in terms) / total
    return np.clip(np.where(col["eligible"] > 0, score, 0.2 * score), 0.0, 1.0)


# --------------------------------------------------------------------------- composition

#: How the shown fit score is composed (`compose_scores`): what the plan is about first,
#: the facts it states second, program priors (the ranker's or the unsupervised score) last.
COMPOSE_WEIGHTS: dict[str, float] = {"semantic": 0.5, "lexical": 0.5, "facts": 0.6,
                                     "prior": 0.15}


def text_fit(
    X: np.ndarray,
    feature_names: Sequence[str] = FEATURE_NAMES,
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """How close a program's text is to the plan's, in [0, 1], per pair.

    The mean (by `COMPOSE_WEIGHTS` semantic / lexical) of sigmoid(sem_pooled_z) — how much
    closer this program's vector is than the catalogue's average — and lex_bm25_norm — BM25
    relative to the plan's best program. Both are relative to the plan, so a program that is
    close to every plan (a hub) gains nothing from it.
    """
    X = np.asarray(X, dtype=np.float64)
    names = list(feature_names)
    w = {**COMPOSE_WEIGHTS, **(weights or {})}
    sem = _sigmoid(1.5 * X[:, names.index("sem_pooled_z")])
    lex = np.clip(X[:, names.index("lex_bm25_norm")], 0.0, 1.0)
    return (w["semantic"] * sem + w["lexical"] * lex) / (w["semantic"] + w["lexical"])


def compose_scores(
    X: np.ndarray,
    feature_names: Sequence[str],
    prior: np.ndarray,
    fact_terms: Mapping[str, tuple[np.ndarray, float]] | None = None,
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The shown fit score: text fit, scaled by the plan's stated facts, plus a small prior.

        score = text_fit x prod_f (1 - w_facts x confidence_f x (1 - fit_f)) + w_prior x prior

    `prior` (the trained ranker's score or `unsupervised_score`, in [0, 1]) carries what
    history says about a program (seats, funding, acceptance); with `w_prior` = 0.15 it can
    only reorder programs whose text fit is close, so no program climbs over plans it is not
    about. A fact the plan states (its stage, its place when it needs a desk, grant vs equity,
    a sector it says it is not in) lowers a program that does not suit it, by at most
    `w_facts` x the fact's confidence.

    Args:
        X: (n, n_features) pair features.
        feature_names: X's columns.
        prior: (n,) the prior score of each pair.
        fact_terms: fact name -> ((n,) fit in [0, 1], confidence in [0, 1]).
        weights: overrides of COMPOSE_WEIGHTS.

    Returns:
        (n,) float64 scores.
    """
    w = {**COMPOSE_WEIGHTS, **(weights or {})}
    text = text_fit(X, feature_names, w)
    factor = np.ones(len(text))
    for fit, confidence in (fact_terms or {}).values():
        factor *= 1.0 - w["facts"] * float(np.clip(confidence, 0, 1)) * (
            1.0 - np.clip(np.asarray(fit, dtype=np.float64), 0, 1)
        )
    prior = np.clip(np.nan_to_num(np.asarray(prior, dtype=np.float64)), 0.0, 1.0)
    return text * factor + w["prior"] * prior
