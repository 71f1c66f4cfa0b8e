"""The hard eligibility rules of a program, in one place.

`eligibility(application, program)` says why an applicant cannot enter a program (one Persian
sentence) or None; the rounds, the pipeline and the ranking features use it. The conditions it
shares with retrieval's `ProgramFilter` (the program is active, accepts the stage, takes a
company that is not knowledge-based) are the `*_reason` functions below, which both call, so a
rule and its Persian sentence are written once. `place_key` is the one comparison form of a
province or city name.

May import: recommender.constants, recommender.schemas (nothing heavier: ranking and
retrieval both import this module).
"""

from __future__ import annotations

from recommender.constants import STAGE_LABELS_FA
from recommender.schemas import Application, Program

__all__ = [
    "eligibility",
    "inactive_reason",
    "NO_RESIDENCY_FA",
    "knowledge_based_reason",
    "offers_residency",
    "place_key",
    "stage_reason",
]

_KNOWLEDGE_BASED_ONLY_FA = "این برنامه فقط شرکت‌های دانش‌بنیان را می‌پذیرد"


#: What a person reads instead of a residency chance where a program has no seats.
NO_RESIDENCY_FA = "اقامت ندارد"


def offers_residency(program: Program) -> bool:
    """Whether a residency chance means anything for the program: it has seats at all (a
    program without seats shows «اقامت ندارد», never 0%)."""
    return program.residency_seats > 0


def place_key(name: str | None) -> str:
    """A province/city name reduced for comparison (Arabic letters, half-spaces, case)."""
    text = (name or "").replace("ي", "ی").replace("ك", "ک").replace("\u200c", " ")
    return " ".join(text.split()).casefold()


def inactive_reason(program: Program) -> str | None:
    """Why an inactive program takes nobody, or None when it is active."""
    return None if program.active else "این برنامه در حال حاضر فعال نیست."


def stage_reason(program: Program, stage: str) -> str | None:
    """Why `program` does not take startups at `stage`, or None when it does."""
    if stage in program.stages:
        return None
    label = STAGE_LABELS_FA.get(stage, stage)
    return f"این برنامه استارتاپ‌های مرحلهٔ «{label}» را نمی‌پذیرد."


def knowledge_based_reason(
    program: Program, knowledge_based: bool, *, applicant: bool = True
) -> str | None:
    """Why `program` does not take a company that is not knowledge-based, or None.

    Args:
        program: the program.
        knowledge_based: whether the company is knowledge-based.
        applicant: the sentence names the applicant (False: a search filter, no applicant).
    """
    if not program.requires_knowledge_based or knowledge_based:
        return None
    if applicant:
        return f"{_KNOWLEDGE_BASED_ONLY_FA} و متقاضی دانش‌بنیان نیست."
    return f"{_KNOWLEDGE_BASED_ONLY_FA}."


def eligibility(
    application: Application, program: Program, *, residency_only: bool = False
) -> str | None:
    """Hard rules: why `application` cannot enter `program`, or None when it can.

    Rules, in order: the program is inactive; it requires a knowledge-based company and the
    applicant is not one; it does not accept the applicant's stage; the program offers nothing
    the applicant asked for (needs residency but no seats and no funding); with
    `residency_only`, the applicant needs residency and the program has no seat.

    Args:
        application: the applicant.
        program: the program.
        residency_only: the caller looks for residency only (e.g. seat allocation).

    Returns:
        One Persian sentence, or None when eligible.
    """
    reason = (
        inactive_reason(program)
        or knowledge_based_reason(program, application.knowledge_based)
        or stage_reason(program, application.stage)
    )
    if reason is not None:
        return reason
    no_seats = program.residency_seats <= 0
    if application.needs_residency and no_seats:
        if residency_only:
            return "متقاضی به استقرار نیاز دارد ولی این برنامه ظرفیت استقرار ندارد."
        if program.funding_max <= 0:
            return "این برنامه نه ظرفیت استقرار دارد و نه تأمین مالی می‌کند."
    return None
