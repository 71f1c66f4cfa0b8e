"""Requesting a meeting: one participant of an event asks to meet another (their `requests`).

The one rule, used by the API (`POST /v1/events/{id}/requests`) and the web pages (the
«درخواست ملاقات» button of an organiser's or a participant's agenda page): both ids must be
participants of the event, a participant cannot ask to meet themself, and a request is made
once. A refused request stores nothing; a granted one is stored in the same transaction as its
audit entry. The schedule gives requests priority over suggestions (`recommender.events.problem`).
"""

from __future__ import annotations

from recommender.errors import ConflictError, InvalidInputError
from recommender.events.model import EventData, Participant
from recommender.store.database import Store


def add_request(data: EventData, from_id: str, to_id: str) -> EventData:
    """The event with `from_id`'s request to meet `to_id` added.

    Raises:
        InvalidInputError: an id that is not a participant of the event, or `from_id == to_id`
            (one Persian line naming the id).
        ConflictError: `from_id` already asked to meet `to_id`.
    """
    from_id, to_id = str(from_id).strip(), str(to_id).strip()
    people = data.by_id()
    for pid in (from_id, to_id):
        if pid not in people:
            raise InvalidInputError(
                f"شرکت‌کننده‌ای با شناسهٔ «{pid}» در رویداد «{data.event.id}» نیست"
            )
    if from_id == to_id:
        raise InvalidInputError(f"«{people[from_id].name}» نمی‌تواند دیدار با خودش را درخواست کند")
    asking = people[from_id]
    if to_id in asking.requests:
        raise ConflictError(
            f"«{asking.name}» پیش‌تر دیدار با «{people[to_id].name}» را درخواست کرده است"
        )
    updated = asking.model_copy(update={"requests": [*asking.requests, to_id]})
    participants = tuple(updated if p.id == from_id else p for p in data.participants)
    return EventData(event=data.event, participants=participants)


def request_meeting(
    store: Store, event_id: str, from_id: str, to_id: str, *, actor: str
) -> Participant:
    """Record `from_id`'s request to meet `to_id` (`add_request`) and audit it.

    Returns:
        The asking participant as stored. Raises: NotFoundError (an event the store's scope
        does not see), InvalidInputError, ConflictError.
    """
    with store.session() as s:
        data = add_request(store.get_event(event_id, session=s), from_id, to_id)
        store.replace_participants(event_id, data.participants, session=s)
        store.audit(
            actor,
            "request_meeting",
            "events",
            f"{event_id}:{from_id}"[:300],
            detail={"to": to_id},
            session=s,
        )
        return data.by_id()[from_id.strip()]
