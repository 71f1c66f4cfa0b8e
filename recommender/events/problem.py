"""What the meeting scheduler solves: the pairs that may meet, why, in which slots, and the
meetings to keep or pin (the encoder of the events' encoder -> solver -> result shape).

A pair may meet when one of them asked (`requests`: both asked = "mutual", one = "request"),
when matching suggested it ("suggestion", `suggest.Suggestion`), or when it is kept or pinned.
It may meet only in a slot both are available in. Re-scheduling after a cancellation passes
the previous meetings as `keep` (the solver keeps as many as it can, first of all); `pins`
are meetings that must happen. Pins are checked here, exactly: they are feasible together
if and only if no participant is pinned twice in one slot or more often than
`max_meetings_per_participant`, no slot holds more pins than `tables`, no pair is pinned
twice, and each pin names known participants and a slot both are available in. The first
problem found is one Persian line naming the culprit (`InfeasibleError`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from recommender.errors import InfeasibleError, InvalidInputError
from recommender.events.model import Event, EventData, Participant
from recommender.text.persian import to_persian_digits

#: A meeting named by its two participants (any order) and its slot.
MeetingKey = tuple[str, str, str]


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The pair in a fixed order (meetings are undirected)."""
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True)
class Candidate:
    """A pair that may meet: `a < b`, why (`kind`), its fit, and the slots both have."""

    a: str
    b: str
    kind: str
    score: float
    slots: tuple[str, ...]


@dataclass
class ScheduleProblem:
    """Everything the solver needs (build with `build_problem`)."""

    event: Event
    participants: dict[str, Participant]
    candidates: list[Candidate]
    keep: set[MeetingKey] = field(default_factory=set)
    pins: set[MeetingKey] = field(default_factory=set)
    #: previous meetings that can no longer happen (a participant or slot is gone).
    lost: list[MeetingKey] = field(default_factory=list)

    @property
    def startups(self) -> list[str]:
        return [p for p, item in self.participants.items() if item.kind == "startup"]


def _kind(a: Participant, b: Participant) -> str | None:
    asked_ab, asked_ba = b.id in a.requests, a.id in b.requests
    if asked_ab and asked_ba:
        return "mutual"
    if asked_ab or asked_ba:
        return "request"
    return None


def _normalise(meetings: Iterable[Sequence[str]]) -> list[MeetingKey]:
    out = []
    for meeting in meetings:
        a, b, slot = (str(v).strip() for v in meeting)
        x, y = pair_key(a, b)
        out.append((x, y, slot))
    return out


def build_problem(
    data: EventData,
    *,
    suggestions: Mapping[tuple[str, str], float] | None = None,
    scores: Mapping[tuple[str, str], float] | None = None,
    keep: Iterable[Sequence[str]] = (),
    pins: Iterable[Sequence[str]] = (),
    without: Iterable[str] = (),
) -> ScheduleProblem:
    """The scheduling problem of an event.

    Args:
        data: the event and its participants.
        suggestions: suggested pairs -> fit (either order).
        scores: the fit of any other pair (requests); missing pairs score 0.
        keep: previous meetings (a, b, slot) to keep where they still can happen.
        pins: meetings (a, b, slot) that must happen.
        without: participants who cancelled (left out of this schedule).

    Raises:
        InvalidInputError: a pin or `without` names an unknown participant or slot.
        InfeasibleError: the pins cannot all happen (the culprit named).
    """
    gone = {str(p).strip() for p in without}
    known = data.by_id()
    for pid in sorted(gone - set(known)):
        raise InvalidInputError(f"شرکت‌کننده‌ای با شناسهٔ «{pid}» در این رویداد نیست")
    people = {pid: p for pid, p in known.items() if pid not in gone}
    fits: dict[tuple[str, str], float] = {}
    for (a, b), value in (scores or {}).items():
        fits[pair_key(a, b)] = float(value)
    suggested: dict[tuple[str, str], float] = {}
    for (a, b), value in (suggestions or {}).items():
        suggested[pair_key(a, b)] = float(value)
        fits[pair_key(a, b)] = float(value)
    pinned = _check_pins(data.event, people, _normalise(pins))
    keep_ok, lost = _usable(people, _normalise(keep))
    reasons: dict[tuple[str, str], str] = {}
    for person in people.values():
        for other in person.requests:
            if other in people and other != person.id:
                kind = _kind(person, people[other])
                if kind:
                    reasons[pair_key(person.id, other)] = kind
    for pair in suggested:
        if pair[0] in people and pair[1] in people:
            reasons.setdefault(pair, "suggestion")
    for a, b, _ in sorted(keep_ok):
        reasons.setdefault((a, b), "kept")
    for a, b, _ in sorted(pinned):
        reasons.setdefault((a, b), "pinned")
    candidates = []
    for (a, b), kind in sorted(reasons.items()):
        common = set(people[a].availability) & set(people[b].availability)
        slots = tuple(s.id for s in data.event.slots if s.id in common)
        if slots:
            candidates.append(Candidate(a, b, kind, max(0.0, fits.get((a, b), 0.0)), slots))
    return ScheduleProblem(data.event, people, candidates, set(keep_ok), set(pinned), lost)


def _usable(
    people: Mapping[str, Participant], meetings: list[MeetingKey]
) -> tuple[list[MeetingKey], list[MeetingKey]]:
    """(meetings that can still happen, those that cannot) of a previous schedule."""
    ok, lost = [], []
    for a, b, slot in meetings:
        if (
            a in people
            and b in people
            and a != b
            and slot in people[a].availability
            and slot in people[b].availability
        ):
            ok.append((a, b, slot))
        else:
            lost.append((a, b, slot))
    return ok, lost


def _check_pins(
    event: Event, people: Mapping[str, Participant], pins: list[MeetingKey]
) -> list[MeetingKey]:
    """The pins, or the first reason they cannot all happen (module docstring)."""
    slots = {s.id for s in event.slots}
    for a, b, slot in pins:
        for pid in (a, b):
            if pid not in people:
                raise InvalidInputError(
                    f"جلسهٔ تثبیت‌شدهٔ «{a}–{b}»: شرکت‌کننده‌ای با شناسهٔ «{pid}» در برنامه نیست"
                )
        if a == b:
            raise InvalidInputError(f"جلسهٔ تثبیت‌شدهٔ «{a}–{b}»: دو طرف جلسه یکی‌اند")
        if slot not in slots:
            raise InvalidInputError(f"جلسهٔ تثبیت‌شدهٔ «{a}–{b}»: بازهٔ «{slot}» در این رویداد نیست")
        for pid in (a, b):
            if slot not in people[pid].availability:
                raise InfeasibleError(
                    f"جلسهٔ تثبیت‌شدهٔ «{a}–{b}» شدنی نیست: «{pid}» در بازهٔ «{slot}» در دسترس نیست"
                )
    pairs = Counter((a, b) for a, b, _ in pins)
    for (a, b), n in pairs.items():
        if n > 1:
            raise InfeasibleError(f"جفت «{a}–{b}» بیش از یک بار تثبیت شده است (هر جفت یک جلسه)")
    busy = Counter((pid, slot) for a, b, slot in pins for pid in (a, b))
    for (pid, slot), n in sorted(busy.items()):
        if n > 1:
            raise InfeasibleError(
                f"تثبیت‌ها شدنی نیستند: «{pid}» در بازهٔ «{slot}» "
                f"{to_persian_digits(n)} جلسهٔ تثبیت‌شده دارد"
            )
    per_slot = Counter(slot for _, _, slot in pins)
    for slot, n in sorted(per_slot.items()):
        if n > event.tables:
            raise InfeasibleError(
                f"تثبیت‌ها شدنی نیستند: بازهٔ «{slot}» {to_persian_digits(n)} جلسهٔ تثبیت‌شده دارد "
                f"و فقط {to_persian_digits(event.tables)} میز"
            )
    per_person = Counter(pid for a, b, _ in pins for pid in (a, b))
    limit = event.max_meetings_per_participant
    for pid, n in sorted(per_person.items()):
        if n > limit:
            raise InfeasibleError(
                f"تثبیت‌ها شدنی نیستند: «{pid}» {to_persian_digits(n)} جلسهٔ تثبیت‌شده دارد "
                f"و حداکثر {to_persian_digits(limit)} جلسه مجاز است"
            )
    return pins
