"""Checking an event file before anything is stored: every problem found, each named by its
row and field, with its reason in plain Persian words; nothing imported while one is left,
unless the organiser asks to skip the bad participants (`skip_invalid`).

The file is one JSON object `{"event": {...}, "participants": [...]}` (DESIGN.md); the
participant list alone may also come as a CSV/XLSX table (`recommender.events.tables`).
Row numbers are what a person sees: the n-th participant of the JSON list, the spreadsheet
row of a table (the header is row 1). Problems of the event itself (no tables, overlapping
slots) are never skipped: without a valid event there is nothing to import.

Checked across the file: unique slot and participant ids, slots that do not overlap,
availability naming known slots, requests naming known participants (not oneself), at least
one available slot per participant, and (when the store's ids are given) links to stored
applications and programs. Messages never quote profile text.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from recommender.constants import MAX_IMPORT_BYTES
from recommender.errors import EventImportError, InvalidInputError, RowError
from recommender.events.model import Event, EventData, Participant
from recommender.text.field_errors import field_reason
from recommender.text.persian import to_persian_digits

#: RowError.row of a problem of the event itself (not of a participant).
EVENT_ROW = 0
_ROW_FIELD = "(ردیف)"


@dataclass
class CheckedParticipants:
    """The participants that passed, with their rows, and every problem found (`notes`:
    requests dropped because they named a participant left out; they matter only when the
    bad rows are skipped)."""

    items: list[Participant] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notes: list[RowError] = field(default_factory=list)

    def skipped(self) -> list[RowError]:
        """The problems reported when skipping bad rows: errors, then the notes."""
        return sorted(self.errors + self.notes, key=lambda e: e.row)


def describe(error: RowError) -> str:
    """One problem as a Persian line: «ردیف ۳، فیلد «requests»: ...»."""
    where = "رویداد" if error.row == EVENT_ROW else f"ردیف {to_persian_digits(error.row)}"
    return f"{where}، فیلد «{error.field}»: {error.reason}"


def raise_for(errors: Sequence[RowError], source: str | None) -> None:
    """EventImportError listing every problem (first line: how many, and that nothing was
    imported)."""
    if not errors:
        return
    prefix = f"{source}: " if source else ""
    head = f"{prefix}{to_persian_digits(len(errors))} مشکل پیدا شد؛ چیزی وارد نشد"
    ordered = sorted(errors, key=lambda e: e.row)
    raise EventImportError(ordered, [head] + [describe(e) for e in ordered[:200]])


def _field(loc: Sequence[Any], prefix: str = "") -> str:
    name = prefix
    for part in loc:
        if isinstance(part, int):
            name += f"[{part + 1}]"
        else:
            name += f".{part}" if name else str(part)
    return name or _ROW_FIELD


def _errors(row: int, exc: ValidationError, prefix: str = "") -> list[RowError]:
    return [
        RowError(row, _field(tuple(e["loc"]), prefix), field_reason(e))
        for e in exc.errors(include_input=False, include_url=False)
    ]


def _validate(model: type[BaseModel], obj: Any, row: int, prefix: str = "") -> Any:
    """(the model, []) or (None, its problems)."""
    if not isinstance(obj, dict):
        return None, [RowError(row, prefix or _ROW_FIELD, "باید یک شیء (با نام فیلدها) باشد")]
    try:
        return model.model_validate(obj), []
    except ValidationError as exc:
        return None, _errors(row, exc, prefix)


# --------------------------------------------------------------------------- the event
def check_event(raw: Any, source: str | None = None) -> Event:
    """The event part of a file, valid, or EventImportError with every problem of it."""
    event, errors = _validate(Event, raw, EVENT_ROW, "event")
    if event is not None:
        errors = _slot_problems(event)
    errors = [
        RowError(e.row, e.field, "شمار میزها باید دست‌کم ۱ باشد")
        if e.field == "event.tables" and e.reason.startswith("باید دست‌کم")
        else e
        for e in errors
    ]
    raise_for(errors, source)
    return event  # type: ignore[no-any-return]


def _slot_problems(event: Event) -> list[RowError]:
    errors: list[RowError] = []
    seen: set[str] = set()
    for slot in event.slots:
        if slot.id in seen:
            errors.append(RowError(EVENT_ROW, "event.slots", f"بازهٔ «{slot.id}» تکراری است"))
        seen.add(slot.id)
    ordered = sorted(event.slots, key=lambda s: (s.start, s.end))
    for first, second in zip(ordered, ordered[1:], strict=False):
        if second.start < first.end:
            errors.append(
                RowError(
                    EVENT_ROW,
                    "event.slots",
                    f"بازه‌های «{first.id}» و «{second.id}» هم‌پوشانی دارند "
                    "(هر کس در یک زمان فقط یک جلسه دارد)",
                )
            )
    return errors


# --------------------------------------------------------------------------- participants
def check_participants(
    event: Event,
    raw_rows: Sequence[tuple[int, Any]],
    *,
    known_applications: Collection[str] | None = None,
    known_programs: Collection[str] | None = None,
) -> CheckedParticipants:
    """Every participant row checked alone and against the others (module docstring).

    Args:
        event: the (valid) event they take part in.
        raw_rows: (row number, object) per participant, in file order.
        known_applications / known_programs: stored ids; None skips the link check.

    Returns:
        The good participants and every problem (a participant with any problem is left
        out; requests naming a left-out participant are dropped from the others, and said).
    """
    out = CheckedParticipants()
    slots = {s.id for s in event.slots}
    parsed: list[tuple[int, Participant]] = []
    first_row: dict[str, int] = {}
    for row, obj in raw_rows:
        item, problems = _validate(Participant, obj, row)
        if item is None:
            out.errors.extend(problems)
            continue
        if item.id in first_row:
            first = to_persian_digits(first_row[item.id])
            reason = f"شناسهٔ «{item.id}» تکراری است (اول در ردیف {first})"
            out.errors.append(RowError(row, "id", reason))
            continue
        first_row[item.id] = row
        parsed.append((row, item))
    in_file = set(first_row)
    good: list[tuple[int, Participant]] = []
    for row, item in parsed:
        problems = _row_problems(item, row, slots, in_file, known_applications, known_programs)
        if problems:
            out.errors.extend(problems)
        else:
            good.append((row, item))
    kept = {item.id for _, item in good}
    for row, item in good:
        dropped = [r for r in item.requests if r not in kept]
        if dropped:  # they named a participant of the file that was left out
            item = item.model_copy(update={"requests": [r for r in item.requests if r in kept]})
            names = "، ".join(f"«{r}»" for r in dropped)
            reason = f"درخواست دیدار با {names} کنار گذاشته شد (ردیفشان نامعتبر بود)"
            out.notes.append(RowError(row, "requests", reason))
        out.items.append(item)
        out.rows.append(row)
    return out


def _row_problems(
    item: Participant,
    row: int,
    slots: set[str],
    in_file: set[str],
    known_applications: Collection[str] | None,
    known_programs: Collection[str] | None,
) -> list[RowError]:
    errors: list[RowError] = []
    unknown_slots = [s for s in item.availability if s not in slots]
    if unknown_slots:
        names = "، ".join(f"«{s}»" for s in unknown_slots)
        errors.append(RowError(row, "availability", f"بازهٔ {names} در این رویداد نیست"))
    elif not item.availability:
        errors.append(
            RowError(row, "availability", f"«{item.id}» هیچ بازهٔ زمانیِ در دسترسی ندارد")
        )
    unknown = [r for r in item.requests if r not in in_file]
    if unknown:
        names = "، ".join(f"«{r}»" for r in unknown)
        errors.append(RowError(row, "requests", f"شرکت‌کننده‌ای با شناسهٔ {names} در این رویداد نیست"))
    if item.id in item.requests:
        errors.append(RowError(row, "requests", "کسی نمی‌تواند دیدار با خودش را درخواست کند"))
    if known_applications is not None and item.application_id:
        if item.application_id not in known_applications:
            reason = f"درخواستی با شناسهٔ «{item.application_id}» ثبت نشده است"
            errors.append(RowError(row, "application_id", reason))
    if known_programs is not None and item.program_id and item.program_id not in known_programs:
        reason = f"برنامه‌ای با شناسهٔ «{item.program_id}» ثبت نشده است"
        errors.append(RowError(row, "program_id", reason))
    return errors


# --------------------------------------------------------------------------- whole files
def parse_event_payload(
    payload: Any,
    *,
    skip_invalid: bool = False,
    source: str | None = None,
    known_applications: Collection[str] | None = None,
    known_programs: Collection[str] | None = None,
) -> tuple[EventData, list[RowError]]:
    """An import file's object checked completely.

    Returns:
        (the event and its good participants, the problems of the skipped rows).

    Raises:
        InvalidInputError: not an object with "event" and a "participants" list (one line).
        EventImportError: any problem of the event, or of a participant unless skipping.
    """
    if not isinstance(payload, dict) or "event" not in payload:
        raise InvalidInputError(
            'پرونده باید یک شیء JSON به شکل {"event": {...}, "participants": [...]} باشد'
        )
    extra = sorted(set(payload) - {"event", "participants"})
    if extra:
        raise InvalidInputError(f"فیلد «{extra[0]}» در پروندهٔ رویداد شناخته‌شده نیست")
    raw = payload.get("participants", [])
    if not isinstance(raw, list):
        raise InvalidInputError("«participants» باید فهرستی از شرکت‌کنندگان باشد")
    event = check_event(payload["event"], source)
    checked = check_participants(
        event,
        list(enumerate(raw, start=1)),
        known_applications=known_applications,
        known_programs=known_programs,
    )
    if checked.errors and not skip_invalid:
        raise_for(checked.errors, source)
    return EventData(event=event, participants=tuple(checked.items)), checked.skipped()


def read_event_json(path: str | Path) -> Any:
    """The JSON object of an event file (not yet checked).

    Raises:
        InvalidInputError: missing, too large, not UTF-8 or not JSON (one Persian line).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"پرونده‌ای در {path} پیدا نشد")
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise InvalidInputError(f"{path.name} از حد مجاز واردکردن بزرگ‌تر است؛ آن را بخش کنید")
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{path.name} متن UTF-8 نیست؛ آن را با کدگذاری UTF-8 ذخیره کنید"
        ) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (سطر {to_persian_digits(line)})" if line else ""
        raise InvalidInputError(f"{path.name} JSON معتبری نیست{where}") from None
