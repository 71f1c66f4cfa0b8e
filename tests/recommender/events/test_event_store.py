"""Events in the store on SQLite and PostgreSQL: saved whole and read back, replaced on a
second save, and kept to their house (the store's rule and PostgreSQL's row-level security)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from recommender import schemas
from recommender.errors import InvalidInputError, NotFoundError
from recommender.events.validation import parse_event_payload
from recommender.store.database import Store
from recommender.store.tables import ApplicationOwnerRow, UserRow
from recommender.store.tenancy import TENANT_ROLE, Scope

from ._event_fixtures import payload

A, B = Scope.house("house-a"), Scope.house("house-b")


def _data(**changes):
    data, errors = parse_event_payload(payload(**changes))
    assert errors == []
    return data


def test_an_event_round_trips_and_a_second_save_replaces_it(store: Store):
    data = _data()
    event, created = store.save_event(data)
    assert created and event.org_id == "main"  # the single-house install's implicit house
    back = store.get_event("demo-day")
    assert back.event == event
    assert back.participants == data.participants
    smaller = data.model_copy(update={"participants": data.participants[:2]})
    _, created = store.save_event(smaller)
    assert not created
    assert [p.id for p in store.get_event("demo-day").participants] == ["pay", "farm"]
    assert [(e.id, n) for e, n in store.list_events()] == [("demo-day", 2)]


def test_replace_participants_keeps_the_event(store: Store):
    data = _data()
    store.save_event(data)
    store.replace_participants("demo-day", data.participants[3:])
    assert [p.id for p in store.get_event("demo-day").participants] == ["mentor1", "vc", "acc"]
    with pytest.raises(NotFoundError):
        store.replace_participants("nothing", [])


@pytest.fixture
def houses(store: Store) -> Store:
    store.upsert_organizations(
        [
            schemas.Organization(id="house-a", name="خانهٔ الف"),
            schemas.Organization(id="house-b", name="خانهٔ ب"),
        ]
    )
    return store


def test_with_several_houses_an_event_names_its_house(houses: Store):
    with pytest.raises(InvalidInputError, match="org_id"):
        houses.save_event(_data())
    with pytest.raises(InvalidInputError, match="nowhere"):
        houses.save_event(_data(org_id="nowhere"))
    assert houses.count("programs") == 0 and houses.list_events() == []
    event, _ = houses.scoped(A).save_event(_data())  # staff: their own house
    assert event.org_id == "house-a"


def test_another_houses_event_is_missing_and_its_id_taken(houses: Store):
    houses.save_event(_data(org_id="house-a"))
    with pytest.raises(NotFoundError) as other:
        houses.scoped(B).get_event("demo-day")
    with pytest.raises(NotFoundError) as missing:
        houses.scoped(B).get_event("nothing")
    assert str(other.value).replace("demo-day", "X") == str(missing.value).replace("nothing", "X")
    assert houses.scoped(B).list_events() == []
    assert [e.id for e, _ in houses.scoped(A).list_events()] == ["demo-day"]
    with pytest.raises(InvalidInputError, match="خانهٔ دیگری"):
        houses.scoped(B).save_event(_data())
    with pytest.raises(InvalidInputError, match="خانهٔ خود"):
        houses.scoped(B).save_event(_data(id="other-day", org_id="house-a"))
    with pytest.raises(InvalidInputError, match="خانهٔ دیگری"):
        houses.save_event(_data(org_id="house-b"))
    assert houses.get_event("demo-day").event.org_id == "house-a"


def _owner(store: Store, application_id: str) -> int:
    store.upsert_applications(
        [
            schemas.Application(
                id=application_id, startup_name="الف", business_plan="طرح پرداخت",
                org_id="house-a",
            )
        ]
    )
    with store.session() as s:
        user = UserRow(name="applicant-1", role="applicant")
        s.add(user)
        s.flush()
        s.add(ApplicationOwnerRow(application_id=application_id, user_id=user.id))
        return int(user.id)


def test_an_applicant_sees_only_their_own_participant_row(houses: Store):
    user_id = _owner(houses, "app-pay")
    raw = payload(org_id="house-a")
    raw["participants"][0]["application_id"] = "app-pay"
    data, _ = parse_event_payload(raw)
    houses.save_event(data)
    houses.save_event(_data(id="other-day", org_id="house-a"))
    mine = houses.scoped(Scope.owner(user_id))
    assert [e.id for e, _ in mine.list_events()] == ["demo-day"]
    assert [p.id for p in mine.get_event("demo-day").participants] == ["pay"]
    with pytest.raises(NotFoundError):
        mine.get_event("other-day")


@pytest.mark.postgres
def test_row_level_security_hides_other_houses_events(houses: Store):
    if houses.dialect != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    houses.save_event(_data(org_id="house-a"))
    for scope, expected in ((A, 1), (B, 0)):
        with houses.engine.connect() as connection, connection.begin():
            for name, value in scope.pg_settings().items():
                connection.execute(sa.select(sa.func.set_config(name, value, True)))
            connection.execute(sa.text(f"SET LOCAL ROLE {TENANT_ROLE}"))
            events = connection.execute(sa.text("SELECT count(*) FROM events")).scalar()
            people = connection.execute(
                sa.text("SELECT count(*) FROM event_participants")
            ).scalar()
        assert (events, people) == (expected, 6 * expected)
