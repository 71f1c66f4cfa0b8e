"""The Event and Participant contracts (DESIGN.md, "Event"): what an import file, the store and
the schedule agree on.

An event is held on one `date`, in `slots` (`{id, start, end}`, times of day "HH:MM", in
Tehran time), with `tables` meetings at once and at most `max_meetings_per_participant`
meetings for each participant. A participant is a startup, a mentor, an investor or a
program, with a Persian `profile` (a plan summary or an expertise), the slots it is
available in and the participants it asks to meet (`requests`).

Checks that need the whole file (a request naming an unknown participant, availability naming
an unknown slot) are `recommender.events.validation`'s; the models check single values. Their
messages are Persian: they are shown, row by row, to the organiser who sent the file.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from recommender.schemas import OrgId, StrList
from recommender.text.safe_text import strip_bidi_deep

__all__ = [
    "EVENT_TIMEZONE",
    "MEETING_KINDS",
    "MEETING_KIND_LABELS_FA",
    "PARTICIPANT_KINDS",
    "PARTICIPANT_KIND_LABELS_FA",
    "Event",
    "EventData",
    "Participant",
    "Slot",
]

#: Every event is held in Iran: slot times are Tehran's (no daylight saving since 2022).
EVENT_TIMEZONE = "Asia/Tehran"
PARTICIPANT_KINDS: tuple[str, ...] = ("startup", "mentor", "investor", "program")
PARTICIPANT_KIND_LABELS_FA: dict[str, str] = {
    "startup": "استارتاپ",
    "mentor": "منتور",
    "investor": "سرمایه‌گذار",
    "program": "برنامه",
}
#: Why two participants meet, in order of priority (the schedule's lexicographic levels).
MEETING_KINDS: tuple[str, ...] = ("kept", "pinned", "mutual", "request", "suggestion")
MEETING_KIND_LABELS_FA: dict[str, str] = {
    "kept": "حفظ‌شده از برنامهٔ قبلی",
    "pinned": "تثبیت‌شده",
    "mutual": "درخواست دوطرفه",
    "request": "درخواست یک‌طرفه",
    "suggestion": "پیشنهاد سامانه",
}
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:00)?$")


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _id_text(value: Any) -> Any:
    """Spreadsheet ids come back as numbers (12.0): keep them as the text they were."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


EventId = Annotated[str, BeforeValidator(_id_text), Field(min_length=1, max_length=64, pattern=_ID)]
Link = Annotated[
    Annotated[str, Field(min_length=1, max_length=64)] | None, BeforeValidator(_empty_to_none)
]


class _EventContract(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bidi_controls(cls, data: Any) -> Any:
        # Bidi overrides make a name show as other text (recommender.text.safe_text).
        return strip_bidi_deep(data)


def _time(value: Any) -> Any:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        match = _TIME.match(value.strip())
        if not match:
            raise ValueError("ساعت باید به شکل ۰۹:۳۰ (ساعت:دقیقه) باشد")
        return dt.time(int(match.group(1)), int(match.group(2)))
    raise ValueError("ساعت باید به شکل ۰۹:۳۰ (ساعت:دقیقه) باشد")


Time = Annotated[dt.time, BeforeValidator(_time)]


class Slot(_EventContract):
    """One meeting round of the event: every table holds one meeting from `start` to `end`."""

    id: EventId
    start: Time
    end: Time

    @field_serializer("start", "end")
    def _hh_mm(self, value: dt.time) -> str:
        return value.strftime("%H:%M")

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: dt.time, info: Any) -> dt.time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("پایان بازه باید بعد از شروع آن باشد")
        return value


class Event(_EventContract):
    """An event of one house (`org_id`; the store fills it in a single-house install)."""

    id: EventId
    name: str = Field(min_length=1, max_length=300)
    org_id: OrgId = None
    date: dt.date
    slots: list[Slot] = Field(min_length=1, max_length=200)
    tables: int = Field(ge=1, le=10_000)
    max_meetings_per_participant: int = Field(ge=1, le=200)

    def slot(self, slot_id: str) -> Slot:
        """The slot with this id. Raises: KeyError."""
        for slot in self.slots:
            if slot.id == slot_id:
                return slot
        raise KeyError(slot_id)

    def starts_at(self, slot_id: str) -> dt.datetime:
        """When the slot starts, as an aware datetime in Tehran time."""
        from zoneinfo import ZoneInfo

        return dt.datetime.combine(self.date, self.slot(slot_id).start, ZoneInfo(EVENT_TIMEZONE))

    def ends_at(self, slot_id: str) -> dt.datetime:
        from zoneinfo import ZoneInfo

        return dt.datetime.combine(self.date, self.slot(slot_id).end, ZoneInfo(EVENT_TIMEZONE))


class Participant(_EventContract):
    """A startup, mentor, investor or program taking part in one event."""

    id: EventId
    kind: str
    name: str = Field(min_length=1, max_length=300)
    # Persian text: a startup's plan summary or a mentor's expertise (confidential: never
    # logged).
    profile: str = Field(default="", max_length=20_000)
    application_id: Link = None
    program_id: Link = None
    availability: StrList = Field(default_factory=list)
    requests: StrList = Field(default_factory=list)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in PARTICIPANT_KINDS:
            raise ValueError(
                f"نوع «{value}» شناخته نیست؛ یکی از این‌ها باشد: {'، '.join(PARTICIPANT_KINDS)}"
            )
        return value

    @field_validator("availability", "requests")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))


class EventData(BaseModel):
    """An event with its participants (the import file's `{"event", "participants"}`)."""

    model_config = ConfigDict(frozen=True)

    event: Event
    participants: tuple[Participant, ...]

    def by_id(self) -> dict[str, Participant]:
        return {p.id: p for p in self.participants}
