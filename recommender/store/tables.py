"""Every table of Peyvand, on one declarative `Base`: the store's records (organizations,
programs, applications, intake rounds and their programs, outcomes, referrals, audit log),
the decision workflow (applied programs, shortlists, staff notes, every decision), events and
their participants,
a round's scores and scoring runs, and the service's accounts, tokens, web sessions,
application owners and jobs.

One Alembic chain (`recommender/store/migrations/`) creates them all; its env imports this
module, so autogenerate sees every table. Callers outside `recommender.store` and `api/`
get `recommender.schemas` objects, never these rows. Secrets are never stored: tokens and
session ids as sha256 hex, passwords as argon2 hashes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, overload

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (what every timestamp column stores)."""
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp as aware UTC: SQLite gives datetimes back naive, and everything
    stored is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table; later migrations add their models to this metadata."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class _Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # Changes only when the content changes (so "embed what changed since" can use it).
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class OrganizationRow(_Timestamps, Base):
    """A house of the network (creative house, innovation center, fund...)."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(32))
    province: Mapped[str] = mapped_column(sa.String(100))
    city: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(sa.Boolean)


def _org_column(nullable: bool = True) -> Mapped[Any]:
    return mapped_column(
        sa.String(64), sa.ForeignKey("organizations.id"), nullable=nullable, index=True
    )


class ProgramRow(_Timestamps, Base):
    __tablename__ = "programs"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    description: Mapped[str] = mapped_column(sa.Text)
    sectors: Mapped[list[str]] = mapped_column(JSONType)
    stages: Mapped[list[str]] = mapped_column(JSONType)
    province: Mapped[str] = mapped_column(sa.String(100))
    city: Mapped[str] = mapped_column(sa.String(100))
    residency_seats: Mapped[int] = mapped_column(sa.Integer)
    funding_min: Mapped[int] = mapped_column(sa.BigInteger)
    funding_max: Mapped[int] = mapped_column(sa.BigInteger)
    equity_percent: Mapped[float | None] = mapped_column(sa.Float)
    requires_knowledge_based: Mapped[bool] = mapped_column(sa.Boolean)
    accepts_remote: Mapped[bool] = mapped_column(sa.Boolean)
    active: Mapped[bool] = mapped_column(sa.Boolean, index=True)
    org_id: Mapped[str | None] = _org_column()


class ApplicationRow(_Timestamps, Base):
    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    startup_name: Mapped[str] = mapped_column(sa.String(300))
    business_plan: Mapped[str] = mapped_column(sa.Text)
    sectors: Mapped[list[str]] = mapped_column(JSONType)
    stage: Mapped[str] = mapped_column(sa.String(32))
    province: Mapped[str] = mapped_column(sa.String(100))
    city: Mapped[str] = mapped_column(sa.String(100))
    team_size: Mapped[int] = mapped_column(sa.Integer)
    funding_ask: Mapped[int] = mapped_column(sa.BigInteger)
    needs_residency: Mapped[bool] = mapped_column(sa.Boolean)
    knowledge_based: Mapped[bool] = mapped_column(sa.Boolean)
    founded_year: Mapped[int | None] = mapped_column(sa.Integer)
    round_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # The house it was submitted to; None = the whole network (only admin/network see it).
    org_id: Mapped[str | None] = _org_column()
    share_with_network: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class IntakeRoundRow(_Timestamps, Base):
    __tablename__ = "intake_rounds"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    opens_on: Mapped[dt.date] = mapped_column(sa.Date)
    closes_on: Mapped[dt.date] = mapped_column(sa.Date)
    org_id: Mapped[str | None] = _org_column()
    programs: Mapped[list[RoundProgramRow]] = relationship(
        back_populates="round",
        cascade="all, delete-orphan",
        order_by="RoundProgramRow.position",
    )


class RoundProgramRow(Base):
    """A program taking part in a round, with optional seat/budget overrides."""

    __tablename__ = "round_programs"

    round_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("intake_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    program_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("programs.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    seats: Mapped[int | None] = mapped_column(sa.Integer)
    budget: Mapped[int | None] = mapped_column(sa.BigInteger)
    round: Mapped[IntakeRoundRow] = relationship(back_populates="programs")


class OutcomeRow(Base):
    __tablename__ = "outcomes"
    __table_args__ = (sa.UniqueConstraint("application_id", "program_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("applications.id"), index=True
    )
    program_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("programs.id"), index=True)
    round_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    residency_granted: Mapped[bool] = mapped_column(sa.Boolean)
    funded_amount: Mapped[int] = mapped_column(sa.BigInteger)
    decided_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # Set when decided in the product (the decisions table keeps every one; migration 0006).
    decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class AuditLogRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(100))
    target_kind: Mapped[str] = mapped_column(sa.String(50), index=True)
    target_id: Mapped[str] = mapped_column(sa.String(300))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The house of the actor (None: admin, network operator, CLI); staff read their house's.
    org_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)


class ReferralRow(_Timestamps, Base):
    """One house (or the network) suggesting that another house takes an application."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    from_org: Mapped[str | None] = mapped_column(sa.String(64), sa.ForeignKey("organizations.id"))
    to_org: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("organizations.id"), index=True
    )
    program_id: Mapped[str | None] = mapped_column(sa.String(64), sa.ForeignKey("programs.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    created_by: Mapped[str] = mapped_column(sa.String(200), default="")


# --------------------------------------------------------------------------- the workflow


class AppliedProgramRow(Base):
    """An application applied to a program (by its applicant), into the program's open round
    when there was one. The program's house may then read the application (tenancy)."""

    __tablename__ = "applied_programs"

    application_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    program_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("programs.id"), primary_key=True, index=True
    )
    round_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    applied_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class ShortlistRow(Base):
    """An application on the shortlist of one program (kept by the program's house)."""

    __tablename__ = "shortlist_entries"

    application_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    program_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("programs.id"), primary_key=True, index=True
    )
    # The program's house (its staff keep the shortlist).
    org_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    added_by: Mapped[str] = mapped_column(sa.String(200), default="")
    added_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class NoteRow(Base):
    """A private staff note on an application (never shown to the applicant)."""

    __tablename__ = "application_notes"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    # The author's house (None: the network operator or admin).
    org_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    author: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class DecisionRow(Base):
    """Every decision on (application, program), corrections included; the outcome holds the
    latest one."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    program_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("programs.id"), index=True)
    round_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # The program's house.
    org_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    residency_granted: Mapped[bool] = mapped_column(sa.Boolean)
    funded_amount: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # Whether the application had applied to the program (staff may decide without it).
    applied: Mapped[bool] = mapped_column(sa.Boolean)
    decided_by: Mapped[str] = mapped_column(sa.String(200))
    decided_on: Mapped[dt.date] = mapped_column(sa.Date)
    decided_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


# --------------------------------------------------------------------------- events


class EventRow(_Timestamps, Base):
    """An event of one house (demo day, investor day...): its slots, tables and limits."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    org_id: Mapped[str] = _org_column(nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date)
    # [{"id", "start": "HH:MM", "end": "HH:MM"}, ...] in order
    slots: Mapped[list[dict[str, str]]] = mapped_column(JSONType)
    tables: Mapped[int] = mapped_column(sa.Integer)
    max_meetings_per_participant: Mapped[int] = mapped_column(sa.Integer)


class EventParticipantRow(Base):
    """A participant of one event (its id is unique within the event)."""

    __tablename__ = "event_participants"

    event_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    # The event's house, repeated here so that the row-level-security policies of the two
    # tables need not read each other (PostgreSQL refuses policies that recurse).
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(300))
    profile: Mapped[str] = mapped_column(sa.Text)
    application_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    program_id: Mapped[str | None] = mapped_column(sa.String(64))
    availability: Mapped[list[str]] = mapped_column(JSONType)
    requests: Mapped[list[str]] = mapped_column(JSONType)


# --------------------------------------------------------------------------- a round's scores


class RoundScoreRow(Base):
    """The score of one (application, program) pair of one round."""

    __tablename__ = "round_scores"

    round_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    program_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    score: Mapped[float] = mapped_column(sa.Float)
    p_residency: Mapped[float | None] = mapped_column(sa.Float)
    p_funding: Mapped[float | None] = mapped_column(sa.Float)
    expected_funding: Mapped[float | None] = mapped_column(sa.Float)
    eligible: Mapped[bool] = mapped_column(sa.Boolean)
    model_version: Mapped[str] = mapped_column(sa.String(200))
    data_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    scored_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class RoundRunRow(Base):
    """One scoring run of a round: its status and progress (applications done of total)."""

    __tablename__ = "round_runs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    model_version: Mapped[str] = mapped_column(sa.String(200))
    data_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    n_total: Mapped[int] = mapped_column(sa.Integer)
    n_done: Mapped[int] = mapped_column(sa.Integer)
    n_reused: Mapped[int] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    started_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


# --------------------------------------------------------------------------- the service


ROLES: tuple[str, ...] = ("admin", "network", "staff", "applicant")
JOB_STATES: tuple[str, ...] = ("queued", "running", "succeeded", "failed")


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    # Staff belong to one house; admin, network operator and applicants to none.
    org_id: Mapped[str | None] = _org_column()
    # argon2 hash; None = the account signs in with API tokens only.
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, index=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class WebSessionRow(Base):
    """A signed-in browser. The cookie holds the random id; the table holds its sha256."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class ApplicationOwnerRow(Base):
    """Which applicant account submitted an application (imported ones have no owner)."""

    __tablename__ = "application_owners"

    application_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class JobRow(Base):
    """A background job (round scoring, ...). Its state lives here, not in the process."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(50))
    # What the job is about, e.g. "rounds/R1" (to list a round's jobs).
    subject: Mapped[str | None] = mapped_column(sa.String(300), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    # The house whose staff started it (None: admin, network operator, CLI).
    org_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class JobTaskRow(Base):
    """One task of a job run by queue workers (`api.job_tasks`): the job's start, each chunk
    of a round's applications, its finish. A task is claimed by one worker at a time; a
    worker that stops beating loses it to the next worker its message is re-delivered to.
    `workers` lists every worker process that took the task (space-separated)."""

    __tablename__ = "job_tasks"

    job_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    task: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    workers: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The job's house (row-level security reads it without a look into `jobs`).
    org_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class DocumentVectorRow(Base):
    """The embeddings of one text (a plan, a program's description) for one model and role,
    shared by every process of a service on PostgreSQL (`recommender.embedding.vector_cache`;
    a SQLite home keeps them in its own file instead). Keyed by the text's SHA-256: the text
    is never stored. No house column and no rights for the tenant role: only the service's
    own connection reads it, never a query made for a house."""

    __tablename__ = "document_vectors"

    model_id: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    dim: Mapped[int] = mapped_column(sa.Integer)
    n_chunks: Mapped[int] = mapped_column(sa.Integer)
    n_tokens: Mapped[int] = mapped_column(sa.Integer)
    chunks: Mapped[bytes] = mapped_column(sa.LargeBinary)
    pooled: Mapped[bytes] = mapped_column(sa.LargeBinary)
    spans: Mapped[str] = mapped_column(sa.Text)
    chunk_tokens: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[float] = mapped_column(sa.Float)
