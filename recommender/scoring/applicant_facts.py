"""What is known of the applicant when a program is explained (`ApplicantFacts`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ApplicantFacts"]


@dataclass(frozen=True)
class ApplicantFacts:
    """What is known of the applicant; None means unknown (e.g. a free-text query).

    Attributes:
        stage: growth stage (constants.STAGES).
        province: province name.
        funding_ask: rial asked (0 = asks for no money).
        needs_residency: whether the team asks for a seat.
        sectors: declared sector slugs.
        name: the startup's name (a quote of the plan must say more than the name).
    """

    stage: str | None = None
    province: str | None = None
    funding_ask: int | None = None
    needs_residency: bool | None = None
    sectors: tuple[str, ...] = ()
    name: str | None = None
