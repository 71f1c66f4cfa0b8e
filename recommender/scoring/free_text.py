"""Free text (no stored application): what stands in for the applicant's facts, and how the
facts a plan states about itself weigh on each candidate.

The filters come first (what staff asked for), then the facts read from the plan with at least
`FACT_MIN_CONFIDENCE` (or corrected by a person). Facts not known get the benefit of the doubt
in the features (`assume_unknown_facts`); the stated ones scale the shown score down where they
do not suit a program (`fact_terms`, used by `ranking.compose_scores`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recommender.retrieval.filters import ProgramFilter
from recommender.schemas import Application, Program
from recommender.scoring.applicant_facts import ApplicantFacts
from recommender.text.facts import PlanFacts

__all__ = ["FACT_MIN_CONFIDENCE", "applicant_subject", "assume_unknown_facts", "fact_terms"]

#: Facts read from a free-text plan with less confidence than this are treated as unknown.
FACT_MIN_CONFIDENCE = 0.5


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


def applicant_subject(
    plan_text: str,
    application: Application | None,
    filters: ProgramFilter | None,
    plan_facts: PlanFacts | None,
) -> tuple[ApplicantFacts, Application]:
    """What is known of the applicant, and the application the features are built for.

    A stored application is its own subject. Free text: the filters first (what staff asked
    for), then the facts read from the plan with at least `FACT_MIN_CONFIDENCE` (or corrected
    by a person).
    """
    if application is not None:
        stored = ApplicantFacts(
            stage=application.stage,
            province=application.province or None,
            funding_ask=application.funding_ask,
            needs_residency=application.needs_residency,
            sectors=tuple(application.sectors),
            name=application.startup_name or None,
        )
        return stored, application
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
        business_plan=plan_text,
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


def assume_unknown_facts(
    X: np.ndarray,
    columns: Mapping[str, int],
    facts: ApplicantFacts,
    filters: ProgramFilter | None,
    plan_facts: PlanFacts | None,
) -> None:
    """Free text: give unknown applicant facts the benefit of the doubt (in place).

    Facts read from the plan (or given by filters) stay as the features computed them;
    `eligible` is recomputed from the adjusted columns.
    """
    col = columns
    kb_known = bool(filters is not None and filters.knowledge_based) or (
        plan_facts is not None
        and plan_facts.value("knowledge_based", FACT_MIN_CONFIDENCE) is not None
    )

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


def fact_terms(
    facts: ApplicantFacts, plan_facts: PlanFacts | None, programs: Sequence[Program]
) -> dict[str, tuple[np.ndarray, float]]:
    """How well each candidate program fits the facts a free-text plan states: name ->
    (values in [0, 1] per candidate, weight = the fact's confidence)."""
    if plan_facts is None:
        return {}
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
