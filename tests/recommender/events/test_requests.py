"""The meeting-request rule (`recommender.events.requests`), shared by the API and the pages,
and the signed personal links of agendas (`api.security.link_token`)."""

from __future__ import annotations

import pytest

from api.security import check_link_token, link_token
from recommender.errors import ConflictError, InvalidInputError, NotFoundError
from recommender.events.model import EventData
from recommender.events.requests import add_request, request_meeting

from ._event_fixtures import payload


def _data() -> EventData:
    return EventData.model_validate(payload())


def test_a_request_is_added_once_to_the_asking_participant():
    data = add_request(_data(), "health", "acc")
    assert data.by_id()["health"].requests == ["acc"]
    assert data.by_id()["acc"].requests == []
    with pytest.raises(ConflictError, match="پیش‌تر دیدار"):
        add_request(data, "health", "acc")


@pytest.mark.parametrize(
    ("a", "b", "words"),
    [("health", "ghost", "«ghost»"), ("ghost", "acc", "«ghost»"), ("health", "health", "خودش")],
)
def test_unknown_ids_and_oneself_are_refused_naming_the_culprit(a, b, words):
    with pytest.raises(InvalidInputError, match=words):
        add_request(_data(), a, b)


def test_request_meeting_stores_and_audits_and_a_refusal_stores_nothing(store):
    store.save_event(_data())
    asking = request_meeting(store, "demo-day", "health", "vc", actor="user:t")
    assert asking.requests == ["vc"]
    assert store.get_event("demo-day").by_id()["health"].requests == ["vc"]
    with pytest.raises(InvalidInputError):
        request_meeting(store, "demo-day", "health", "nobody", actor="user:t")
    with pytest.raises(NotFoundError):
        request_meeting(store, "no-such-day", "health", "vc", actor="user:t")
    assert store.get_event("demo-day").by_id()["health"].requests == ["vc"]


def test_link_tokens_are_bound_to_secret_purpose_and_parts():
    token = link_token("s3cret", "event-agenda", "demo-day", "pay")
    assert len(token) == 22 and token == link_token("s3cret", "event-agenda", "demo-day", "pay")
    assert check_link_token("s3cret", token, "event-agenda", "demo-day", "pay")
    assert not check_link_token("other", token, "event-agenda", "demo-day", "pay")
    assert not check_link_token("s3cret", token, "event-agenda", "demo-day", "farm")
    assert not check_link_token("s3cret", token, "event-agenda", "demo-dayp", "ay")
    assert not check_link_token("s3cret", None, "event-agenda", "demo-day", "pay")
