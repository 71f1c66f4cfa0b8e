"""The decision workflow's records (a part of `Store`): programs an application applied to,
shortlist entries, private staff notes and every decision.

Every read keeps to what the store's scope may see (`tenancy.visible`); the rules of who may
write what, and the checks of the figures, are `recommender.workflow`'s. Records leave the
store as the frozen dataclasses below, never as rows.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recommender.errors import NotFoundError
from recommender.store.tables import (
    ApplicationRow,
    AppliedProgramRow,
    DecisionRow,
    NoteRow,
    OutcomeRow,
    ProgramRow,
    ShortlistRow,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from recommender.store.tenancy import Scope


@dataclass(frozen=True)
class AppliedProgram:
    application_id: str
    program_id: str
    round_id: str | None
    applied_at: dt.datetime


@dataclass(frozen=True)
class ShortlistEntry:
    application_id: str
    program_id: str
    org_id: str | None
    added_by: str
    added_at: dt.datetime


@dataclass(frozen=True)
class Note:
    id: int
    application_id: str
    org_id: str | None
    author: str
    body: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Decision:
    id: int
    application_id: str
    program_id: str
    round_id: str | None
    org_id: str | None
    residency_granted: bool
    funded_amount: int
    note: str
    applied: bool
    decided_by: str
    decided_on: dt.date
    decided_at: dt.datetime


def _applied(row: AppliedProgramRow) -> AppliedProgram:
    return AppliedProgram(row.application_id, row.program_id, row.round_id, as_utc(row.applied_at))


def _entry(row: ShortlistRow) -> ShortlistEntry:
    return ShortlistEntry(
        row.application_id, row.program_id, row.org_id, row.added_by, as_utc(row.added_at)
    )


def _note(row: NoteRow) -> Note:
    return Note(
        row.id, row.application_id, row.org_id, row.author, row.body, as_utc(row.created_at)
    )


def _decision(row: DecisionRow) -> Decision:
    return Decision(
        id=row.id,
        application_id=row.application_id,
        program_id=row.program_id,
        round_id=row.round_id,
        org_id=row.org_id,
        residency_granted=row.residency_granted,
        funded_amount=row.funded_amount,
        note=row.note,
        applied=row.applied,
        decided_by=row.decided_by,
        decided_on=row.decided_on,
        decided_at=as_utc(row.decided_at),
    )


class WorkflowRecords:
    """Applied programs, shortlists, notes and decisions (a part of `Store`)."""

    if TYPE_CHECKING:
        scope: Scope

        def _use(self, session: Session | None) -> AbstractContextManager[Session]: ...
        def where_visible(self, table: type[Any]) -> Any: ...

    # -------------------------------------------------------------- applying
    def application_submitted_at(
        self, application_id: str, *, session: Session | None = None
    ) -> dt.datetime:
        """When the application was first stored. Raises: NotFoundError."""
        with self._use(session) as s:
            at = s.scalar(
                sa.select(ApplicationRow.created_at).where(
                    ApplicationRow.id == application_id, self.where_visible(ApplicationRow)
                )
            )
            if at is None:
                raise NotFoundError(f"no application with id '{application_id}'")
            return as_utc(at)

    def get_applied(
        self, application_id: str, program_id: str, *, session: Session | None = None
    ) -> AppliedProgram | None:
        with self._use(session) as s:
            row = s.scalars(
                sa.select(AppliedProgramRow).where(
                    AppliedProgramRow.application_id == application_id,
                    AppliedProgramRow.program_id == program_id,
                    self.where_visible(AppliedProgramRow),
                )
            ).first()
            return None if row is None else _applied(row)

    def add_applied(
        self,
        application_id: str,
        program_id: str,
        round_id: str | None,
        *,
        session: Session | None = None,
    ) -> AppliedProgram:
        """Record an application to a program (the caller has checked it may)."""
        row = AppliedProgramRow(
            application_id=application_id,
            program_id=program_id,
            round_id=round_id,
            applied_at=utcnow(),
        )
        with self._use(session) as s:
            s.add(row)
            s.flush()
            return _applied(row)

    def list_applied(
        self, application_id: str, *, session: Session | None = None
    ) -> list[AppliedProgram]:
        query = (
            sa.select(AppliedProgramRow)
            .where(
                AppliedProgramRow.application_id == application_id,
                self.where_visible(AppliedProgramRow),
            )
            .order_by(AppliedProgramRow.applied_at, AppliedProgramRow.program_id)
        )
        with self._use(session) as s:
            return [_applied(row) for row in s.scalars(query)]

    # ------------------------------------------------------------- shortlist
    def set_shortlisted(
        self,
        application_id: str,
        program_id: str,
        *,
        on: bool,
        org_id: str | None = None,
        added_by: str = "",
        session: Session | None = None,
    ) -> tuple[ShortlistEntry | None, bool]:
        """Put on (or take off) the program's shortlist; returns the entry (None once taken
        off) and whether anything changed."""
        with self._use(session) as s:
            row = s.scalars(
                sa.select(ShortlistRow).where(
                    ShortlistRow.application_id == application_id,
                    ShortlistRow.program_id == program_id,
                    self.where_visible(ShortlistRow),
                )
            ).first()
            if not on:
                if row is not None:
                    s.delete(row)
                    s.flush()
                return None, row is not None
            if row is not None:
                return _entry(row), False
            row = ShortlistRow(
                application_id=application_id,
                program_id=program_id,
                org_id=org_id,
                added_by=added_by[:200],
                added_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return _entry(row), True

    def list_shortlist(
        self, application_id: str, *, session: Session | None = None
    ) -> list[ShortlistEntry]:
        query = (
            sa.select(ShortlistRow)
            .where(ShortlistRow.application_id == application_id, self.where_visible(ShortlistRow))
            .order_by(ShortlistRow.added_at, ShortlistRow.program_id)
        )
        with self._use(session) as s:
            return [_entry(row) for row in s.scalars(query)]

    def list_program_shortlists(
        self, program_ids: list[str], *, session: Session | None = None
    ) -> list[ShortlistEntry]:
        """The shortlist entries at these programs the scope may see (a round's board)."""
        if not program_ids:
            return []
        query = (
            sa.select(ShortlistRow)
            .where(ShortlistRow.program_id.in_(program_ids), self.where_visible(ShortlistRow))
            .order_by(ShortlistRow.program_id, ShortlistRow.added_at, ShortlistRow.application_id)
        )
        with self._use(session) as s:
            return [_entry(row) for row in s.scalars(query)]

    # ----------------------------------------------------------------- notes
    def add_note(
        self,
        application_id: str,
        body: str,
        *,
        author: str,
        org_id: str | None,
        session: Session | None = None,
    ) -> Note:
        row = NoteRow(
            application_id=application_id,
            org_id=org_id,
            author=author[:200],
            body=body,
            created_at=utcnow(),
        )
        with self._use(session) as s:
            s.add(row)
            s.flush()
            return _note(row)

    def list_notes(self, application_id: str, *, session: Session | None = None) -> list[Note]:
        query = (
            sa.select(NoteRow)
            .where(NoteRow.application_id == application_id, self.where_visible(NoteRow))
            .order_by(NoteRow.created_at, NoteRow.id)
        )
        with self._use(session) as s:
            return [_note(row) for row in s.scalars(query)]

    # ------------------------------------------------------------- decisions
    def add_decision(self, decision: Decision, *, session: Session | None = None) -> Decision:
        """Store one decision (its `id` and `decided_at` are given here)."""
        values = {k: v for k, v in decision.__dict__.items() if k not in ("id", "decided_at")}
        row = DecisionRow(**values, decided_at=utcnow())
        with self._use(session) as s:
            s.add(row)
            s.flush()
            return _decision(row)

    def list_decisions(
        self,
        application_id: str,
        program_id: str | None = None,
        *,
        session: Session | None = None,
    ) -> list[Decision]:
        """Every decision the scope may see, oldest first."""
        query = sa.select(DecisionRow).where(
            DecisionRow.application_id == application_id, self.where_visible(DecisionRow)
        )
        if program_id is not None:
            query = query.where(DecisionRow.program_id == program_id)
        with self._use(session) as s:
            rows = s.scalars(query.order_by(DecisionRow.decided_at, DecisionRow.id))
            return [_decision(row) for row in rows]

    def lock_program(self, program_id: str, *, session: Session) -> None:
        """Hold the program's row until `session` ends (`SELECT ... FOR UPDATE` on
        PostgreSQL), so two decisions spending one round budget are checked in turn."""
        session.execute(
            sa.select(ProgramRow.id).where(ProgramRow.id == program_id).with_for_update()
        )

    def funded_in_round(
        self,
        round_id: str,
        program_id: str,
        *,
        except_application: str | None = None,
        session: Session | None = None,
    ) -> int:
        """The money the outcomes of one round already give at one program (rials)."""
        query = sa.select(sa.func.coalesce(sa.func.sum(OutcomeRow.funded_amount), 0)).where(
            OutcomeRow.round_id == round_id,
            OutcomeRow.program_id == program_id,
            self.where_visible(OutcomeRow),
        )
        if except_application is not None:
            query = query.where(OutcomeRow.application_id != except_application)
        with self._use(session) as s:
            return int(s.scalar(query) or 0)
