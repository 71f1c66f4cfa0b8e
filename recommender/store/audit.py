"""The audit log in the store: who did what to which object (never business-plan text).

`AuditLog` is a part of `Store` (it uses the store's sessions and scope): entries record the
actor's house, and a house's staff read only their house's entries (recommender.store.tenancy).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from recommender.store.tables import AuditLogRow, utcnow

if TYPE_CHECKING:
    from recommender.store.tenancy import Scope


class AuditEntry(BaseModel):
    """One audit-log entry as callers see it."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: dt.datetime
    actor: str
    action: str
    target_kind: str
    target_id: str
    detail: dict[str, Any] | None = None


def _to_audit(row: AuditLogRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target_kind=row.target_kind,
        target_id=row.target_id,
        detail=row.detail,
    )


class AuditLog:
    """Writing and reading audit entries (a part of `Store`)."""

    if TYPE_CHECKING:
        scope: Scope

        def _use(self, session: Session | None) -> AbstractContextManager[Session]: ...
        def where_visible(self, table: type[Any]) -> Any: ...

    def audit(
        self,
        actor: str,
        action: str,
        target_kind: str,
        target_id: str,
        detail: dict[str, Any] | None = None,
        *,
        session: Session | None = None,
    ) -> None:
        """Record who did what to which object. Never put business-plan text in `detail`.

        The entry is written without reading it back (no `RETURNING`): on PostgreSQL an
        applicant's transaction may add entries but not read any (row-level security)."""
        entry = sa.insert(AuditLogRow).inline().values(
            actor=actor[:200],
            action=action[:100],
            target_kind=target_kind[:50],
            target_id=str(target_id)[:300],
            detail=detail,
            at=utcnow(),
            org_id=self.scope.org_id,
        )
        with self._use(session) as s:
            s.execute(entry)

    def list_audit(
        self,
        limit: int = 100,
        target_kind: str | None = None,
        *,
        session: Session | None = None,
    ) -> list[AuditEntry]:
        """The newest audit entries first."""
        query = (
            sa.select(AuditLogRow)
            .where(self.where_visible(AuditLogRow))
            .order_by(AuditLogRow.id.desc())
            .limit(limit)
        )
        if target_kind is not None:
            query = query.where(AuditLogRow.target_kind == target_kind)
        with self._use(session) as s:
            return [_to_audit(row) for row in s.scalars(query)]
