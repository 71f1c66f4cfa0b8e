"""The event import and export use cases (CLI now, the service later): a file read and
checked completely, then stored in one transaction with an audit entry; any problem imports
nothing unless `skip_invalid`.

- a .json file holding `{"event": {...}, "participants": [...]}`: the whole event (replacing
  one stored under its id);
- a .csv, .xlsx (or a .json list) of participants, with `event_id`: the participant list of
  a stored event, replaced.

Participants' `application_id` / `program_id` must name stored applications / programs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.errors import InvalidInputError, RowError
from recommender.events.model import EventData
from recommender.events.participant_files import read_participants, write_participants
from recommender.events.validation import parse_event_payload, raise_for, read_event_json
from recommender.store.database import Store

_FORMATS = (".json", ".csv", ".xlsx")


@dataclass(frozen=True)
class EventImportReport:
    """What one import did."""

    event_id: str
    org_id: str | None
    created: bool
    participants: int
    skipped: int
    errors: list[RowError] = field(default_factory=list)


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise InvalidInputError(f"{path.name}: نوع پرونده پشتیبانی نمی‌شود؛ .json، .csv یا .xlsx")
    return suffix


def import_event(
    path: str | Path,
    *,
    open_store: Callable[[], AbstractContextManager[Store]],
    actor: str,
    skip_invalid: bool = False,
    event_id: str | None = None,
) -> EventImportReport:
    """Import an event file, or a participant list into the stored event `event_id`.

    Raises:
        InvalidInputError: the file cannot be used at all (one Persian line).
        EventImportError: bad rows (every one listed); nothing imported.
        NotFoundError: `event_id` is not a stored event the store's scope sees.
    """
    path = Path(path)
    suffix = _format(path)
    payload: Any = read_event_json(path) if suffix == ".json" else None
    whole = isinstance(payload, dict)
    if not whole and event_id is None:
        raise InvalidInputError(
            "این پرونده فهرست شرکت‌کنندگان است: رویداد آن را با --event نام ببرید"
        )
    with open_store() as store, store.session() as s:
        known_apps = store.existing_ids("applications", session=s)
        known_programs = store.existing_ids("programs", session=s)
        if whole:
            data, errors = parse_event_payload(
                payload,
                skip_invalid=skip_invalid,
                source=path.name,
                known_applications=known_apps,
                known_programs=known_programs,
            )
            event, created = store.save_event(data, session=s)
        else:
            event = store.get_event(str(event_id), session=s).event
            checked = read_participants(
                path, event, known_applications=known_apps, known_programs=known_programs
            )
            if not skip_invalid:
                raise_for(checked.errors, path.name)
            errors, created = checked.skipped(), False
            data = EventData(event=event, participants=tuple(checked.items))
            store.replace_participants(event.id, data.participants, session=s)
        skipped = len({e.row for e in errors})
        store.audit(
            actor,
            "import",
            "events",
            f"{event.id}:{path.name}"[:300],
            detail={"participants": len(data.participants), "skipped": skipped},
            session=s,
        )
    return EventImportReport(
        event.id, event.org_id, created, len(data.participants), skipped, list(errors)
    )


def export_event(store: Store, event_id: str, path: str | Path) -> int:
    """Write a stored event: .json the whole import file, .csv/.xlsx its participant list.

    Returns:
        How many participants were written. Raises: NotFoundError, InvalidInputError.
    """
    from recommender.reports.files import write_json

    path = Path(path)
    suffix = _format(path)
    data = store.get_event(event_id)
    if suffix == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(
            path,
            {
                "event": data.event.model_dump(mode="json"),
                "participants": [p.model_dump(mode="json") for p in data.participants],
            },
        )
        return len(data.participants)
    return write_participants(path, data.participants)
