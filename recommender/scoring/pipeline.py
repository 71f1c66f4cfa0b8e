"""The `Recommender` facade: the one place where the stages run, in order.

    normalize -> embed (the plan as a chunked `DocumentEmbedding`) -> retrieve candidates
    (`CandidateRetriever`, with filters) -> hard eligibility -> features (`FeatureBuilder`)
    -> rank (a trained `FitRanker`, else `ranking.unsupervised_score`, with a note saying
    so) -> explain (`explain.Explainer`) -> items

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
`FACT_MIN_CONFIDENCE`, and facts the plan does not state, get the benefit of the doubt:
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
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from recommender.constants import DEFAULT_CANDIDATES, DEFAULT_TOP_K, MAX_PLAN_CHARS
from recommender.eligibility import eligibility
from recommender.errors import EmptyTextError, InvalidInputError, ModelMismatchError
from recommender.ranking.compose import compose_scores
from recommender.ranking.features import FEATURE_NAMES, FeatureBuilder
from recommender.retrieval.filters import ProgramFilter
from recommender.retrieval.hybrid import Candidate, CandidateRetriever
from recommender.schemas import Application, Program
from recommender.scoring.explain import (
    ApplicantFacts,
    Explainer,
    contributions_from,
    reason_groups,
    replacement_rows,
)
from recommender.text.facts import PlanFacts, read_facts
from recommender.text.normalization import normalize, tokenize

__all__ = [
    "ExcludedProgram",
    "build_retriever",
    "program_passage_text",
    "PreparedPlan",
    "Recommendation",
    "RecommendationList",
    "Recommender",
]

logger = logging.getLogger(__name__)

_EXTRA = ("p_residency", "p_funding", "expected_funding")
#: Facts read from a free-text plan with less confidence than this are treated as unknown.
FACT_MIN_CONFIDENCE = 0.5
NOTE_UNSUPERVISED = "no trained model yet: unsupervised score (run `peyvand train`)"


class PlanEmbedding(Protocol):
    """What the pipeline needs of an `embedding.DocumentEmbedding`."""

    chunks: np.ndarray
    pooled: np.ndarray
    chunk_spans: list[tuple[int, int]]


class PlanEmbedder(Protocol):
    """What the pipeline needs of an `embedding.Embedder` (fitted)."""

    model_id_: str

    def embed_documents(self, texts: Sequence[str], role: str = ...) -> list[Any]: ...


class RankingModel(Protocol):
    """What the pipeline needs of a fitted `ranking.FitRanker`."""

    def predict(self, X: np.ndarray) -> Any: ...


# --------------------------------------------------------------------------- results


@dataclass
class Recommendation:
    """One recommended program.

    Attributes:
        program_id: the program's id.
        name: its name.
        kind: its kind (constants.PROGRAM_KINDS).
        province: its province.
        rank: 1-based position, best first.
        score: the fit score: for a stored application the ranker's (or the unsupervised
            fallback's); for free text `ranking.compose_scores` (text fit first, then the
            plan's facts, then that prior).
        p_residency: P(residency granted); None without a trained model.
        p_funding: P(funded); None without a trained model.
        expected_funding: expected funded amount in rial; None without a trained model.
        reasons: up to three Persian sentences (they quote the plan: never log them).
        factors: feature name -> contribution to the ranker's (or fallback's) score,
            largest magnitude first (see `explain.contributions` for the estimate); for free
            text that score is the prior part of `score`.
        dense_score: cosine of plan and program vectors.
        lexical_score: raw BM25 of the plan against the program's text.
        evidence_span: (start, end) of the quoted passage in the normalized plan.
    """

    program_id: str
    name: str
    kind: str
    province: str
    rank: int
    score: float
    p_residency: float | None
    p_funding: float | None
    expected_funding: float | None
    reasons: list[str]
    factors: dict[str, float]
    dense_score: float
    lexical_score: float
    evidence_span: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the `peyvand recommend --json` item)."""
        out = asdict(self)
        out["evidence_span"] = list(self.evidence_span) if self.evidence_span else None
        return out


@dataclass(frozen=True)
class ExcludedProgram:
    """A retrieved program that a hard rule of eligibility removed."""

    program_id: str
    name: str
    reason: str


@dataclass
class RecommendationList:
    """The answer to one request.

    Attributes:
        items: best first, at most `top`.
        notes: remarks on how the answer was made (English, for operators), e.g. the
            unsupervised fallback.
        excluded: retrieved programs removed by eligibility, with the Persian reason.
        empty_reason: why `items` is empty (Persian), else None.
        ranker: "model" (a trained ranker) or "unsupervised".
        model_version: the trained ranker's registry version, when known.
        embedding_model: the embedding model id.
        facts: for free text, the facts read from the plan (with a person's corrections),
            as `PlanFacts.to_dict()`; None for a stored application (its facts are stored).
    """

    items: list[Recommendation]
    notes: list[str] = field(default_factory=list)
    excluded: list[ExcludedProgram] = field(default_factory=list)
    empty_reason: str | None = None
    ranker: str = "model"
    model_version: str | None = None
    embedding_model: str = ""
    facts: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of everything."""
        return {
            "facts": self.facts,
            "items": [item.to_dict() for item in self.items],
            "notes": list(self.notes),
            "excluded": [asdict(e) for e in self.excluded],
            "empty_reason": self.empty_reason,
            "ranker": self.ranker,
            "model_version": self.model_version,
            "embedding_model": self.embedding_model,
        }


@dataclass(frozen=True)
class PreparedPlan:
    """A plan made ready for matching (cached per raw text).

    Attributes:
        text: the normalized plan.
        embedding: its `DocumentEmbedding` (chunks, pooled, chunk_spans).
        lexical: (n_programs,) BM25 of the plan against each indexed program.
        memo: derived data computed on first use (the explainer's reading of the plan).
    """

    text: str
    embedding: Any
    lexical: np.ndarray
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------- index


def program_passage_text(program: Program, sector_labels: Mapping[str, str] | None = None) -> str:
    """The text a program is embedded from: normalized name, description and sector names.

    Args:
        program: the program.
        sector_labels: Persian name per sector slug; a slug without one is written as words.

    Returns:
        One normalized text.
    """
    labels = sector_labels or {}
    sectors = "، ".join(labels.get(s, s.replace("_", " ")) for s in program.sectors)
    parts = [program.name, program.description] + ([f"حوزه‌ها: {sectors}"] if sectors else [])
    return normalize("\n".join(parts))


def build_retriever(
    programs: Sequence[Program],
    embedder: Any,
    *,
    sector_labels: Mapping[str, str] | None = None,
    sector_terms: Mapping[str, Sequence[str]] | None = None,
    batch_size: int = 64,
    **retriever_params: Any,
) -> CandidateRetriever:
    """Embed every program (as a passage, chunk-aware) and fit a `CandidateRetriever`.

    Args:
        programs: the catalogue (inactive programs included: filters drop them at search).
        embedder: a fitted `embedding.Embedder` (its vector cache makes rebuilds cheap).
        sector_labels: Persian name per sector slug (added to the embedded text).
        sector_terms: Persian keywords per sector slug (added to the BM25 text).
        batch_size: programs embedded per call (each batch lands in the embedder's vector
            cache, so an interrupted build resumes where it stopped).
        **retriever_params: other `CandidateRetriever` arguments.

    Returns:
        The fitted retriever.
    """
    programs = list(programs)
    if not programs:
        raise InvalidInputError("there are no programs to index; import some first")
    rows: list[np.ndarray] = []
    for start in range(0, len(programs), max(1, batch_size)):
        batch = programs[start : start + max(1, batch_size)]
        texts = [program_passage_text(p, sector_labels) for p in batch]
        documents = embedder.embed_documents(texts, role="passage")
        rows.extend(np.asarray(d.pooled, dtype=np.float32).reshape(-1) for d in documents)
    vectors = np.stack(rows)
    retriever = CandidateRetriever(sector_terms=sector_terms, **retriever_params)
    return retriever.fit(programs, vectors, str(embedder.model_id_))


# --------------------------------------------------------------------------- helpers


class _LexicalMemo:
    """Stands in for the retriever's `BM25Index` so `search` reuses a prepared plan's scores.

    Scores are remembered by query text (a bounded LRU); anything else is forwarded.
    """

    def __init__(self, inner: Any, size: int = 128) -> None:
        self._inner = inner
        self._size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def remember(self, text: str, scores: np.ndarray) -> None:
        with self._lock:
            self._memo[text] = scores
            self._memo.move_to_end(text)
            while len(self._memo) > self._size:
                self._memo.popitem(last=False)

    def scores(self, query: str) -> np.ndarray:
        with self._lock:
            hit = self._memo.get(query)
        if hit is not None:
            return hit
        return self._inner.scores(query)


_blas_capped: int | None = None


def _cap_blas(threads: int) -> None:
    """Cap the BLAS thread pools of the process at `threads` (once; never lowered twice).

    Process-wide on purpose: OpenBLAS ignores a raise of its thread count made from a
    thread other than the one that lowered it, so a per-request cap-and-restore would leave
    a threaded server at whatever the last interleaving set.
    """
    global _blas_capped
    if _blas_capped is not None and _blas_capped <= threads:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    _blas_capped = threads


def _same_place(a: str, b: str) -> float:
    def key(name: str) -> str:
        return " ".join((name or "").replace("ي", "ی").replace("ك", "ک").split())

    return 1.0 if key(a) and key(a) == key(b) else 0.0


def _kind_fit(funding_kind: str, program: Program) -> float:
    """How well a program's way of funding suits what the plan asks for (0..1)."""
    equity = bool(program.equity_percent) or program.kind == "vc_fund"
    if funding_kind == "grant":
        return 0.2 if equity else 1.0
    if funding_kind == "equity":
        if program.kind == "grant_program":
            return 0.3
        return 1.0 if equity or program.funding_max > 0 else 0.6
    return 0.4 if program.kind == "grant_program" else 1.0  # a loan


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


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
            host). The cap is process-wide and stays (see `_cap_blas`).
        sector_terms: Persian terms per sector slug for the fact reader (default: the
            explainer's sector keywords).
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
        self.feature_names = list(getattr(feature_builder, "feature_names_", FEATURE_NAMES))
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
            _cap_blas(blas_threads)
        if fallback is None:
            from recommender.ranking.compose import unsupervised_score

            fallback = unsupervised_score
        self._fallback = fallback
        self._position = {pid: i for i, pid in enumerate(retriever.program_ids_)}
        current = {p.id: p for p in programs or ()}
        self._programs = [current.get(p.id, p) for p in retriever.programs_]
        # Records that changed since indexing are re-checked against the filters at search.
        self._changed = {
            p.id for p, now in zip(retriever.programs_, self._programs, strict=True) if p != now
        }
        self._columns = {name: j for j, name in enumerate(self.feature_names)}
        self._groups = reason_groups(self.feature_names)
        means = getattr(ranker, "feature_means_", None) if ranker is not None else None
        self._baseline = (
            np.asarray(means, dtype=np.float32)
            if means is not None and len(means) == len(self.feature_names)
            else None
        )
        current_lexical: Any = retriever.lexical_
        if not isinstance(current_lexical, _LexicalMemo):
            current_lexical = _LexicalMemo(current_lexical)
            retriever.lexical_ = current_lexical
        self._lexical: _LexicalMemo = current_lexical
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
        if not _has_words(text):
            raise EmptyTextError("the text is empty: it has no word to match")
        normalized = normalize(text)
        if not _has_words(normalized):
            raise EmptyTextError("the text is empty: it has no word to match")
        embedding = self.embedder.embed_documents([normalized], role=self.plan_role)[0]
        inner = self._lexical._inner
        if hasattr(inner, "scores_for_tokens"):
            lexical = inner.scores_for_tokens(tokenize(normalized))
        else:
            lexical = inner.scores(normalized)
        plan = PreparedPlan(
            text=normalized,
            embedding=embedding,
            lexical=np.asarray(lexical, dtype=np.float32).reshape(-1),
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
            found = plan.memo["facts"] = read_facts(plan.text, self.sector_terms)
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
        facts, subject = self._subject(plan, application, filters, plan_facts)

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
        pairs = np.stack([np.zeros_like(positions), positions], axis=1)
        X = self.feature_builder.transform(
            [subject], [plan.embedding], plan.lexical[None, :], pairs=pairs
        )
        if application is None:
            kb_known = bool(filters is not None and filters.knowledge_based) or (
                plan_facts is not None
                and plan_facts.value("knowledge_based", FACT_MIN_CONFIDENCE) is not None
            )
            self._assume_unknown_facts(X, facts, positions, kb_known)

        memo = self._pair_memo(plan, subject, facts)
        priors, extra = self._scores(X, positions, memo)
        scores = priors
        if application is None:  # free text: what the plan is about first (see module doc)
            scores = compose_scores(
                X, self.feature_names, priors, self._fact_terms(facts, plan_facts, positions)
            )
        fused = np.array([c.fused_score for c in candidates])
        order = np.lexsort((-fused, -scores))[:top]
        contrib = self._contributions(X, positions, order, priors, memo)
        open_seats = dict(filters.open_seats) if filters and filters.open_seats else {}
        for rank, (row, i) in enumerate(zip(contrib, order, strict=True), start=1):
            result.items.append(
                self._item(
                    rank, candidates[i], positions[i], plan, facts,
                    float(scores[i]), {k: _optional(v, i) for k, v in extra.items()},
                    row, open_seats,
                )
            )
        return result

    # ------------------------------------------------------------------ stages

    def _subject(
        self,
        plan: PreparedPlan,
        application: Application | None,
        filters: ProgramFilter | None,
        plan_facts: PlanFacts | None = None,
    ) -> tuple[ApplicantFacts, Application]:
        """What is known of the applicant, and the application the features are built for.

        Free text: the filters first (what staff asked for), then the facts read from the
        plan with at least `FACT_MIN_CONFIDENCE` (or corrected by a person).
        """
        if application is not None:
            facts = ApplicantFacts(
                stage=application.stage,
                province=application.province or None,
                funding_ask=application.funding_ask,
                needs_residency=application.needs_residency,
                sectors=tuple(application.sectors),
            )
            return facts, application
        f = filters or ProgramFilter()
        read = plan_facts or PlanFacts()

        def known(name: str) -> Any:
            return read.value(name, FACT_MIN_CONFIDENCE)

        provinces = list(f.provinces) if f.provinces is not None else []
        needs = True if f.min_open_seats else known("needs_residency")
        kb = True if f.knowledge_based else known("knowledge_based")
        facts = ApplicantFacts(
            stage=f.stage or known("stage"),
            province=provinces[0] if len(provinces) == 1 else known("province"),
            funding_ask=f.funding_ask if f.funding_ask else known("funding_ask"),
            needs_residency=needs,
            sectors=tuple(f.sectors or ()),
        )
        city = known("city") if facts.province == known("province") else None
        subject = Application.model_construct(
            id="query",
            startup_name="query",
            business_plan=plan.text,
            sectors=list(facts.sectors),
            stage=facts.stage or "idea",
            province=facts.province or "",
            city=city or "",
            team_size=max(1, int(known("team_size") or 1)),
            funding_ask=facts.funding_ask or 0,
            needs_residency=bool(facts.needs_residency),
            knowledge_based=bool(kb),
            founded_year=None,
            round_id=None,
        )
        return facts, subject

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
        conditions = filters or ProgramFilter()
        while True:
            retrieved = self.retriever.search(
                plan.embedding.pooled, plan.text, k=k, filters=filters
            )
            found = [
                c for c in retrieved
                if c.program_id not in self._changed
                or conditions.matches(self._programs[self._position[c.program_id]])[0]
            ]
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

    def _assume_unknown_facts(
        self,
        X: np.ndarray,
        facts: ApplicantFacts,
        positions: np.ndarray,
        kb_known: bool = False,
    ) -> None:
        """Free text: give unknown applicant facts the benefit of the doubt (in place).

        Facts read from the plan (or given by filters) stay as the features computed them;
        `eligible` is recomputed from the adjusted columns.
        """
        col = self._columns

        def put(name: str, value: float | np.ndarray) -> None:
            if name in col:
                X[:, col[name]] = value

        if facts.stage is None:
            put("stage_match", 1.0)
            put("stage_distance", 0.0)
        if facts.province is None:
            put("place_ok", 1.0)
        if not kb_known:
            put("kb_ok", 1.0)
        if "eligible" in col and "program_active" in col:
            eligible = X[:, col["program_active"]].copy()
            for name in ("stage_match", "kb_ok"):
                if name in col:
                    eligible *= X[:, col[name]]
            if {"residency_unmet", "program_funds"} <= set(col):
                eligible *= 1.0 - X[:, col["residency_unmet"]] * (1.0 - X[:, col["program_funds"]])
            X[:, col["eligible"]] = eligible

    def _fact_terms(
        self, facts: ApplicantFacts, plan_facts: PlanFacts | None, positions: np.ndarray
    ) -> dict[str, tuple[np.ndarray, float]]:
        """How well each candidate fits the facts a free-text plan states: name ->
        (values in [0, 1] per candidate, weight = the fact's confidence)."""
        if plan_facts is None:
            return {}
        programs = [self._programs[int(p)] for p in positions]
        out: dict[str, tuple[np.ndarray, float]] = {}
        stage = plan_facts.stage
        if facts.stage is not None:
            weight = stage.confidence if stage.value == facts.stage else 1.0
            out["stage"] = (np.array([1.0 if facts.stage in p.stages else 0.0
                                      for p in programs]), weight)
        province = plan_facts.province
        if facts.province is not None:
            same = np.array([_same_place(p.province, facts.province) for p in programs])
            remote = np.array([1.0 if p.accepts_remote else 0.0 for p in programs])
            needs = plan_facts.needs_residency
            if facts.needs_residency:  # a desk is needed: it must be reachable
                out["place"] = (np.maximum(same, 0.5 * remote), min(1.0, province.confidence
                                + 0.2) * max(needs.confidence, 0.5))
            else:  # near is better, remote is fine
                out["place"] = (np.maximum(same, 0.7 * remote + 0.3 * same),
                                0.5 * max(province.confidence, 0.5))
        kb = plan_facts.knowledge_based
        if kb.value is False and kb.confidence >= FACT_MIN_CONFIDENCE:
            out["knowledge_based"] = (np.array([0.0 if p.requires_knowledge_based else 1.0
                                                for p in programs]), kb.confidence)
        kind = plan_facts.funding_kind
        if kind.value is not None and kind.confidence >= FACT_MIN_CONFIDENCE:
            out["funding_kind"] = (np.array([_kind_fit(kind.value, p) for p in programs]),
                                   0.7 * kind.confidence)
        negated = set(plan_facts.not_sectors.value or ())
        if negated:
            out["not_sectors"] = (
                np.array([0.0 if p.sectors and set(p.sectors) <= negated
                          else 0.5 if negated & set(p.sectors) else 1.0 for p in programs]),
                plan_facts.not_sectors.confidence,
            )
        return out

    def _pair_memo(
        self, plan: PreparedPlan, subject: Application, facts: ApplicantFacts
    ) -> dict[Any, Any] | None:
        """Per-plan memo of the ranker's outputs for (these applicant facts, program).

        A pair's features depend only on the plan, the applicant's facts and the program
        record, all fixed here, so a stored application asked about again reuses its scored
        pairs. Only with a trained ranker that has training means (then contributions do
        not depend on the candidate set); the fallback is cheap enough to recompute.
        """
        if self.ranker is None or self._baseline is None:
            return None
        key = (repr(facts), repr(subject.model_dump(exclude={"business_plan"})))
        memos = plan.memo.setdefault("pairs", {})
        if key not in memos and len(memos) >= 8:
            memos.clear()
        return memos.setdefault(key, {})

    def _scores(
        self, X: np.ndarray, positions: np.ndarray, memo: dict[Any, Any] | None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Scores (and probabilities) of the candidate rows, from `memo` where known."""
        if memo is None:
            return self._score(X)
        missing = [i for i, p in enumerate(positions) if ("s", int(p)) not in memo]
        if missing:
            fresh, extra = self._score(X[missing])
            for j, i in enumerate(missing):
                memo[("s", int(positions[i]))] = (
                    float(fresh[j]), *(float(np.asarray(extra[k])[j]) for k in _EXTRA)
                )
        rows = np.array([memo[("s", int(p))] for p in positions], dtype=np.float64)
        return rows[:, 0], {k: rows[:, 1 + t] for t, k in enumerate(_EXTRA)}

    def _contributions(
        self,
        X: np.ndarray,
        positions: np.ndarray,
        order: np.ndarray,
        scores: np.ndarray,
        memo: dict[Any, Any] | None,
    ) -> np.ndarray:
        """(len(order), n_features) contributions of the shown rows.

        One model call over the rows that are not memoized: a boosted model's cost grows
        with its rows (about 60 ns per row and tree, on top of ~18 us per tree and call), so
        only the shown items are explained.
        """
        baseline = self._baseline if self._baseline is not None else X.mean(axis=0)
        out = np.zeros((len(order), X.shape[1]))
        todo = [j for j, i in enumerate(order)
                if memo is None or ("c", int(positions[i])) not in memo]
        if todo:
            shown = X[order[todo]]
            replaced, _ = self._score(replacement_rows(shown, baseline))
            out[todo] = contributions_from(scores[order[todo]], replaced, shown, baseline)
        for j, i in enumerate(order):
            key = ("c", int(positions[i]))
            if memo is not None:
                if key in memo:
                    out[j] = memo[key]
                else:
                    memo[key] = out[j].copy()
        return out

    def _score(self, X: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        if self.ranker is None:
            return np.asarray(self._fallback(X), dtype=np.float64), {
                "p_residency": None, "p_funding": None, "expected_funding": None,
            }
        out = self.ranker.predict(X)
        return np.asarray(out.score, dtype=np.float64), {
            "p_residency": out.p_residency,
            "p_funding": out.p_funding,
            "expected_funding": out.expected_funding,
        }

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
    ) -> Recommendation:
        program = self._programs[position]
        embedding = plan.embedding
        reading = plan.memo.get("reading")
        if reading is None:
            reading = plan.memo["reading"] = self.explainer.read(plan.text)
        evidence = self.explainer.evidence(
            plan.text,
            embedding.chunks,
            list(embedding.chunk_spans),
            program,
            self.retriever.vectors_[position],
            reading,
        )
        groups = {
            kind: float(contribution[cols].sum()) if cols else 0.0
            for kind, cols in self._groups.items()
        }
        reasons = self.explainer.reasons(
            program,
            facts,
            plan_text=plan.text,
            reading=reading,
            evidence=evidence,
            open_seats=open_seats.get(program.id, program.residency_seats),
            group_contributions=groups,
        )
        order = np.argsort(-np.abs(contribution), kind="stable")
        factors = {
            self.feature_names[j]: round(float(contribution[j]), 4)
            for j in order
            if abs(contribution[j]) > 1e-6
        }
        return Recommendation(
            program_id=program.id,
            name=program.name,
            kind=program.kind,
            province=program.province,
            rank=rank,
            score=round(score, 6),
            p_residency=extra.get("p_residency"),
            p_funding=extra.get("p_funding"),
            expected_funding=extra.get("expected_funding"),
            reasons=reasons,
            factors=factors,
            dense_score=round(candidate.dense_score, 6),
            lexical_score=round(candidate.lexical_score, 6),
            evidence_span=evidence.span if evidence is not None else None,
        )
