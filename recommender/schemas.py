"""The data contracts of DESIGN.md as pydantic models: what every import, export, store row
and API body agrees on. Validation messages are plain words, shown to the person who
sent the file.

Money is in rial (int). Lists (sectors, stages) accept a JSON list or a ';'-separated string
(the CSV/XLSX form).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from recommender.constants import MAX_PLAN_CHARS, ORG_KINDS, PROGRAM_KINDS, REFERRAL_STATES, STAGES
from recommender.text.safe_text import strip_bidi_deep

_TRUE = {"true", "1", "yes", "y", "t", "بله", "آری", "دارد"}
_FALSE = {"false", "0", "no", "n", "f", "خیر", "نه", "ندارد", ""}


def _split_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            try:
                return json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                raise ValueError("is not a valid JSON list") from None
        return [part.strip() for part in text.replace("،", ";").split(";") if part.strip()]
    return value


def _parse_bool(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"'{value}' is not yes/no (use true or false)")
    return value


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float) and value != value:  # NaN from spreadsheets
        return None
    return value


StrList = Annotated[list[str], BeforeValidator(_split_list)]
Bool = Annotated[bool, BeforeValidator(_parse_bool)]
_SLUG = r"^[a-z][a-z0-9_]*$"
_ORG_ID = r"^[a-z0-9][a-z0-9_-]*$"
OrgId = Annotated[
    Annotated[str, StringConstraints(max_length=64, pattern=_ORG_ID)] | None,
    BeforeValidator(_empty_to_none),
]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bidi_controls(cls, data: Any) -> Any:
        # Bidi overrides make a name show as other text; every import, API body and web form
        # passes through here (see recommender.text.safe_text).
        return strip_bidi_deep(data)


class Program(_Contract):
    """A program that hosts (residency seats) and/or funds startups."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    kind: str
    description: str = Field(min_length=1, max_length=20_000)
    sectors: StrList = Field(default_factory=list)
    stages: StrList = Field(default_factory=lambda: list(STAGES))
    province: str = Field(min_length=1, max_length=100)
    city: str = Field(default="", max_length=100)
    residency_seats: int = Field(default=0, ge=0, le=100_000)
    funding_min: int = Field(default=0, ge=0)
    funding_max: int = Field(default=0, ge=0)
    equity_percent: Annotated[float | None, BeforeValidator(_empty_to_none)] = Field(
        default=None, ge=0, le=100
    )
    requires_knowledge_based: Bool = False
    accepts_remote: Bool = False
    active: Bool = True
    # The house that runs it; empty in a single-house install's files (the store fills it).
    org_id: OrgId = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return (
            str(int(value))
            if isinstance(value, float) and value.is_integer()
            else (str(value) if isinstance(value, int) else value)
        )

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in PROGRAM_KINDS:
            raise ValueError(f"unknown kind '{value}'; use one of: {', '.join(PROGRAM_KINDS)}")
        return value

    @field_validator("stages")
    @classmethod
    def _stages(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if s not in STAGES]
        if bad:
            raise ValueError(f"unknown stage(s) {bad}; use: {', '.join(STAGES)}")
        return value

    @field_validator("sectors")
    @classmethod
    def _sectors(cls, value: list[str]) -> list[str]:
        import re

        bad = [s for s in value if not re.match(_SLUG, s)]
        if bad:
            raise ValueError(f"sector slugs must be lowercase latin words, got {bad}")
        return value

    @model_validator(mode="after")
    def _money(self) -> Program:
        if self.funding_min > self.funding_max:
            raise ValueError(
                f"funding_min ({self.funding_min}) is larger than funding_max ({self.funding_max})"
            )
        return self


class Application(_Contract):
    """A startup's request, with its business plan (confidential: never logged)."""

    id: str = Field(min_length=1, max_length=64)
    startup_name: str = Field(min_length=1, max_length=300)
    business_plan: str = Field(max_length=MAX_PLAN_CHARS)
    sectors: StrList = Field(default_factory=list)
    stage: str = "idea"
    province: str = Field(default="", max_length=100)
    city: str = Field(default="", max_length=100)
    team_size: int = Field(default=1, ge=1, le=100_000)
    funding_ask: int = Field(default=0, ge=0)
    needs_residency: Bool = False
    knowledge_based: Bool = False
    founded_year: Annotated[int | None, BeforeValidator(_empty_to_none)] = Field(
        default=None, ge=1300, le=2100
    )
    round_id: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    # The house it was submitted to (empty = the whole network) and the applicant's consent
    # to be referred to other houses.
    org_id: OrgId = None
    share_with_network: Bool = False

    _id_text = field_validator("id", mode="before")(Program._id_text.__func__)  # type: ignore[attr-defined]

    @field_validator("business_plan")
    @classmethod
    def _plan(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the business plan is empty")
        return value

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        if value not in STAGES:
            raise ValueError(f"unknown stage '{value}'; use one of: {', '.join(STAGES)}")
        return value

    @field_validator("sectors")
    @classmethod
    def _sectors(cls, value: list[str]) -> list[str]:
        return Program._sectors(value)


class RoundProgram(_Contract):
    """A program taking part in a round, with optional seat and budget overrides."""

    program_id: str = Field(min_length=1)
    seats: Annotated[int | None, BeforeValidator(_empty_to_none)] = Field(default=None, ge=0)
    budget: Annotated[int | None, BeforeValidator(_empty_to_none)] = Field(default=None, ge=0)


class IntakeRound(_Contract):
    """An intake round: a window of applications scored and allocated together."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    opens_on: dt.date
    closes_on: dt.date
    program_ids: StrList = Field(default_factory=list)
    programs: list[RoundProgram] = Field(default_factory=list)
    # The house that runs the round (its programs are that house's).
    org_id: OrgId = None

    @model_validator(mode="after")
    def _dates(self) -> IntakeRound:
        if self.closes_on < self.opens_on:
            raise ValueError("closes_on is before opens_on")
        known = {p.program_id for p in self.programs}
        self.programs.extend(RoundProgram(program_id=p) for p in self.program_ids if p not in known)
        self.program_ids = [p.program_id for p in self.programs]
        return self


class Outcome(_Contract):
    """What happened to one application at one program (history and feedback)."""

    application_id: str = Field(min_length=1)
    program_id: str = Field(min_length=1)
    round_id: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    residency_granted: Bool = False
    funded_amount: int = Field(default=0, ge=0)
    decided_on: Annotated[dt.date | None, BeforeValidator(_empty_to_none)] = None
    # Recorded in the product (a decision, recommender.workflow): who decided, and why.
    decided_by: Annotated[str | None, BeforeValidator(_empty_to_none)] = Field(
        default=None, max_length=200
    )
    note: str = Field(default="", max_length=2000)


class Organization(_Contract):
    """A creative house, innovation center or other operator of programs and rounds."""

    id: str = Field(min_length=1, max_length=64, pattern=_ORG_ID)
    name: str = Field(min_length=1, max_length=300)
    kind: str = "creative_house"
    province: str = Field(default="", max_length=100)
    city: str = Field(default="", max_length=100)
    active: Bool = True

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in ORG_KINDS:
            raise ValueError(f"unknown kind '{value}'; use one of: {', '.join(ORG_KINDS)}")
        return value


class Referral(_Contract):
    """A suggestion by one house (or the network) that another house takes an application."""

    id: str = Field(min_length=1, max_length=64)
    application_id: str = Field(min_length=1, max_length=64)
    from_org: str | None = Field(default=None, max_length=64)
    to_org: str = Field(min_length=1, max_length=64)
    program_id: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    note: str = Field(default="", max_length=2000)
    status: str = "pending_consent"
    created_by: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in REFERRAL_STATES:
            raise ValueError(f"unknown status '{value}'; use one of: {', '.join(REFERRAL_STATES)}")
        return value
