"""What the HTTP API takes in and gives out. Separate in/out models; handlers never return ORM
rows. Field limits mirror `recommender.schemas` (the data contracts), so what passes here also
passes there."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from recommender import schemas as contracts
from recommender.constants import (
    DEFAULT_TOP_K,
    MAX_PLAN_CHARS,
    PROGRAM_KINDS,
    REFERRAL_STATES,
    STAGES,
)
from recommender.retrieval.filters import ProgramFilter
from recommender.scoring.pipeline import Recommendation, RecommendationList
from recommender.store.tables import ROLES
from recommender.text.safe_text import strip_bidi_deep

from .accounts import USER_NAME_PATTERN

Stage = Literal[STAGES]  # type: ignore[valid-type]
Kind = Literal[PROGRAM_KINDS]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
ReferralStatus = Literal[REFERRAL_STATES]  # type: ignore[valid-type]
SectorSlug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
ShortText = Annotated[str, StringConstraints(max_length=100, strip_whitespace=True)]
PlanText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PLAN_CHARS)]
OrgIdIn = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(cls: type, data: Any) -> Any:
    if _has_nul(data):
        raise ValueError("text must not contain NUL (\\x00) characters")
    return strip_bidi_deep(data)  # bidi overrides removed, as in recommender.schemas


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields and NUL characters (which PostgreSQL cannot
    store in text) are refused with a 422."""

    model_config = ConfigDict(extra="forbid")

    _no_nul = model_validator(mode="before")(classmethod(_refuse_nul))


# --------------------------------------------------------------------------- matching
class MatchFilters(RequestBody):
    """Conditions on programs (all optional)."""

    provinces: list[ShortText] | None = Field(default=None, max_length=50)
    kinds: list[Kind] | None = Field(default=None, max_length=len(PROGRAM_KINDS))
    sectors: list[SectorSlug] | None = Field(default=None, max_length=50)
    stage: Stage | None = None
    min_open_seats: int | None = Field(default=None, ge=0, le=100_000)
    funding_ask: int | None = Field(default=None, ge=0, le=10**15)
    funding_min: int | None = Field(default=None, ge=0, le=10**15)
    funding_max: int | None = Field(default=None, ge=0, le=10**15)
    accepts_remote: bool | None = None
    knowledge_based: bool | None = None
    active_only: bool = True
    org_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="only this house's programs (default: the whole network)"
    )

    @model_validator(mode="after")
    def _range(self) -> MatchFilters:
        if (
            self.funding_min is not None
            and self.funding_max is not None
            and self.funding_min > self.funding_max
        ):
            raise ValueError("funding_min is larger than funding_max")
        return self

    def to_program_filter(self, program_ids: list[str] | None = None) -> ProgramFilter:
        funding_range = None
        if self.funding_min is not None or self.funding_max is not None:
            funding_range = (self.funding_min or 0, self.funding_max or 10**15)
        return ProgramFilter(
            provinces=self.provinces or None,
            kinds=self.kinds or None,
            sectors=self.sectors or None,
            stage=self.stage,
            active_only=self.active_only,
            min_open_seats=self.min_open_seats,
            funding_ask=self.funding_ask,
            funding_range=funding_range,
            accepts_remote=self.accepts_remote,
            knowledge_based=self.knowledge_based,
            program_ids=program_ids,
            org_id=self.org_id,
        )


class FactCorrections(RequestBody):
    """A person's corrections of the facts read from a free-text plan (`recommender.text.facts`):
    only the fields sent count; null means "the plan does not say"."""

    stage: Stage | None = None
    province: ShortText | None = None
    city: ShortText | None = None
    needs_residency: bool | None = None
    funding_ask: int | None = Field(default=None, ge=0, le=10**15)
    funding_kind: Literal["grant", "equity", "loan"] | None = None
    knowledge_based: bool | None = None
    team_size: int | None = Field(default=None, ge=1, le=100_000)
    sectors: list[SectorSlug] | None = Field(default=None, max_length=20)
    not_sectors: list[SectorSlug] | None = Field(default=None, max_length=20)

    def corrections(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class FactValue(BaseModel):
    """One fact read from a plan: its value (null: not stated) and how sure the reading is."""

    value: Any = None
    confidence: float = Field(ge=0, le=1)


class MatchRequest(RequestBody):
    """Free text or a stored application, with filters. Exactly one of text/application_id."""

    text: PlanText | None = None
    application_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    filters: MatchFilters = Field(default_factory=MatchFilters)
    top: int = Field(default=DEFAULT_TOP_K, ge=1, le=100)
    facts: FactCorrections | None = Field(
        default=None, description="corrections of the facts read from `text` (free text only)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> MatchRequest:
        if (self.text is None) == (self.application_id is None):
            raise ValueError("give exactly one of 'text' and 'application_id'")
        if self.text is not None and not self.text.strip():
            raise ValueError("the text is empty")
        if self.facts is not None and self.text is None:
            raise ValueError("'facts' corrects a free-text plan; a stored application has its own")
        return self


class RecommendationItem(BaseModel):
    """One ranked program, as `peyvand recommend --json` prints it. The probabilities and the
    expected funding are null while no ranker is trained (the unsupervised fallback);
    `p_residency` is also null for a program with no residency seats (`offers_residency`
    false: not applicable). Built from the library's `pipeline.Recommendation` (same field
    names)."""

    model_config = ConfigDict(from_attributes=True)

    program_id: str
    name: str
    score: float
    p_residency: float | None = Field(
        description="null without a trained model, or when offers_residency is false"
    )
    p_funding: float | None
    expected_funding: float | None = Field(description="rial")
    reasons: list[str] = Field(description="up to three Persian sentences")
    factors: dict[str, float] = Field(description="feature name -> contribution to the score")
    kind: str | None = None
    province: str | None = None
    rank: int | None = None
    dense_score: float | None = None
    lexical_score: float | None = None
    evidence_span: tuple[int, int] | None = None
    org_id: str | None = Field(default=None, description="the house that runs the program")
    org_name: str | None = Field(default=None, description="that house's name (Persian)")
    offers_residency: bool = Field(
        default=True, description="false: the program has no residency seats («اقامت ندارد»)"
    )
    drawback: str | None = Field(
        default=None, description="the main drawback for this applicant, one Persian sentence"
    )
    drawback_kind: str | None = Field(
        default=None, description="place | stage | seats | money (most serious first)"
    )
    fit_level: str | None = Field(default=None, description="very_good | good | fair | low")
    fit_label: str | None = Field(default=None, description="the fit in Persian words")

    @classmethod
    def from_recommendation(cls, item: Recommendation) -> RecommendationItem:
        """The item of one `pipeline.Recommendation`."""
        return cls.model_validate(item)


class MatchResponse(BaseModel):
    items: list[RecommendationItem]
    notes: list[str] = Field(default_factory=list, description="how the answer was made")
    empty_reason: str | None = Field(default=None, description="why no program fits (Persian)")
    ranker: str | None = Field(default=None, description="'model' or 'unsupervised'")
    model_version: str | None = None
    embedding_model: str | None = None
    facts: dict[str, FactValue] | None = Field(
        default=None,
        description="free text: the facts read from the plan (with corrections applied)",
    )

    @classmethod
    def from_result(cls, result: RecommendationList) -> MatchResponse:
        """The response of one `pipeline.RecommendationList` (its `excluded` programs are not
        part of the response)."""
        return cls(
            items=[RecommendationItem.from_recommendation(item) for item in result.items],
            notes=list(result.notes),
            empty_reason=result.empty_reason,
            ranker=result.ranker,
            model_version=result.model_version,
            embedding_model=result.embedding_model,
            facts=result.facts,
        )


class SuggestionsResponse(MatchResponse):
    application_id: str


# ------------------------------------------------------------------------ applications
class ApplicationCreate(RequestBody):
    """A business plan as an applicant submits it (the server picks the id)."""

    startup_name: Annotated[
        str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)
    ]
    business_plan: PlanText
    sectors: list[SectorSlug] = Field(default_factory=list, max_length=50)
    stage: Stage = "idea"
    province: ShortText = ""
    city: ShortText = ""
    team_size: int = Field(default=1, ge=1, le=100_000)
    funding_ask: int = Field(default=0, ge=0, le=10**15)
    needs_residency: bool = False
    knowledge_based: bool = False
    founded_year: int | None = Field(default=None, ge=1300, le=2100)
    round_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    org_id: contracts.OrgId = Field(
        default=None, description="the house it is submitted to (empty: the whole network)"
    )
    share_with_network: bool = Field(
        default=False, description="the applicant agrees to be referred to other houses"
    )

    @model_validator(mode="after")
    def _plan(self) -> ApplicationCreate:
        if not self.business_plan.strip():
            raise ValueError("the business plan is empty")
        if not self.startup_name:
            raise ValueError("the startup name is empty")
        return self

    def to_contract(self, application_id: str) -> contracts.Application:
        return contracts.Application(id=application_id, **self.model_dump())


class ApplicationUpdate(ApplicationCreate):
    """The whole application again (PUT replaces it). `org_id` and `share_with_network` left
    out (null) keep their stored values."""

    share_with_network: bool | None = None  # type: ignore[assignment]

    def to_contract(
        self, application_id: str, current: contracts.Application | None = None
    ) -> contracts.Application:
        data = self.model_dump()
        if data["share_with_network"] is None:
            data["share_with_network"] = current.share_with_network if current else False
        if data["org_id"] is None and current is not None:
            data["org_id"] = current.org_id
        return contracts.Application(id=application_id, **data)


class ApplicationCreated(BaseModel):
    id: str


class ApplicationPublic(BaseModel):
    id: str
    startup_name: str
    business_plan: str
    sectors: list[str]
    stage: str
    province: str
    city: str
    team_size: int
    funding_ask: int
    needs_residency: bool
    knowledge_based: bool
    founded_year: int | None
    round_id: str | None
    org_id: str | None = None
    share_with_network: bool = False

    @classmethod
    def of(cls, application: contracts.Application) -> ApplicationPublic:
        return cls.model_validate(application.model_dump())


class ApplicationSummary(BaseModel):
    """An application without its plan (lists)."""

    id: str
    startup_name: str
    stage: str
    province: str
    funding_ask: int
    needs_residency: bool
    round_id: str | None
    org_id: str | None = None
    status: str | None = None  # new | applied | shortlisted | decided (store.listing)
    created_at: dt.datetime | None = None
    last_decided_on: dt.date | None = None

    @classmethod
    def of(cls, application: Any) -> ApplicationSummary:
        """From an application or a listing summary (the fields they share)."""
        data = application.model_dump(include=set(cls.model_fields))
        return cls.model_validate(data)


# ------------------------------------------------------------------------------ programs
class ProgramCreate(contracts.Program):
    """A new program (the data contract)."""

    _no_nul = model_validator(mode="before")(classmethod(_refuse_nul))


class ProgramPublic(contracts.Program):
    """A stored program."""


class ProgramPatch(RequestBody):
    """Fields to change; missing fields keep their stored value."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    kind: Kind | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] | None = None
    sectors: list[SectorSlug] | None = Field(default=None, max_length=50)
    stages: list[Stage] | None = None
    province: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    city: Annotated[str, StringConstraints(max_length=100)] | None = None
    residency_seats: int | None = Field(default=None, ge=0, le=100_000)
    funding_min: int | None = Field(default=None, ge=0, le=10**15)
    funding_max: int | None = Field(default=None, ge=0, le=10**15)
    equity_percent: float | None = Field(default=None, ge=0, le=100)
    requires_knowledge_based: bool | None = None
    accepts_remote: bool | None = None
    active: bool | None = None


# ------------------------------------------------------------------------------- imports
class RowProblem(BaseModel):
    row: int
    field: str
    message: str


class ImportResult(BaseModel):
    kind: str
    created: int
    updated: int
    skipped: list[RowProblem] = Field(default_factory=list)
    # Imported applications: the job embedding their plans in the background.
    embed_job_id: str | None = None


# -------------------------------------------------------------------------------- rounds
class RoundProgramIn(RequestBody):
    program_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    seats: int | None = Field(default=None, ge=0, le=100_000)
    budget: int | None = Field(default=None, ge=0, le=10**15)


class RoundCreate(RequestBody):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.-]+$")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    opens_on: dt.date
    closes_on: dt.date
    programs: list[RoundProgramIn] = Field(default_factory=list, max_length=5000)
    org_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="the house that runs the round: staff's own (may be left out); admin "
        "and the network operator name it when there are several",
    )

    @model_validator(mode="after")
    def _dates(self) -> RoundCreate:
        if self.closes_on < self.opens_on:
            raise ValueError("closes_on is before opens_on")
        ids = [p.program_id for p in self.programs]
        if len(ids) != len(set(ids)):
            raise ValueError("a program appears more than once")
        return self


class RoundProgramsIn(RequestBody):
    """Programs to attach (or update) with optional seat and budget overrides."""

    programs: list[RoundProgramIn] = Field(min_length=1, max_length=5000)
    replace: bool = False


class RoundPublic(BaseModel):
    id: str
    name: str
    opens_on: dt.date
    closes_on: dt.date
    programs: list[RoundProgramIn]
    n_applications: int | None = None
    org_id: str | None = None


class RoundScoreRequest(RequestBody):
    """How to score a round (passed to the `round_score` job as its params)."""

    top: int = Field(default=DEFAULT_TOP_K, ge=1, le=1000, description="shortlist length")
    allocate: bool = Field(default=False, description="also allocate seats and budgets")
    time_limit_s: float = Field(default=30.0, gt=0, le=600, description="allocation solver")
    what_if: Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")] | None = (
        Field(default=None, description="e.g. 'P-12:seats=5;P-3:seats=0' (implies allocate)")
    )


# ---------------------------------------------------------------------------------- jobs
class JobFile(BaseModel):
    name: str
    url: str


class JobPublic(BaseModel):
    id: str
    kind: str
    subject: str | None
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    message: str
    error: str | None
    result: dict[str, Any] | None
    files: list[JobFile]
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    workers: list[str] = Field(
        default_factory=list,
        description="The worker processes (host:pid:id) that ran the job's tasks.",
    )


class JobCreated(BaseModel):
    job_id: str
    status_url: str


class SelftestRequest(RequestBody):
    steps: int = Field(default=3, ge=1, le=20)
    delay: float = Field(default=0.0, ge=0, le=0.1, description="seconds per step")
    fail: bool = False


# ------------------------------------------------------------------------------ outcomes
class OutcomesIn(RequestBody):
    outcomes: list[contracts.Outcome] = Field(min_length=1, max_length=10_000)


class Counts(BaseModel):
    created: int
    updated: int


# --------------------------------------------------------------------------------- users
class UserCreate(RequestBody):
    name: Annotated[str, StringConstraints(pattern=USER_NAME_PATTERN)]
    role: Role
    password: Annotated[str, StringConstraints(min_length=8, max_length=1000)] | None = None
    org_id: OrgIdIn | None = Field(
        default=None, description="The house of a staff account (GET /v1/orgs); none for others."
    )


class UserPublic(BaseModel):
    id: int
    name: str
    role: str
    active: bool
    has_password: bool
    created_at: dt.datetime
    org_id: str | None = Field(default=None, description="The house of a staff account.")


class UserCreated(BaseModel):
    user: UserPublic
    token: str = Field(description="Shown once; only its hash is stored.")


class UserPatch(RequestBody):
    active: bool | None = None
    password: Annotated[str, StringConstraints(min_length=8, max_length=1000)] | None = None
    org_id: OrgIdIn | None = Field(
        default=None, description="Move a staff account to this house (GET /v1/orgs)."
    )


class TokenCreated(BaseModel):
    token: str


# ---------------------------------------------------------------------------------- orgs
class OrgPublic(BaseModel):
    """A house of the network (`GET /v1/orgs`)."""

    id: str
    name: str
    kind: str
    province: str
    city: str
    active: bool


# -------------------------------------------------------------------------------- health
class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str]


# ----------------------------------------------------------------------------- referrals
class ReferralCreate(RequestBody):
    """Refer an application to another house (optionally to one of its programs)."""

    to_org: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    program_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class ReferralPublic(BaseModel):
    """A referral (DESIGN.md, Referral)."""

    id: str
    application_id: str
    from_org: str | None
    to_org: str
    program_id: str | None
    note: str
    status: ReferralStatus
    created_by: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def of(cls, referral: contracts.Referral) -> ReferralPublic:
        return cls.model_validate(referral.model_dump())


# -------------------------------------------------------------------------------- models
class TrainRequest(RequestBody):
    """`POST /v1/models/train`: the `train` job's parameters (api/train_jobs.py)."""

    holdout_rounds: int = Field(default=2, ge=1, le=8)
    estimator: Literal["auto", "hgb", "logistic"] = "auto"
    min_outcomes: int | None = Field(
        default=None, ge=0, le=1_000_000,
        description="fewest training outcomes to go live (default: the measured threshold)",
    )


class ModelVersion(BaseModel):
    """One registered ranker version (`peyvand models list --json` has the same fields)."""

    version: str
    live: bool
    created_at: str
    trained_on_outcomes: int | None = None
    held_out_outcomes: int | None = None
    train_rounds: list[str] = []
    test_rounds: list[str] = []
    metrics: dict[str, Any] = {}
    compared_with: str | None = None
    decision: str | None = None
    embedding_model_id: str | None = None
