"""The `Recommender` facade: the one place where the stages run, in order.

    normalize -> embed (the plan as a chunked `DocumentEmbedding`) -> retrieve candidates
    (`CandidateRetriever`, with filters) -> hard eligibility -> features and rank
    (`core.ScoringCore`: a trained `FitRanker`, else `ranking.unsupervised_score`, with a
    note saying so) -> explain (`explain.Explainer`) -> items

The features and scores come from `core.ScoringCore`, the same core that scores a whole
round (`rounds.scoring.score_round`), so a stored application's pair gets the same score here
and in its round.

All components come in fitted, as plain objects; building them from a home folder and its
settings is `api.services.load_recommender`.

Per-request work is kept small. A plan is prepared once (normalized text, embedding, BM25
scores against every program) and kept in an in-process LRU keyed by the sha256 of the raw
text, so a stored application asked about again skips hazm and the embedding model
entirely; the embedder's own vector cache (keyed by model and normalized text) makes a
restarted process re-embed nothing. The retriever's BM25 index is wrapped so that `search`
reuses those scores instead of tokenizing the plan again. With a trained ranker, its outputs
(and the shown items' contributions) are memoized per plan for the same applicant facts, so
a repeated request re-scores nothing. Building a Recommender caps the process's BLAS
threads (`blas_threads`): the per-request products are small.

Free text (no stored application): the facts the plan states about itself are read
(`facts.read_facts`: stage, place, residency, ask, grant vs equity, knowledge-based, team,
sectors, each with a confidence; a person's corrections win) and stand in for an
application's facts; the filters, when given, come first. Facts read with less than
`free_text.FACT_MIN_CONFIDENCE`, and facts the plan does not state, get the benefit of the doubt:
stage accepted, place reachable, knowledge-based requirement met. Hard eligibility applies to
stored applications only; for free text the filters are the only hard conditions.

The shown score of free text is `ranking.compose_scores`: text fit first (dense and BM25,
both relative to the plan), scaled down where a stated fact does not suit the program, plus
a small share of the prior (the trained ranker's score, or the unsupervised score), so that
priors learnt from program-level history only break near-ties and no program becomes the
top answer for plans it is not about. A stored application keeps the ranker's score: its
outcomes are what the ranker was trained on and evaluated against (`peyvand evaluate`).
The items' `factors` explain the prior's part (the ranker's or the fallback's score).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from recommender.constants import DEFAULT_CANDIDATES, DEFAULT_TOP_K, MAX_PLAN_CHARS
from recommender.eligibility import eligibility, offers_residency
from recommender.errors import EmptyTextError, InvalidInputError, ModelMismatchError, bilingual
from recommender.ranking.compose import compose_scores
from recommender.ranking.features import FeatureBuilder
from recommender.retrieval.filters import ProgramFilter
from recommender.retrieval.hybrid import Candidate, CandidateRetriever
from recommender.schemas import Application, Program
from recommender.scoring.core import (
    PlanEmbedder,
    PreparedPlan,
    RankingModel,
    ScoringCore,
    cap_blas,
    embed_plans,
    has_words,
    lexical_row,
)
from recommender.scoring.explain import (
    ApplicantFacts,
    Explainer,
    reason_groups,
)
from recommender.scoring.fit_level import FIT_LABELS_FA, fit_level
from recommender.scoring.free_text import applicant_subject, assume_unknown_facts, fact_terms
from recommender.scoring.index import LexicalMemo, current_records
from recommender.scoring.memo import memo_contributions, memo_scores, pair_memo
from recommender.scoring.results import ExcludedProgram, Recommendation, RecommendationList
from recommender.text.facts import PlanFacts, read_facts
from recommender.text.normalization import normalize
from recommender.text.sector_model import SectorModel

__all__ = [
    "ExcludedProgram",
    "Recommendation",
    "RecommendationList",
    "Recommender",
]

logger = logging.getLogger(__name__)

NOTE_UNSUPERVISED = bilingual(
    "no trained model yet: unsupervised score (run `peyvand train`)",
    "هنوز مدل آموزش‌دیده‌ای نیست: امتیاز بی‌آموزش (peyvand train را اجرا کنید)",
)


def _raw_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _optional(values: Any, i: int) -> float | None:
    if values is None:
        return None
    value = float(np.asarray(values)[i])
    return value if np.isfinite(value) else None


# --------------------------------------------------------------------------- facade


class Recommender:
    """Ranks the indexed programs for one business plan, with reasons.

    Args:
        embedder: a fitted `embedding.Embedder` (its `model_id_` must be the index's).
        retriever: a fitted `CandidateRetriever`.
        feature_builder: a `FeatureBuilder` fitted on the retriever's programs, in the
            retriever's order.
        ranker: a fitted `ranking.FitRanker`, or None for the unsupervised fallback.
        programs: the current catalogue records; they replace the index's copies of the same
            ids in the output and the eligibility rules (seats, funding may have changed).
        explainer: builds the reasons (default: no sector labels).
        ranker_version: the ranker's registry version, reported in the output.
        fallback: the unsupervised scorer, (n, n_features) -> (n,); default
            `ranking.unsupervised_score`.
        candidates: how many candidates to retrieve before ranking (at least `top`).
        top: default number of recommendations.
        plan_role: how plans are embedded ("query": e5's asymmetric query side).
        cache_size: prepared plans kept in memory.
        notes: standing remarks added to every answer (e.g. "the index is older than the
            catalogue").
        blas_threads: cap the process's BLAS threads at this (None: leave them). The
            per-request products are small; several BLAS threads per request only contend
            with each other and with concurrent requests (measured: a (5, 384) x (384, 2000)
            product takes 0.8 ms single-threaded vs 8.7 ms with 2 threads on a busy 2-core
            host). The cap is process-wide and stays (see `core.cap_blas`).
        sector_terms: Persian terms per sector slug for the fact reader (default: the
            explainer's sector keywords).
        sector_model: the learned sector reader the fact reader combines with its keyword
            rules (`text.sector_model`; None: the rules alone).
    """

    def __init__(
        self,
        embedder: PlanEmbedder,
        retriever: CandidateRetriever,
        feature_builder: FeatureBuilder,
        ranker: RankingModel | None = None,
        *,
        programs: Sequence[Program] | None = None,
        explainer: Explainer | None = None,
        ranker_version: str | None = None,
        fallback: Callable[[np.ndarray], np.ndarray] | None = None,
        candidates: int = DEFAULT_CANDIDATES,
        top: int = DEFAULT_TOP_K,
        plan_role: str = "query",
        cache_size: int = 256,
        notes: Sequence[str] = (),
        blas_threads: int | None = 1,
        sector_terms: Mapping[str, Sequence[str]] | None = None,
        sector_model: SectorModel | None = None,
    ) -> None:
        if candidates < 1 or top < 1:
            raise InvalidInputError("candidates and top must be >= 1")
        model_id = getattr(embedder, "model_id_", None)
        if model_id != retriever.model_id_:
            raise ModelMismatchError(
                f"the candidate index was built with embedding model '{retriever.model_id_}' "
                f"but '{model_id}' is in use; rebuild it (peyvand index build)"
            )
        builder_ids = list(getattr(feature_builder, "program_ids_", []))
        if builder_ids != list(retriever.program_ids_):
            raise InvalidInputError(
                "the feature builder was fitted on other programs than the index holds"
            )
        self.core = ScoringCore(feature_builder, ranker, fallback)
        self.feature_names = self.core.feature_names
        ranker_names = getattr(ranker, "feature_names_", None) if ranker is not None else None
        if ranker_names is not None and list(ranker_names) != self.feature_names:
            raise ModelMismatchError(
                "the trained ranker uses another feature list than this version of Peyvand; "
                "retrain it (peyvand train)"
            )
        self.embedder = embedder
        self.retriever = retriever
        self.feature_builder = feature_builder
        self.ranker = ranker
        self.ranker_version = ranker_version
        self.explainer = explainer or Explainer()
        self.sector_model = sector_model
        self.sector_terms = dict(
            sector_terms if sector_terms is not None else self.explainer.sector_keywords
        )
        self.candidates = candidates
        self.top = top
        self.plan_role = plan_role
        self.cache_size = cache_size
        self.notes = list(notes)
        self.blas_threads = blas_threads
        if blas_threads is not None:
            cap_blas(blas_threads)
        self._position = {pid: i for i, pid in enumerate(retriever.program_ids_)}
        self._programs = current_records(retriever.programs_, programs or ())
        self._columns = {name: j for j, name in enumerate(self.feature_names)}
        self._groups = reason_groups(self.feature_names)
        means = getattr(ranker, "feature_means_", None) if ranker is not None else None
        self._baseline = (
            np.asarray(means, dtype=np.float32)
            if means is not None and len(means) == len(self.feature_names)
            else None
        )
        # Per-plan memo of the ranker's outputs: only with a trained ranker that has
        # training means (then contributions do not depend on the candidate set).
        self._memoize = ranker is not None and self._baseline is not None
        current_lexical: Any = retriever.lexical_
        if not isinstance(current_lexical, LexicalMemo):
            current_lexical = LexicalMemo(current_lexical)
            retriever.lexical_ = current_lexical
        self._lexical: LexicalMemo = current_lexical
        # Filters read the current records (a program moved to another house, deactivated
        # or given new seats since indexing is filtered as it is now); vectors are shared.
        self.retriever = retriever.with_records(self._programs)
        self._plans: OrderedDict[str, PreparedPlan] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ properties

    @property
    def programs(self) -> list[Program]:
        """The indexed programs (current records), in index order."""
        return list(self._programs)

    @property
    def embedding_model(self) -> str:
        """The embedding model id in use."""
        return str(self.embedder.model_id_)

    # ------------------------------------------------------------------ plans

    def prepare(self, text: str) -> PreparedPlan:
        """Normalize, embed and lexically score a plan (cached by the raw text's hash).

        Args:
            text: the raw plan text.

        Returns:
            The prepared plan.

        Raises:
            EmptyTextError: when the text has no letter or digit.
            InvalidInputError: when it is longer than MAX_PLAN_CHARS.
        """
        if len(text) > MAX_PLAN_CHARS:
            raise InvalidInputError(
                f"the text is {len(text):,} characters long; the limit is {MAX_PLAN_CHARS:,}"
            )
        key = _raw_key(text)
        with self._lock:
            cached = self._plans.get(key)
            if cached is not None:
                self._plans.move_to_end(key)
        if cached is not None:
            self._lexical.remember(cached.text, cached.lexical)
            return cached
        if not has_words(text):
            raise EmptyTextError("the text is empty: it has no word to match")
        normalized = normalize(text)
        if not has_words(normalized):
            raise EmptyTextError("the text is empty: it has no word to match")
        dim = int(self.feature_builder.dim_)
        plan = PreparedPlan(
            text=normalized,
            embedding=embed_plans(self.embedder, [normalized], self.plan_role, dim)[0],
            lexical=lexical_row(self._lexical.inner, normalized),
        )
        with self._lock:
            self._plans[key] = plan
            while len(self._plans) > self.cache_size:
                self._plans.popitem(last=False)
        self._lexical.remember(plan.text, plan.lexical)
        return plan

    def warm(self, applications: Sequence[Application]) -> int:
        """Prepare the plans of stored applications ahead of requests.

        Returns:
            How many were prepared (plans without words are skipped).
        """
        done = 0
        for application in applications:
            try:
                self.prepare(application.business_plan)
                done += 1
            except EmptyTextError:
                continue
        return done

    # ------------------------------------------------------------------ recommend

    def recommend(
        self,
        text: str | None = None,
        application: Application | None = None,
        filters: ProgramFilter | None = None,
        top: int | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> RecommendationList:
        """The best programs for one plan, best first, with reasons.

        Args:
            text: a business plan as free text; or
            application: a stored application (exactly one of the two).
            filters: conditions on the programs (default: active programs).
            top: how many recommendations (default: the constructor's `top`).
            facts: for free text, a person's corrections of the facts read from the plan
                (fact name -> value, see `facts.PlanFacts.corrected`); they are used with
                confidence 1.

        Returns:
            The recommendations; an empty list with `empty_reason` when no program passes.

        Raises:
            InvalidInputError: when neither or both of text/application are given, or `top`
                is below 1.
            EmptyTextError: when the plan has no word.
        """
        if (text is None) == (application is None):
            raise InvalidInputError("give exactly one of text or application")
        top = self.top if top is None else int(top)
        if top < 1:
            raise InvalidInputError(f"top must be >= 1, got {top}")
        raw = text if text is not None else application.business_plan  # type: ignore[union-attr]
        plan = self.prepare(raw)
        read = self.read_facts(plan).corrected(facts) if application is None else None
        return self._recommend_prepared(plan, application, filters, top, read)

    def read_facts(self, plan: PreparedPlan | str) -> PlanFacts:
        """The facts a plan states about itself (memoized per prepared plan)."""
        if isinstance(plan, str):
            plan = self.prepare(plan)
        found = plan.memo.get("facts")
        if found is None:
            found = plan.memo["facts"] = read_facts(plan.text, self.sector_terms,
                                                     self.sector_model)
        return found

    def _recommend_prepared(
        self,
        plan: PreparedPlan,
        application: Application | None,
        filters: ProgramFilter | None,
        top: int,
        plan_facts: PlanFacts | None = None,
    ) -> RecommendationList:
        plan_facts = plan_facts if application is None else None
        if application is None and plan_facts is None:
            plan_facts = self.read_facts(plan)
        facts, subject = applicant_subject(plan.text, application, filters, plan_facts)

        result = RecommendationList(
            items=[],
            ranker="model" if self.ranker is not None else "unsupervised",
            model_version=self.ranker_version if self.ranker is not None else None,
            embedding_model=self.embedding_model,
            facts=plan_facts.to_dict() if plan_facts is not None else None,
        )
        if self.ranker is None:
            result.notes.append(NOTE_UNSUPERVISED)
        result.notes.extend(self.notes)

        candidates, excluded = self._retrieve(plan, application, filters, top)
        result.excluded = excluded
        if not candidates:
            result.empty_reason = self._why_empty(filters, excluded)
            return result

        positions = np.array([self._position[c.program_id] for c in candidates], dtype=np.int64)
        X = self.core.features([subject], [plan], positions)
        if application is None:
            assume_unknown_facts(X, self._columns, facts, filters, plan_facts)

        memo = pair_memo(plan, subject, facts) if self._memoize else None
        priors, extra = memo_scores(self.core, X, positions, memo)
        scores = priors
        if application is None:  # free text: what the plan is about first (see module doc)
            programs = [self._programs[int(p)] for p in positions]
            scores = compose_scores(
                X, self.feature_names, priors, fact_terms(facts, plan_facts, programs)
            )
        fused = np.array([c.fused_score for c in candidates])
        order = np.lexsort((-fused, -scores))[:top]
        baseline = self._baseline if self._baseline is not None else X.mean(axis=0)
        contrib = memo_contributions(
            self.core, X[order], positions[order], priors[order], baseline, memo
        )
        open_seats = dict(filters.open_seats) if filters and filters.open_seats else {}
        # The score's meaning (fit_level): a trained ranker's probability for a stored
        # application, the unsupervised rule score without one, text fit for free text.
        if application is None:
            scale = "text"
        else:
            scale = "probability" if self.ranker is not None else "rule"
        for rank, (row, i) in enumerate(zip(contrib, order, strict=True), start=1):
            result.items.append(
                self._item(
                    rank, candidates[i], positions[i], plan, facts,
                    float(scores[i]), {k: _optional(v, i) for k, v in extra.items()},
                    row, open_seats, scale,
                )
            )
        return result

    # ------------------------------------------------------------------ stages

    def _retrieve(
        self,
        plan: PreparedPlan,
        application: Application | None,
        filters: ProgramFilter | None,
        top: int,
    ) -> tuple[list[Candidate], list[ExcludedProgram]]:
        """Candidates that pass the filters and (for applications) eligibility.

        Widens the search (x4) while eligibility leaves fewer than `top` of a full list.
        """
        k = max(self.candidates, top)
        while True:
            found = retrieved = self.retriever.search(
                plan.embedding.pooled, plan.text, k=k, filters=filters
            )
            if application is None:
                if len(found) >= top or len(retrieved) < k:
                    return found, []
                k *= 4
                continue
            kept: list[Candidate] = []
            excluded: list[ExcludedProgram] = []
            for candidate in found:
                program = self._programs[self._position[candidate.program_id]]
                reason = eligibility(application, program)
                if reason is None:
                    kept.append(candidate)
                else:
                    excluded.append(ExcludedProgram(program.id, program.name, reason))
            if len(kept) >= top or len(retrieved) < k:
                return kept, excluded
            k *= 4

    def _why_empty(
        self, filters: ProgramFilter | None, excluded: Sequence[ExcludedProgram]
    ) -> str:
        if excluded:
            return (
                "هیچ برنامه‌ای باقی نماند: برنامه‌های نزدیک به این طرح به دلیل شرایط پذیرش "
                "کنار گذاشته شدند (دلیل هر کدام در فهرست برنامه‌های کنارگذاشته آمده است)."
            )
        if filters is not None and filters.has_conditions():
            return filters.explain_no_match(self._programs)
        return "هیچ برنامهٔ فعالی در نمایه نیست."

    def _item(
        self,
        rank: int,
        candidate: Candidate,
        position: int,
        plan: PreparedPlan,
        facts: ApplicantFacts,
        score: float,
        extra: Mapping[str, float | None],
        contribution: np.ndarray,
        open_seats: Mapping[str, int],
        scale: str,
    ) -> Recommendation:
        program = self._programs[position]
        reading = plan.memo.get("reading")
        if reading is None:
            reading = plan.memo["reading"] = self.explainer.read(plan.text)
        why = self.explainer.explain_item(
            plan.text, plan.embedding, reading, program, self.retriever.vectors_[position],
            facts, contribution=contribution, groups=self._groups,
            feature_names=self.feature_names,
            open_seats=open_seats.get(program.id, program.residency_seats),
        )
        offers = offers_residency(program)
        level = fit_level(score, scale)
        return Recommendation(
            program_id=program.id,
            name=program.name,
            kind=program.kind,
            province=program.province,
            rank=rank,
            score=round(score, 6),
            p_residency=extra.get("p_residency") if offers else None,
            p_funding=extra.get("p_funding"),
            expected_funding=extra.get("expected_funding"),
            reasons=why.reasons,
            factors=why.factors,
            dense_score=round(candidate.dense_score, 6),
            lexical_score=round(candidate.lexical_score, 6),
            evidence_span=why.span,
            org_id=program.org_id,
            offers_residency=offers,
            drawback=why.drawback,
            drawback_kind=why.drawback_kind,
            fit_level=level,
            fit_label=FIT_LABELS_FA[level],
        )
