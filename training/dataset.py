"""Training data for the rankers, built from the store's outcomes and split by time.

Each outcome is one labelled (application, program) pair: `residency_granted` and
`funded_amount` (> 0 means funding granted). The features of a pair are computed exactly as at
serving time (`recommender.scoring.pipeline`): the plan is normalized, embedded with
`Embedder.embed_documents(role="query")` (cached by text hash), scored by BM25 against each
program's lexical text (the candidate index's `lexical_`), and turned into features by a
`FeatureBuilder` fitted on the index's programs and vectors.

Split, by time: the intake rounds with outcomes are grouped into seasons (`intake_seasons`:
rounds open at the same time; in a network every house runs its own round, so one season holds
one round per house, and with a single house a season is one round). The outcomes of the last
`holdout_rounds` seasons are held out for evaluation, the rest train, so no house's later
round trains a model that is judged on another house's earlier one. An outcome's round is its
own `round_id`, else its application's; outcomes with no round at all only ever train.
The program load feature (`recommender.store.history.program_load`) is computed from the
training rounds only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.errors import InvalidInputError
from recommender.ranking.features import FeatureBuilder
from recommender.schemas import Application, Outcome, Program
from recommender.store.history import History, program_load
from recommender.text.normalization import normalize, tokenize

if TYPE_CHECKING:
    from recommender.retrieval.lexical import BM25Index

__all__ = [
    "Dataset",
    "PlanSet",
    "build_dataset",
    "data_fingerprint",
    "embed_plans",
    "intake_seasons",
    "split_rounds",
]

logger = logging.getLogger(__name__)


def intake_seasons(history: History) -> list[list[str]]:
    """The rounds with outcomes, grouped into seasons (rounds open at the same time), oldest
    first; each season's round ids in opening order.

    Rounds are ordered by `opens_on`, then id; a season starts with the earliest round not yet
    placed and takes every later round that opens before that first round closes. An
    outcome's round that is not a stored round sorts by its decision dates (the latest
    `decided_on`) and is a season of its own.
    """
    with_outcomes: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in history.outcomes:
        rid = history.round_of(outcome)
        if rid:
            with_outcomes[rid].append(outcome)
    stored = {r.id: r for r in history.rounds}

    def when(rid: str) -> tuple[str, str]:
        if rid in stored:
            return stored[rid].opens_on.isoformat(), rid
        dates = [o.decided_on.isoformat() for o in with_outcomes[rid] if o.decided_on]
        return (max(dates) if dates else "9999"), rid

    seasons: list[list[str]] = []
    season_closes = None
    for rid in sorted(with_outcomes, key=when):
        intake = stored.get(rid)
        if intake is not None and season_closes is not None and intake.opens_on < season_closes:
            seasons[-1].append(rid)
            continue
        seasons.append([rid])
        season_closes = intake.closes_on if intake is not None else None
    return seasons


def split_rounds(history: History, holdout_rounds: int = 2) -> tuple[list[str], list[str]]:
    """(training round ids, held-out round ids), each in time order.

    The rounds of the last `holdout_rounds` seasons (`intake_seasons`; with a single house, the
    last `holdout_rounds` rounds with outcomes) are held out.

    Raises:
        InvalidInputError: fewer than holdout_rounds + 1 seasons have outcomes.
    """
    if holdout_rounds < 1:
        raise InvalidInputError(f"holdout_rounds must be >= 1, got {holdout_rounds}")
    seasons = intake_seasons(history)
    if len(seasons) <= holdout_rounds:
        raise InvalidInputError(
            f"training needs outcomes from at least {holdout_rounds + 1} intake rounds "
            f"opened at different times ({holdout_rounds} are held out for evaluation); the "
            f"store has outcomes from {len(seasons)}: import more history "
            f"(peyvand outcomes import)"
        )
    train = [rid for season in seasons[:-holdout_rounds] for rid in season]
    test = [rid for season in seasons[-holdout_rounds:] for rid in season]
    return train, test


def data_fingerprint(outcomes: Sequence[Outcome]) -> str:
    """SHA-256 over the sorted outcome ids and labels (changes when any label changes)."""
    rows = sorted(
        (o.application_id, o.program_id, o.round_id or "", bool(o.residency_granted),
         int(o.funded_amount))
        for o in outcomes
    )
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class PlanSet:
    """Embedded and lexically scored plans.

    Attributes:
        application_ids: in row order.
        texts: normalized plans.
        plans: per application, its `DocumentEmbedding`.
        lexical: (n_app, n_prog) raw BM25 of each plan against each program.
    """

    application_ids: list[str]
    texts: list[str]
    plans: list[Any]
    lexical: np.ndarray

    def row(self) -> dict[str, int]:
        """application id -> row."""
        return {a: i for i, a in enumerate(self.application_ids)}


def embed_plans(
    applications: Sequence[Application],
    embedder: Any,
    lexical_index: BM25Index | None,
    n_programs: int,
    *,
    plan_role: str = "query",
    batch_size: int = 64,
) -> PlanSet:
    """Normalize, embed (`embed_documents`, cached) and BM25-score the applications' plans.

    Args:
        applications: the applications.
        embedder: a fitted embedder with `embed_documents(texts, role)`.
        lexical_index: the index's `BM25Index`, in the program order of the features; None:
            no lexical evidence (zeros).
        n_programs: programs in that order.
        plan_role: "query" (as the serving pipeline embeds plans).
        batch_size: plans per `embed_documents` call.

    Returns:
        The `PlanSet`.
    """
    texts = [normalize(a.business_plan) for a in applications]
    plans: list[Any] = []
    for start in range(0, len(texts), batch_size):
        plans.extend(embedder.embed_documents(texts[start : start + batch_size], role=plan_role))
    lexical = np.zeros((len(texts), n_programs), dtype=np.float32)
    if lexical_index is not None:
        for i, text in enumerate(texts):
            scores = lexical_index.scores_for_tokens(tokenize(text))
            lexical[i] = np.asarray(scores, dtype=np.float32).reshape(-1)
    return PlanSet([a.id for a in applications], texts, plans, lexical)


@dataclass
class Dataset:
    """Labelled pairs with their features, split by time.

    Attributes:
        history: what the store held.
        programs: the programs in feature order (the index's order).
        builder: the `FeatureBuilder`, fitted with the training rounds' program load.
        applications: the applications that have outcomes (rows of `plans`).
        plans: their embedded plans.
        outcomes: the outcomes used (programs unknown to the index are dropped).
        pairs: (n, 2) (application row, program index) of each outcome.
        X: (n, n_features) features.
        y_residency, y_funding: (n,) 0/1 labels.
        funded_amount: (n,) rial.
        groups: (n,) application id of each row.
        round_ids: (n,) round of each row ("" when unknown).
        is_test: (n,) True for held-out rows.
        train_rounds, test_rounds: round ids, in time order.
        fingerprint: `data_fingerprint` of all the outcomes used.
        model_id: the embedding model's id.
        popularity: program id -> grant rate (residency or funding) in the training rounds.
    """

    history: History
    programs: list[Program]
    builder: FeatureBuilder
    applications: list[Application]
    plans: PlanSet
    outcomes: list[Outcome]
    pairs: np.ndarray
    X: np.ndarray
    y_residency: np.ndarray
    y_funding: np.ndarray
    funded_amount: np.ndarray
    groups: np.ndarray
    round_ids: np.ndarray
    is_test: np.ndarray
    train_rounds: list[str]
    test_rounds: list[str]
    fingerprint: str
    model_id: str
    popularity: dict[str, float] = field(default_factory=dict)

    @property
    def train(self) -> np.ndarray:
        """Boolean mask of the training rows."""
        return ~self.is_test

    def fit_arguments(self) -> dict[str, Any]:
        """Keyword arguments of `FitRanker.fit` for the training rows."""
        mask = self.train
        return {
            "X": self.X[mask],
            "y_residency": self.y_residency[mask],
            "y_funding": self.y_funding[mask],
            "funded_amount": self.funded_amount[mask],
            "groups": self.groups[mask],
            "feature_names": self.builder.feature_names_,
            "embedding_model_id": self.model_id,
            "data_fingerprint": self.fingerprint,
        }


def build_dataset(
    history: History,
    embedder: Any,
    programs: Sequence[Program],
    program_vectors: np.ndarray,
    lexical_index: BM25Index | None,
    *,
    holdout_rounds: int = 2,
    plan_role: str = "query",
    batch_size: int = 64,
) -> Dataset:
    """Features and labels of every outcome, split by time.

    Args:
        history: `recommender.store.history.load_history(store)`.
        embedder: a fitted embedder (`embed_documents`, `model_id_`).
        programs: the programs in feature order (a candidate index's `programs_`).
        program_vectors: (n_prog, dim) their vectors (the index's `vectors_`).
        lexical_index: their BM25 index (the index's `lexical_`), or None.
        holdout_rounds: the last rounds held out for evaluation.
        plan_role: how plans are embedded (as the serving pipeline does).
        batch_size: plans per embedding call.

    Returns:
        The `Dataset`.

    Raises:
        InvalidInputError: too few rounds with outcomes, or no usable training outcome.
    """
    train_rounds, test_rounds = split_rounds(history, holdout_rounds)
    programs = list(programs)
    position = {p.id: j for j, p in enumerate(programs)}
    apps_by_id = {a.id: a for a in history.applications}
    outcomes = [
        o for o in history.outcomes
        if o.program_id in position and o.application_id in apps_by_id
    ]
    dropped = len(history.outcomes) - len(outcomes)
    if dropped:
        logger.warning("%d outcome(s) name a program outside the index; skipped", dropped)
    test_set = set(test_rounds)
    round_ids = np.array([history.round_of(o) or "" for o in outcomes], dtype=object)
    is_test = np.array([r in test_set for r in round_ids], dtype=bool)
    if (~is_test).sum() == 0:
        raise InvalidInputError("no outcome is left for training")

    app_ids = list(dict.fromkeys(o.application_id for o in outcomes))
    applications = [apps_by_id[a] for a in app_ids]
    load = program_load(history, train_rounds)
    builder = FeatureBuilder().fit(programs, program_vectors, program_load=load)
    plans = embed_plans(
        applications, embedder, lexical_index, len(programs),
        plan_role=plan_role, batch_size=batch_size,
    )
    row = plans.row()
    pairs = np.array(
        [[row[o.application_id], position[o.program_id]] for o in outcomes], dtype=np.int64
    ).reshape(-1, 2)
    X = builder.transform(applications, plans.plans, plans.lexical, pairs=pairs)
    y_res = np.array([o.residency_granted for o in outcomes], dtype=int)
    amount = np.array([o.funded_amount for o in outcomes], dtype=np.float64)
    y_fund = (amount > 0).astype(int)

    granted: dict[str, list[int]] = defaultdict(list)
    for o, test, res, fund in zip(outcomes, is_test, y_res, y_fund, strict=True):
        if not test:
            granted[o.program_id].append(int(res or fund))
    popularity = {pid: float(np.mean(v)) for pid, v in granted.items()}
    return Dataset(
        history=history,
        programs=programs,
        builder=builder,
        applications=applications,
        plans=plans,
        outcomes=outcomes,
        pairs=pairs,
        X=X,
        y_residency=y_res,
        y_funding=y_fund,
        funded_amount=amount,
        groups=np.array([o.application_id for o in outcomes], dtype=object),
        round_ids=round_ids,
        is_test=is_test,
        train_rounds=train_rounds,
        test_rounds=test_rounds,
        fingerprint=data_fingerprint(outcomes),
        model_id=str(embedder.model_id_),
        popularity=popularity,
    )


def round_programs(history: History, round_id: str, known: Mapping[str, int]) -> list[str]:
    """The program ids that took part in a round (its list, else those with outcomes there),
    restricted to `known` (program id -> feature index)."""
    for r in history.rounds:
        if r.id == round_id and r.program_ids:
            return [p for p in r.program_ids if p in known]
    seen = [o.program_id for o in history.outcomes if history.round_of(o) == round_id]
    return [p for p in dict.fromkeys(seen) if p in known]


def season_programs(history: History, round_id: str, known: Mapping[str, int]) -> list[str]:
    """The program ids of every round in `round_id`'s season (`intake_seasons`): what an
    applicant could apply to at the time, in every house of the network (with a single house,
    the round's own programs), restricted to `known`."""
    season = next((s for s in intake_seasons(history) if round_id in s), [round_id])
    ids = [p for rid in season for p in round_programs(history, rid, known)]
    return list(dict.fromkeys(ids))
