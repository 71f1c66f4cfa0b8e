"""The main drawback of a recommended program, in one Persian sentence.

A recommendation can be the best there is and still have a catch the applicant must weigh.
At most one is shown: the most serious that holds, in this order (`DRAWBACK_ORDER`):

1. place: the program is in another province and does not accept remote participants —
   the team cannot take part at all without moving;
2. stage: the program does not accept teams at the applicant's stage — it would not admit
   them now;
3. seats: the team needs residency and the program has no seats, or none left — half of
   what they ask for is not there;
4. money: the funding ask lies outside the program's funding range (above its maximum,
   below its minimum, or the program funds nothing) — the ask can be changed, so it comes
   last.

A fact that is not known (None) never yields a drawback. Amounts are said the way people
say them (`format_rial_spoken`). A stored application's hard rules (`eligibility`) already
remove programs that cannot take it at all; free text has no such rules, so every drawback
can appear there.
"""

from __future__ import annotations

from collections.abc import Callable

from recommender.constants import STAGE_LABELS_FA
from recommender.eligibility import place_key
from recommender.schemas import Program
from recommender.scoring.applicant_facts import ApplicantFacts
from recommender.text.persian import format_rial_spoken

__all__ = ["DRAWBACK_ORDER", "drawback"]

DRAWBACK_ORDER: tuple[str, ...] = ("place", "stage", "seats", "money")


def _place(program: Program, facts: ApplicantFacts, open_seats: int) -> str | None:
    if not facts.province or not program.province or program.accepts_remote:
        return None
    if place_key(facts.province) == place_key(program.province):
        return None
    return (
        f"این برنامه در استان {program.province} است و حضور از راه دور را نمی‌پذیرد، "
        f"ولی تیم شما در {facts.province} است."
    )


def _stage(program: Program, facts: ApplicantFacts, open_seats: int) -> str | None:
    if facts.stage is None or not program.stages or facts.stage in program.stages:
        return None
    label = STAGE_LABELS_FA.get(facts.stage, facts.stage)
    accepted = "، ".join(f"«{STAGE_LABELS_FA.get(s, s)}»" for s in program.stages)
    return (
        f"این برنامه تیم‌های در مرحلهٔ «{label}» را نمی‌پذیرد "
        f"(مرحله‌های پذیرفته: {accepted})."
    )


def _seats(program: Program, facts: ApplicantFacts, open_seats: int) -> str | None:
    if facts.needs_residency is not True or open_seats > 0:
        return None
    if program.residency_seats <= 0:
        return "تیم شما به استقرار نیاز دارد، ولی این برنامه جای استقرار ندارد."
    return "تیم شما به استقرار نیاز دارد، ولی جای استقرار این برنامه پر شده است."


def _money(program: Program, facts: ApplicantFacts, open_seats: int) -> str | None:
    ask = facts.funding_ask
    if ask is None or ask <= 0:
        return None
    said = format_rial_spoken(ask)
    if program.funding_max <= 0:
        return f"این برنامه تأمین مالی نمی‌کند، ولی شما {said} سرمایه خواسته‌اید."
    if ask > program.funding_max:
        return (
            f"مبلغ درخواستی شما ({said}) از سقف تأمین مالی این برنامه "
            f"({format_rial_spoken(program.funding_max)}) بیشتر است."
        )
    if ask < program.funding_min:
        return (
            f"مبلغ درخواستی شما ({said}) از کمترین مبلغ تأمین مالی این برنامه "
            f"({format_rial_spoken(program.funding_min)}) کمتر است."
        )
    return None


_CHECKS: dict[str, Callable[[Program, ApplicantFacts, int], str | None]] = {
    "place": _place,
    "stage": _stage,
    "seats": _seats,
    "money": _money,
}


def drawback(
    program: Program, facts: ApplicantFacts, open_seats: int | None = None
) -> tuple[str, str] | None:
    """The most serious drawback of `program` for the applicant (see the module docstring).

    Args:
        program: the program.
        facts: what is known of the applicant.
        open_seats: its open residency seats (default: the program's seats).

    Returns:
        (kind, one Persian sentence), kind in `DRAWBACK_ORDER`; None when there is none.
    """
    seats = program.residency_seats if open_seats is None else int(open_seats)
    for kind in DRAWBACK_ORDER:
        text = _CHECKS[kind](program, facts, seats)
        if text:
            return kind, text
    return None
