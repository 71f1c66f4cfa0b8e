"""Why a program is recommended: up to three reasons in plain Persian, plus the ranker's
factors with their contributions.

Reasons state facts that hold for the pair, never raw feature values:

1. content: the passage of the plan closest to the program (the plan chunk with the highest
   cosine to the program vector; inside it, the quotable sentence sharing most words with
   the program's text: `quotes` says what is quotable — never a heading, a lone word or the
   startup's name; the next closest chunks are tried when one has none, and with none at
   all nothing is quoted), and the program's sector that matches the plan;
2. fit: the program accepts the applicant's stage and is in the applicant's province (or
   accepts remote participants);
3. seats: the program has open residency seats (when the applicant needs residency, or it
   is not known whether they do);
4. money: the applicant's funding ask lies in the program's funding range (amounts in rial
   as people say them, `format_rial_spoken`), or, with no ask known, the range it funds.

Besides the reasons, the main drawback (`drawbacks.drawback`: another province without
remote participation, a stage not accepted, no seats for a team that needs one, an ask
outside the funding range), at most one, apart from the reasons.

The content reason comes first; the others are ordered by the summed contribution of the
features behind them (most helpful first), at most `max_reasons` in all.

Contributions (`contributions`) are one estimate for any ranker: for each feature, the
score of the pair minus the score with that feature replaced by a baseline value (the
ranker's training mean when it has one, else the mean over the request's candidates). For a
linear score this is exactly the feature's term, w_j * (x_j - baseline_j); for trees and
calibrated probabilities it is a one-at-a-time estimate that ignores interactions, at the
cost of one batched `predict` over (n_items * n_features) rows.

Reasons quote the plan: they are for the plan's owner and the staff. Never log them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.constants import STAGE_LABELS_FA
from recommender.eligibility import place_key
from recommender.ranking._forest import replacement_rows
from recommender.schemas import Program
from recommender.scoring.applicant_facts import ApplicantFacts
from recommender.scoring.drawbacks import drawback
from recommender.scoring.quotes import (
    MIN_CONTENT_WORDS,
    PlanSentence,
    content_words,
    plan_sentences,
    shorten,
)
from recommender.text.persian import format_number, format_rial_spoken, to_persian_digits

__all__ = [
    "ApplicantFacts",
    "Evidence",
    "Explainer",
    "Explanation",
    "PlanReading",
    "contributions",
    "contributions_from",
    "reason_groups",
    "replacement_rows",
]

# Feature-name prefixes behind each kind of reason (see features.FEATURES).
_REASON_FEATURES: dict[str, tuple[str, ...]] = {
    "content": ("sem_", "lex_", "sector_"),
    "fit": ("stage_", "same_", "remote_", "place_"),
    "seats": ("seats_", "residency_", "needs_residency"),
    "money": ("funding_", "program_funds"),
}

@dataclass(frozen=True)
class Evidence:
    """The part of the plan that best matches one program.

    Attributes:
        chunk: index of the plan chunk.
        span: (start, end) character offsets of the quoted text in the normalized plan.
        quote: the sentence (or its start, with «…») shown to the reader, in Persian digits.
        similarity: cosine of the chunk and the program vector.
    """

    chunk: int
    span: tuple[int, int]
    quote: str
    similarity: float


@dataclass(frozen=True)
class PlanReading:
    """What the explainer reads once per plan and reuses for every program.

    Attributes:
        sentences: the plan's sentences (`quotes.plan_sentences`), in order.
        sector_hits: sector slug -> occurrences of its keywords in the plan.
    """

    sentences: list[PlanSentence]
    sector_hits: dict[str, int]


@dataclass
class Explanation:
    """Everything shown with one recommended program (`Explainer.explain_item`).

    Attributes:
        reasons: up to `max_reasons` Persian sentences.
        factors: feature name -> contribution, largest magnitude first.
        span: (start, end) of the quoted passage in the plan, or None.
        drawback: the main drawback in one Persian sentence, or None.
        drawback_kind: its kind (`drawbacks.DRAWBACK_ORDER`), or None.
    """

    reasons: list[str]
    factors: dict[str, float] = field(default_factory=dict)
    span: tuple[int, int] | None = None
    drawback: str | None = None
    drawback_kind: str | None = None


def reason_groups(feature_names: Sequence[str]) -> dict[str, list[int]]:
    """Column indices of the features behind each kind of reason.

    Args:
        feature_names: the ranker's feature names, in column order.

    Returns:
        {"content": [...], "fit": [...], "seats": [...], "money": [...]}.
    """
    groups: dict[str, list[int]] = {kind: [] for kind in _REASON_FEATURES}
    for j, name in enumerate(feature_names):
        for kind, prefixes in _REASON_FEATURES.items():
            if name.startswith(prefixes):
                groups[kind].append(j)
                break
    return groups


def contributions_from(
    full: np.ndarray, replaced: np.ndarray, X: np.ndarray, baseline: np.ndarray
) -> np.ndarray:
    """Contributions from scores already computed: full[i] - replaced[i, j].

    Args:
        full: (n,) the scores of X.
        replaced: (n * n_features,) the scores of `replacement_rows(X, baseline)`.
        X: (n, n_features) the rows.
        baseline: (n_features,) the reference values.

    Returns:
        (n, n_features) float64 (0 where x_j equals the baseline).
    """
    X = np.asarray(X, dtype=np.float32)
    n, f = X.shape
    out = np.asarray(full, dtype=np.float64).reshape(n, 1) - np.asarray(
        replaced, dtype=np.float64
    ).reshape(n, f)
    out[np.isclose(X, np.asarray(baseline, dtype=np.float32).reshape(1, f))] = 0.0
    return out


def contributions(
    score: Callable[[np.ndarray], np.ndarray], X: np.ndarray, baseline: np.ndarray
) -> np.ndarray:
    """Per-feature contribution of each row's score: score(x) - score(x with x_j := base_j).

    One call of `score` over the rows and their replacements together (a model's per-call
    overhead, e.g. a Python loop over boosted trees, is paid once).

    Args:
        score: maps (n, n_features) to (n,) scores.
        X: (n, n_features) the rows to explain.
        baseline: (n_features,) the reference value of each feature.

    Returns:
        (n, n_features) float64 contributions (0 where x_j equals the baseline).
    """
    X = np.asarray(X, dtype=np.float32)
    n, f = X.shape
    if n == 0 or f == 0:
        return np.zeros((n, f))
    scores = np.asarray(score(np.vstack([X, replacement_rows(X, baseline)])), dtype=np.float64)
    return contributions_from(scores[:n], scores[n:], X, baseline)


class Explainer:
    """Builds the Persian reasons of one recommended program.

    Args:
        sector_labels: Persian name per sector slug (recommender/sectors.json `name_fa`).
        sector_keywords: Persian keywords per sector slug, used to tell which of a program's
            sectors the plan talks about.
        max_reasons: at most this many reasons per program.
        quote_chars: the longest quote, in characters (cut at a clause mark or a word
            boundary, with «…», see `quotes.shorten`).
        evidence_chunks: how many of the plan's chunks closest to a program are searched
            for a quotable sentence before quoting nothing.
    """

    def __init__(
        self,
        sector_labels: Mapping[str, str] | None = None,
        sector_keywords: Mapping[str, Sequence[str]] | None = None,
        max_reasons: int = 3,
        quote_chars: int = 160,
        evidence_chunks: int = 3,
    ) -> None:
        self.sector_labels = dict(sector_labels or {})
        self.sector_keywords = {k: list(v) for k, v in (sector_keywords or {}).items()}
        self.max_reasons = max_reasons
        self.quote_chars = quote_chars
        self.evidence_chunks = evidence_chunks
        self._program_words: dict[str, set[str]] = {}

    # ------------------------------------------------------------------ evidence

    def _words_of(self, program: Program) -> set[str]:
        words = self._program_words.get(program.id)
        if words is None:
            keywords = [" ".join(self.sector_keywords.get(s, ())) for s in program.sectors]
            words = content_words(" ".join([program.name, program.description, *keywords]))
            if len(self._program_words) > 50_000:
                self._program_words.clear()
            self._program_words[program.id] = words
        return words

    def read(self, plan_text: str) -> PlanReading:
        """Split the plan into sentences (what each lets a reason quote, its words) and count
        sector keywords (once per plan; pass the result to `evidence` and `reasons`)."""
        hits = {
            slug: sum(plan_text.count(k) for k in keywords if k)
            for slug, keywords in self.sector_keywords.items()
        }
        return PlanReading(sentences=plan_sentences(plan_text), sector_hits=hits)

    def evidence(
        self,
        plan_text: str,
        chunks: np.ndarray,
        chunk_spans: Sequence[tuple[int, int]],
        program: Program,
        program_vector: np.ndarray,
        reading: PlanReading | None = None,
        name: str | None = None,
    ) -> Evidence | None:
        """The best-matching quotable passage of the plan for `program`.

        The chunks in order of cosine to the program, at most `evidence_chunks` of them: in
        the first that holds a quotable sentence (`quotes`; one that says more than the
        startup's `name`), the sentence sharing most words with the program's name,
        description and sector keywords (ties: the longer one), cut to `quote_chars`.

        Args:
            plan_text: the normalized plan (the text `chunk_spans` point into).
            chunks: (n_chunks, dim) L2-normalized chunk vectors of the plan.
            chunk_spans: (start, end) of each chunk in `plan_text`.
            program: the program.
            program_vector: (dim,) the program's L2-normalized vector.
            reading: `read(plan_text)`, when already made.
            name: the startup's name, when known.

        Returns:
            The evidence, or None when the plan has no chunk or no quotable sentence there.
        """
        chunks = np.asarray(chunks, dtype=np.float32)
        if chunks.ndim != 2 or chunks.shape[0] == 0 or not chunk_spans:
            return None
        reading = reading or self.read(plan_text)
        sims = chunks @ np.asarray(program_vector, dtype=np.float32).reshape(-1)
        sims = sims[: len(chunk_spans)]
        wanted = self._words_of(program)
        ignore = content_words(name) if name else set()
        for best in np.argsort(-sims, kind="stable")[: self.evidence_chunks]:
            start, end = (int(x) for x in chunk_spans[int(best)])
            best_key: tuple[int, int] = (-1, -1)
            found: tuple[int, int] | None = None
            for sentence in reading.sentences:
                a, b = sentence.span
                if sentence.quote is None or b <= start or a >= end:
                    continue
                if len(sentence.words - ignore) < MIN_CONTENT_WORDS:
                    continue
                key = (len(sentence.words & wanted), min(b - a, 200))
                if key > best_key:
                    best_key, found = key, sentence.quote
            if found is not None:
                quote, used = shorten(plan_text[found[0] : found[1]], self.quote_chars, ignore)
                # The normalized plan has Latin digits; the reader gets Persian ones.
                return Evidence(chunk=int(best), span=(found[0], found[0] + used),
                                quote=to_persian_digits(quote), similarity=float(sims[int(best)]))
        return None

    # ------------------------------------------------------------------ sentences

    def matching_sector(
        self,
        program: Program,
        facts: ApplicantFacts,
        plan_text: str,
        reading: PlanReading | None = None,
    ) -> str | None:
        """The program's sector that matches the applicant: a declared sector they share,
        else the one whose keywords occur most in the plan; None when neither holds (then
        no sector is named, so a reason never claims a match that is not there)."""
        if not program.sectors:
            return None
        shared = [s for s in program.sectors if s in facts.sectors]
        if shared:
            return shared[0]
        best, best_hits = None, 0
        counts = reading.sector_hits if reading is not None else None
        for slug in program.sectors:
            if counts is not None and slug in counts:
                hits = counts[slug]
            else:
                hits = sum(plan_text.count(k) for k in self.sector_keywords.get(slug, ()) if k)
            if hits > best_hits:
                best, best_hits = slug, hits
        return best

    def _sector_label(self, slug: str) -> str:
        return self.sector_labels.get(slug, slug.replace("_", " "))

    def content_reason(
        self, program: Program, evidence: Evidence | None, sector: str | None
    ) -> str | None:
        """«این بخش از طرح شما با تمرکز این برنامه بر حوزهٔ «…» هم‌خوان است: «…»», or, with
        no matching sector, the plan's passage closest to the program."""
        if sector is not None:
            focus = f"تمرکز این برنامه بر حوزهٔ «{self._sector_label(sector)}»"
            if evidence is not None and evidence.quote:
                return f"این بخش از طرح شما با {focus} هم‌خوان است: «{evidence.quote}»"
            return f"طرح شما با {focus} هم‌خوان است."
        if evidence is not None and evidence.quote:
            return f"نزدیک‌ترین بخش طرح شما به کار این برنامه: «{evidence.quote}»"
        return None

    @staticmethod
    def fit_reason(program: Program, facts: ApplicantFacts) -> str | None:
        """«برنامه، تیم‌های در مرحلهٔ «محصول اولیه» را می‌پذیرد و در همان استان شما، اصفهان، است.»"""
        parts: list[str] = []
        if facts.stage is not None and facts.stage in program.stages:
            label = STAGE_LABELS_FA.get(facts.stage, facts.stage)
            parts.append(f"تیم‌های در مرحلهٔ «{label}» را می‌پذیرد")
        if facts.province:
            if place_key(facts.province) == place_key(program.province):
                parts.append(f"در همان استان شما، {program.province}، است")
            elif program.accepts_remote:
                parts.append("حضور از راه دور را هم می‌پذیرد")
        elif program.accepts_remote and parts:
            parts.append("حضور از راه دور را هم می‌پذیرد")
        if not parts:
            return None
        return "این برنامه، " + " و ".join(parts) + "."

    @staticmethod
    def seats_reason(facts: ApplicantFacts, open_seats: int) -> str | None:
        """«این برنامه ۱۲ جای خالی برای استقرار تیم‌ها دارد.»"""
        if open_seats <= 0 or facts.needs_residency is False:
            return None
        return f"این برنامه {format_number(open_seats)} جای خالی برای استقرار تیم‌ها دارد."

    @staticmethod
    def money_reason(program: Program, facts: ApplicantFacts) -> str | None:
        """The ask inside the program's funding range (or the range, when no ask is known)."""
        if program.funding_max <= 0:
            return None
        low = format_rial_spoken(program.funding_min)
        high = format_rial_spoken(program.funding_max)
        if program.funding_min == 0:
            span = f"تا سقف {high}"
        else:
            span = f"از {low} تا {high}"
        ask = facts.funding_ask
        if ask is None:
            return f"این برنامه {span} تأمین مالی می‌کند."
        if ask > 0 and program.funding_min <= ask <= program.funding_max:
            return (
                f"مبلغ درخواستی شما ({format_rial_spoken(ask)}) در بازهٔ تأمین مالی این برنامه "
                f"({span}) است."
            )
        return None

    # ------------------------------------------------------------------ all together

    def reasons(
        self,
        program: Program,
        facts: ApplicantFacts,
        *,
        plan_text: str = "",
        reading: PlanReading | None = None,
        evidence: Evidence | None = None,
        open_seats: int | None = None,
        group_contributions: Mapping[str, float] | None = None,
    ) -> list[str]:
        """Up to `max_reasons` Persian reasons why `program` suits the applicant.

        Args:
            program: the program.
            facts: what is known of the applicant.
            plan_text: the normalized plan (to find the matching sector's keywords).
            reading: `read(plan_text)`, when already made.
            evidence: the best-matching passage (see `evidence`).
            open_seats: open residency seats (default: the program's seats).
            group_contributions: summed contribution per reason kind ("fit", "seats",
                "money"); orders the reasons after the content one.

        Returns:
            The reasons, content first.
        """
        seats = program.residency_seats if open_seats is None else open_seats
        sector = self.matching_sector(program, facts, plan_text, reading)
        content = self.content_reason(program, evidence, sector)
        others = {
            "fit": self.fit_reason(program, facts),
            "money": self.money_reason(program, facts),
            "seats": self.seats_reason(facts, seats),
        }
        weights = dict(group_contributions or {})
        priority = {"fit": 0, "money": 1, "seats": 2}
        order = sorted(
            (kind for kind, text in others.items() if text),
            key=lambda kind: (-weights.get(kind, 0.0), priority[kind]),
        )
        out = [content] if content else []
        out += [others[kind] for kind in order]  # type: ignore[misc]
        return [r for r in out if r][: self.max_reasons]

    def explain_item(
        self,
        plan_text: str,
        embedding: Any,
        reading: PlanReading,
        program: Program,
        program_vector: np.ndarray,
        facts: ApplicantFacts,
        *,
        contribution: np.ndarray,
        groups: Mapping[str, Sequence[int]],
        feature_names: Sequence[str],
        open_seats: int,
    ) -> Explanation:
        """Everything shown with one recommended program.

        Args:
            plan_text: the normalized plan.
            embedding: its `DocumentEmbedding` (chunks, chunk_spans).
            reading: `read(plan_text)`.
            program: the program.
            program_vector: its vector in the index.
            facts: what is known of the applicant.
            contribution: (n_features,) contributions to the pair's ranker (or fallback)
                score.
            groups: `reason_groups(feature_names)`.
            feature_names: the feature list.
            open_seats: the program's open residency seats.

        Returns:
            The reasons, the factors (feature name -> contribution, largest magnitude
            first), the quoted passage's (start, end) in the plan and the main drawback.
        """
        evidence = self.evidence(
            plan_text,
            embedding.chunks,
            list(embedding.chunk_spans),
            program,
            program_vector,
            reading,
            name=facts.name,
        )
        group_contributions = {
            kind: float(contribution[list(cols)].sum()) if cols else 0.0
            for kind, cols in groups.items()
        }
        reasons = self.reasons(
            program,
            facts,
            plan_text=plan_text,
            reading=reading,
            evidence=evidence,
            open_seats=open_seats,
            group_contributions=group_contributions,
        )
        order = np.argsort(-np.abs(contribution), kind="stable")
        factors = {
            feature_names[j]: round(float(contribution[j]), 4)
            for j in order
            if abs(contribution[j]) > 1e-6
        }
        catch = drawback(program, facts, open_seats)
        return Explanation(
            reasons=reasons,
            factors=factors,
            span=evidence.span if evidence is not None else None,
            drawback=catch[1] if catch else None,
            drawback_kind=catch[0] if catch else None,
        )
