"""Events and their participants in the store (a part of `Store`).

An event belongs to one house (`org_id`): the one its file names, else the house that stored
it before, else the staff member's own house, else the only house of a single-house install
(created as `main` on the first import). Saving an event replaces it whole: its fields and
its participant list (in file order). Reads keep to what the store's scope may see
(`tenancy.events_visible`, `participants_visible`): another house's event is a NotFoundError
like a missing one. Records leave the store as `recommender.events` models, never as rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recommender.errors import InvalidInputError, NotFoundError, bilingual
from recommender.events.model import Event, EventData, Participant
from recommender.store.tables import EventParticipantRow, EventRow, OrganizationRow, utcnow

if TYPE_CHECKING:
    from recommender.store.tenancy import Scope


def _event(row: EventRow) -> Event:
    return Event.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "org_id": row.org_id,
            "date": row.date,
            "slots": row.slots,
            "tables": row.tables,
            "max_meetings_per_participant": row.max_meetings_per_participant,
        }
    )


def _participant(row: EventParticipantRow) -> Participant:
    return Participant.model_validate(
        {
            "id": row.id,
            "kind": row.kind,
            "name": row.name,
            "profile": row.profile,
            "application_id": row.application_id,
            "program_id": row.program_id,
            "availability": list(row.availability),
            "requests": list(row.requests),
        }
    )


def _slots_json(event: Event) -> list[dict[str, str]]:
    return [
        {"id": s.id, "start": s.start.strftime("%H:%M"), "end": s.end.strftime("%H:%M")}
        for s in event.slots
    ]


def not_found(event_id: str) -> NotFoundError:
    return NotFoundError(
        bilingual(f"no event with id '{event_id}'", f"رویدادی با شناسهٔ «{event_id}» پیدا نشد")
    )


class EventRecords:
    """Events and participants (a part of `Store`)."""

    if TYPE_CHECKING:
        scope: Scope

        def _use(self, session: Session | None) -> AbstractContextManager[Session]: ...
        def where_visible(self, table: type[Any]) -> Any: ...
        def every_house(self, session: Session) -> AbstractContextManager[Any]: ...
        def ensure_default_organization(self, *, session: Session | None = None) -> str | None: ...

    def _event_house(self, event: Event, s: Session) -> str:
        """The house of an event being saved (module docstring). Raises: InvalidInputError."""
        with self.every_house(s) as lookup:
            stored = lookup.execute(
                sa.select(EventRow.org_id).where(EventRow.id == event.id)
            ).scalar_one_or_none()
        org = event.org_id or stored or (self.scope.org_id if self.scope.is_house else None)
        if org is None:
            org = self.ensure_default_organization(session=s)
        if org is None:
            raise InvalidInputError(
                "این شبکه چند خانه دارد: خانهٔ برگزارکنندهٔ رویداد را در «org_id» بنویسید"
            )
        if s.get(OrganizationRow, org) is None:
            raise InvalidInputError(f"خانه‌ای با شناسهٔ «{org}» ثبت نشده است")
        taken = stored is not None and stored != (self.scope.org_id or org)
        if taken:
            raise InvalidInputError(f"شناسهٔ رویداد «{event.id}» را خانهٔ دیگری به کار برده است")
        if self.scope.is_house and org != self.scope.org_id:
            raise InvalidInputError("کارکنان فقط رویدادهای خانهٔ خود را ثبت می‌کنند")
        return str(org)

    def save_event(self, data: EventData, *, session: Session | None = None) -> tuple[Event, bool]:
        """Store an event and its participants, replacing any stored under its id.

        Returns:
            (the event as stored, with its house; whether it is new).

        Raises:
            InvalidInputError: no house can be told, an unknown house, or another house's
                event id (one Persian line; nothing written).
        """
        now = utcnow()
        with self._use(session) as s:
            org = self._event_house(data.event, s)
            event = data.event.model_copy(update={"org_id": org})
            row = s.get(EventRow, event.id)
            created = row is None
            if row is None:
                row = EventRow(id=event.id, created_at=now)
                s.add(row)
            row.name, row.org_id, row.date = event.name, org, event.date
            row.slots = _slots_json(event)
            row.tables = event.tables
            row.max_meetings_per_participant = event.max_meetings_per_participant
            row.updated_at = now
            s.flush()
            self._write_participants(s, event, data.participants)
            return event, created

    def _write_participants(
        self, s: Session, event: Event, participants: Sequence[Participant]
    ) -> None:
        s.execute(sa.delete(EventParticipantRow).where(EventParticipantRow.event_id == event.id))
        for position, p in enumerate(participants):
            s.add(
                EventParticipantRow(
                    event_id=event.id,
                    id=p.id,
                    position=position,
                    org_id=event.org_id,
                    kind=p.kind,
                    name=p.name,
                    profile=p.profile,
                    application_id=p.application_id,
                    program_id=p.program_id,
                    availability=list(p.availability),
                    requests=list(p.requests),
                )
            )
        s.flush()

    def replace_participants(
        self, event_id: str, participants: Sequence[Participant], *, session: Session | None = None
    ) -> Event:
        """Replace the participant list of a stored event. Raises: NotFoundError."""
        with self._use(session) as s:
            event = self.get_event(event_id, session=s).event
            self._write_participants(s, event, participants)
            s.execute(
                sa.update(EventRow).where(EventRow.id == event_id).values(updated_at=utcnow())
            )
            return event

    def list_events(self, *, session: Session | None = None) -> list[tuple[Event, int]]:
        """Every visible event with its number of participants, by date then id."""
        counts = (
            sa.select(EventParticipantRow.event_id, sa.func.count().label("n"))
            .group_by(EventParticipantRow.event_id)
            .subquery()
        )
        query = (
            sa.select(EventRow, sa.func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.event_id == EventRow.id)
            .where(self.where_visible(EventRow))
            .order_by(EventRow.date, EventRow.id)
        )
        with self._use(session) as s:
            return [(_event(row), int(n)) for row, n in s.execute(query)]

    def get_event(self, event_id: str, *, session: Session | None = None) -> EventData:
        """The event and the participants the scope may see, in file order.

        Raises:
            NotFoundError: unknown id, or another house's event (the same answer).
        """
        with self._use(session) as s:
            row = s.scalars(
                sa.select(EventRow).where(EventRow.id == event_id, self.where_visible(EventRow))
            ).first()
            if row is None:
                raise not_found(event_id)
            people = s.scalars(
                sa.select(EventParticipantRow)
                .where(
                    EventParticipantRow.event_id == event_id,
                    self.where_visible(EventParticipantRow),
                )
                .order_by(EventParticipantRow.position)
            )
            return EventData(event=_event(row), participants=tuple(_participant(p) for p in people))
