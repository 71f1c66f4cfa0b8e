"""Who may see which rows: the one place where a caller's house scopes the store's queries.

A `Scope` says whose eyes a query is for:

- `Scope.everything()`: the CLI, background jobs, the admin and the network operator;
- `Scope.house(org_id)`: staff of one house;
- `Scope.owner(user_id)`: an applicant (their own applications only).

Each tenant table has one visibility rule here, as a SQLAlchemy expression the store adds to
every query it runs for that table (`Store.scoped(scope)`), and the same rule in SQL for the
PostgreSQL row-level-security policies (written out in SQL by migration 0004, the audit
log's and the referrals' replaced by 0005, the applications' by 0006, which also adds the
workflow's, 0007 the events', 0008 the job tasks'; a change of a rule here needs a migration
that replaces its policy). On PostgreSQL a scoped transaction also switches to the
`peyvand_tenant` role and sets `peyvand.org_id` / `peyvand.user_id`, so the database itself
hides other houses' rows even from a query that forgot the store's filter (a second wall;
SQLite relies on the store).

Rules (DESIGN.md):

- applications: a house sees those submitted to it, those referred to it while the
  referral is open or accepted (which needs the applicant's consent first), and those that
  applied to one of its programs (migration 0006); an applicant their own;
- intake rounds: a house its own; applicants every round (they choose one to apply to);
- outcomes: a house those at its programs; an applicant those of their applications;
- referrals: a house those it sent, and those sent to it once opened (consented: open,
  accepted, declined); an applicant those of their applications;
- audit entries and jobs (and the jobs' tasks): a house those its staff made; applicants
  none;
- applied programs: a house the applications to its programs; an applicant their own;
- shortlist entries and decisions: a house those at its programs; an applicant those of
  their applications;
- staff notes: a house those on the applications it reads; applicants none, ever;
- events and their participants (migration 0007): a house its own events; an applicant the
  participant rows linked to their applications, and the events those rows belong to.

Programs are read network-wide (matching searches every house's programs), but changed only
by their own house: `programs_writable` is the rule for creating, editing and deactivating
them (another house's program is a NotFoundError to a writer, like a missing one).
`programs_readable` is the rule for a program's own page (`Store.readable_program`): staff,
the network operator and admin every program, inactive ones too; an applicant what
suggestions show them (active programs) and the programs their own applications' records
name (applied to, shortlisted for, decided on, referred with), so a program that stopped
taking applications still opens from their timeline. Neither rule is a row-level-security
policy: the programs table has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from recommender.store.tables import (
    ApplicationOwnerRow,
    ApplicationRow,
    AppliedProgramRow,
    AuditLogRow,
    DecisionRow,
    EventParticipantRow,
    EventRow,
    IntakeRoundRow,
    JobRow,
    JobTaskRow,
    NoteRow,
    OutcomeRow,
    ProgramRow,
    ReferralRow,
    ShortlistRow,
)

#: Referral states in which the receiving house may read the application.
READABLE_REFERRAL_STATES: tuple[str, ...] = ("open", "accepted")
#: Referral states in which the receiving house sees the referral itself: those that were
#: opened to it (the applicant consented). A referral waiting for consent, or refused, stays
#: the referring house's and the applicant's (its note speaks about the application).
RECEIVED_REFERRAL_STATES: tuple[str, ...] = ("open", "accepted", "declined")
#: The PostgreSQL role a scoped transaction runs as (row-level security applies to it).
TENANT_ROLE = "peyvand_tenant"


@dataclass(frozen=True)
class Scope:
    """Whose eyes a query is for. Build with `everything()`, `house()` or `owner()`."""

    org_id: str | None = None
    user_id: int | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def house(cls, org_id: str) -> Scope:
        if not org_id:
            raise ValueError("a house scope needs an org_id")
        return cls(org_id=org_id)

    @classmethod
    def owner(cls, user_id: int) -> Scope:
        return cls(user_id=int(user_id))

    @property
    def is_everything(self) -> bool:
        return self.org_id is None and self.user_id is None

    @property
    def is_house(self) -> bool:
        return self.org_id is not None

    @property
    def is_owner(self) -> bool:
        return self.org_id is None and self.user_id is not None

    def pg_settings(self) -> dict[str, str]:
        """The `peyvand.*` settings the row-level-security policies read."""
        return {
            "peyvand.org_id": self.org_id or "",
            "peyvand.user_id": "" if self.user_id is None else str(self.user_id),
        }


EVERYTHING = Scope.everything()


def _owned(scope: Scope) -> sa.Select[Any]:
    return sa.select(ApplicationOwnerRow.application_id).where(
        ApplicationOwnerRow.user_id == scope.user_id
    )


def _referred_to(org_id: str) -> sa.Select[Any]:
    return sa.select(ReferralRow.application_id).where(
        ReferralRow.to_org == org_id, ReferralRow.status.in_(READABLE_REFERRAL_STATES)
    )


def _house_programs(org_id: str) -> sa.Select[Any]:
    return sa.select(ProgramRow.id).where(ProgramRow.org_id == org_id)


def _applied_to(org_id: str) -> sa.Select[Any]:
    return sa.select(AppliedProgramRow.application_id).where(
        AppliedProgramRow.program_id.in_(_house_programs(org_id))
    )


def applications_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return sa.or_(
            ApplicationRow.org_id == scope.org_id,
            ApplicationRow.id.in_(_referred_to(str(scope.org_id))),
            ApplicationRow.id.in_(_applied_to(str(scope.org_id))),
        )
    return ApplicationRow.id.in_(_owned(scope))


def applied_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return AppliedProgramRow.program_id.in_(_house_programs(str(scope.org_id)))
    return AppliedProgramRow.application_id.in_(_owned(scope))


def shortlist_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return ShortlistRow.org_id == scope.org_id
    return ShortlistRow.application_id.in_(_owned(scope))


def decisions_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return DecisionRow.org_id == scope.org_id
    return DecisionRow.application_id.in_(_owned(scope))


def notes_visible(scope: Scope) -> ColumnElement[bool]:
    """Private staff notes: staff of every house that reads the application; never its
    applicant."""
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return NoteRow.application_id.in_(
            sa.select(ApplicationRow.id).where(applications_visible(scope))
        )
    return sa.false()


def rounds_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_house:
        return IntakeRoundRow.org_id == scope.org_id
    return sa.true()


def outcomes_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return OutcomeRow.program_id.in_(
            sa.select(ProgramRow.id).where(ProgramRow.org_id == scope.org_id)
        )
    return OutcomeRow.application_id.in_(_owned(scope))


def referrals_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return sa.or_(
            ReferralRow.from_org == scope.org_id,
            sa.and_(
                ReferralRow.to_org == scope.org_id,
                ReferralRow.status.in_(RECEIVED_REFERRAL_STATES),
            ),
        )
    return ReferralRow.application_id.in_(_owned(scope))


def audit_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return AuditLogRow.org_id == scope.org_id
    return sa.false()


def events_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return EventRow.org_id == scope.org_id
    return EventRow.id.in_(
        sa.select(EventParticipantRow.event_id).where(
            EventParticipantRow.application_id.in_(_owned(scope))
        )
    )


def participants_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return EventParticipantRow.org_id == scope.org_id
    return EventParticipantRow.application_id.in_(_owned(scope))


def programs_writable(scope: Scope) -> ColumnElement[bool]:
    """The programs `scope` may change: staff their own house's; applicants none."""
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return ProgramRow.org_id == scope.org_id
    return sa.false()


def programs_readable(scope: Scope) -> ColumnElement[bool]:
    """The programs `scope` may open one by one: staff (and everyone above) all of them; an
    applicant the active ones and those their own applications' records name."""
    if not scope.is_owner:
        return sa.true()
    owned = _owned(scope)
    named: sa.CompoundSelect[Any] = sa.union(
        sa.select(AppliedProgramRow.program_id).where(AppliedProgramRow.application_id.in_(owned)),
        sa.select(ShortlistRow.program_id).where(ShortlistRow.application_id.in_(owned)),
        sa.select(DecisionRow.program_id).where(DecisionRow.application_id.in_(owned)),
        sa.select(OutcomeRow.program_id).where(OutcomeRow.application_id.in_(owned)),
        sa.select(ReferralRow.program_id).where(
            ReferralRow.application_id.in_(owned), ReferralRow.program_id.is_not(None)
        ),
    )
    return sa.or_(ProgramRow.active.is_(True), ProgramRow.id.in_(named))


def jobs_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return JobRow.org_id == scope.org_id
    return sa.false()


def job_tasks_visible(scope: Scope) -> ColumnElement[bool]:
    """A job's tasks: seen by whoever sees the job (the row repeats the job's house)."""
    if scope.is_everything:
        return sa.true()
    if scope.is_house:
        return JobTaskRow.org_id == scope.org_id
    return sa.false()


VISIBLE: dict[type[Any], Any] = {
    ApplicationRow: applications_visible,
    IntakeRoundRow: rounds_visible,
    OutcomeRow: outcomes_visible,
    ReferralRow: referrals_visible,
    AuditLogRow: audit_visible,
    JobRow: jobs_visible,
    JobTaskRow: job_tasks_visible,
    AppliedProgramRow: applied_visible,
    ShortlistRow: shortlist_visible,
    DecisionRow: decisions_visible,
    NoteRow: notes_visible,
    EventRow: events_visible,
    EventParticipantRow: participants_visible,
}


def visible(table: type[Any], scope: Scope) -> ColumnElement[bool]:
    """The rows of `table` that `scope` may see (every row of a table that is not a tenant's)."""
    rule = VISIBLE.get(table)
    return sa.true() if rule is None else rule(scope)
