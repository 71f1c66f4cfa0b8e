"""What `pipeline.Recommender` answers: one `Recommendation` per program, in a
`RecommendationList`.

`Recommendation` is the item of `peyvand recommend --json` and of the API's match and
suggestions (api/schemas.py builds from it, same field names); fields added after the first
contract have defaults, so older readers and writers keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ExcludedProgram", "Recommendation", "RecommendationList"]


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
        p_residency: P(residency granted); None without a trained model, and None for a
            program that offers no residency (`offers_residency` False: not applicable,
            shown as «اقامت ندارد», never as 0%).
        p_funding: P(funded); None without a trained model.
        expected_funding: expected funded amount in rial; None without a trained model.
        reasons: up to three Persian sentences (they quote the plan: never log them).
        factors: feature name -> contribution to the ranker's (or fallback's) score,
            largest magnitude first (see `explain.contributions` for the estimate); for free
            text that score is the prior part of `score`.
        dense_score: cosine of plan and program vectors.
        lexical_score: raw BM25 of the plan against the program's text.
        evidence_span: (start, end) of the quoted passage in the normalized plan.
        org_id: the house that runs the program (`Program.org_id`).
        org_name: that house's Persian name, once named (`RecommendationList.name_houses`).
        offers_residency: whether the program has residency seats at all.
        drawback: the main drawback for this applicant in one Persian sentence
            (`drawbacks.drawback`), or None.
        drawback_kind: its kind ("place", "stage", "seats", "money"), or None.
        fit_level: the score in words (`fit_level.FIT_LEVELS`: very_good, good, fair, low).
        fit_label: the same in Persian («تناسب خوب»).
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
    org_id: str | None = None
    org_name: str | None = None
    offers_residency: bool = True
    drawback: str | None = None
    drawback_kind: str | None = None
    fit_level: str | None = None
    fit_label: str | None = None

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

    def name_houses(self, names: Mapping[str, str]) -> RecommendationList:
        """Give each item its house's name (`org_name`) from `names` (house id -> name, one
        map per answer: e.g. `Store.org_names()`); returns self."""
        for item in self.items:
            if item.org_id is not None:
                item.org_name = names.get(item.org_id, item.org_name)
        return self

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
