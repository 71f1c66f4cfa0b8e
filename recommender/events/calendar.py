"""One iCalendar file (RFC 5545) per participant: their meetings, importable into any
calendar app.

Written here rather than with a library (a dozen lines of the standard): CRLF line ends;
TEXT values escaped (backslash, `;`, `,`, newlines, §3.3.11); lines folded at 75 octets
without splitting a UTF-8 character (§3.1); times in UTC (`...Z`, §3.3.5: no VTIMEZONE needed;
the slot times are Tehran's and converted); a stable UID per meeting, so re-importing an
updated agenda replaces a meeting instead of adding a copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from recommender.events.model import MEETING_KIND_LABELS_FA, Event, Participant
from recommender.events.result import Meeting
from recommender.text.persian import to_persian_digits

PRODID = "-//Peyvand//Events//FA"
_FOLD_OCTETS = 75


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """A content line folded at 75 octets (continuations start with one space)."""
    out: list[str] = []
    current, size, limit = "", 0, _FOLD_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, _FOLD_OCTETS
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def agenda_ics(
    event: Event,
    participant: Participant,
    meetings: list[Meeting],
    names: Mapping[str, str],
    *,
    stamp: dt.datetime | None = None,
) -> str:
    """The VCALENDAR of one participant's meetings.

    Args:
        names: participant id -> name (for the other side of each meeting).
        stamp: DTSTAMP (default: now).
    """
    stamp_text = _utc(stamp or dt.datetime.now(dt.UTC))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(f'{event.name} — {participant.name}')}",
    ]
    for m in meetings:
        other = m.other(participant.id)
        summary = f"دیدار با {names.get(other, other)}"
        where = f"میز {to_persian_digits(m.table)}"
        why = MEETING_KIND_LABELS_FA.get(m.kind, m.kind)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.id}.{m.slot_id}.{m.participant_a}.{m.participant_b}@peyvand",
            f"DTSTAMP:{stamp_text}",
            f"DTSTART:{_utc(event.starts_at(m.slot_id))}",
            f"DTEND:{_utc(event.ends_at(m.slot_id))}",
            f"SUMMARY:{escape_text(summary)}",
            f"LOCATION:{escape_text(f'{event.name}، {where}')}",
            f"DESCRIPTION:{escape_text(f'{why}؛ بازهٔ {m.slot_id}')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
