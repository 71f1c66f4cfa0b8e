"""`store.listing.list_applications`: the staff's paged, searchable list of applications."""

from __future__ import annotations

import pytest

from recommender import schemas
from recommender.errors import InvalidInputError
from recommender.store.database import Store
from recommender.store.listing import (
    ApplicationFilters,
    application_status,
    list_applications,
)
from recommender.store.tenancy import Scope

PROGRAM = schemas.Program(
    id="p1", name="شتاب‌دهنده", kind="accelerator", description="فین‌تک", province="تهران"
)


def _application(i: int, **overrides: object) -> schemas.Application:
    fields: dict[str, object] = {
        "id": f"a-{i:03d}",
        "startup_name": f"استارتاپ {i:03d}",
        "business_plan": "طرح کسب‌وکار",
        "province": "اصفهان" if i % 2 else "تهران",
        "funding_ask": i * 1_000,
        "round_id": "r1" if i < 3 else None,
    }
    fields.update(overrides)
    return schemas.Application.model_validate(fields)


@pytest.fixture
def filled(store: Store) -> Store:
    store.upsert_programs([PROGRAM])
    store.upsert_applications([_application(i) for i in range(1, 8)])
    store.upsert_outcomes([schemas.Outcome(application_id="a-002", program_id="p1")])
    return store


def test_pages_sorts_and_totals(filled: Store) -> None:
    first = list_applications(filled, sort="funding", page=1, page_size=3)
    assert first.total == 7
    assert [a.id for a in first.items] == ["a-007", "a-006", "a-005"]
    last = list_applications(filled, sort="funding", page=3, page_size=3)
    assert [a.id for a in last.items] == ["a-001"]
    by_name = list_applications(filled, sort="name", page_size=2)
    assert [a.startup_name for a in by_name.items] == ["استارتاپ 001", "استارتاپ 002"]
    assert not hasattr(by_name.items[0], "business_plan")


def test_search_round_and_decisions(filled: Store) -> None:
    found = list_applications(filled, search="اصفهان")
    assert {a.id for a in found.items} == {"a-001", "a-003", "a-005", "a-007"}
    assert list_applications(filled, search="a-00%_4").total == 1  # % and _ are dropped
    in_round = list_applications(filled, round_id="r1", sort="oldest")
    assert [(a.id, a.decided) for a in in_round.items] == [("a-001", False), ("a-002", True)]


def _ids(store: Store, **filters: object) -> list[str]:
    found = list_applications(store, filters=ApplicationFilters(**filters), sort="oldest")  # type: ignore[arg-type]
    return [a.id for a in found.items]


def test_status_program_sector_province_filters_combine(filled: Store) -> None:
    filled.upsert_programs([PROGRAM.model_copy(update={"id": "p2"})])
    filled.upsert_applications([_application(3, sectors=["fintech", "health"])])
    filled.add_applied("a-001", "p1", None)
    filled.add_applied("a-003", "p2", None)
    filled.set_shortlisted("a-003", "p1", on=True, added_by="user:s")
    filled.upsert_outcomes(
        [schemas.Outcome(application_id="a-004", program_id="p1", decided_on="2026-03-01")]
    )
    by_status = {
        s: _ids(filled, status=s) for s in ("new", "applied", "shortlisted", "decided")
    }
    assert by_status == {
        "new": ["a-005", "a-006", "a-007"],
        "applied": ["a-001"],
        "shortlisted": ["a-003"],
        "decided": ["a-002", "a-004"],
    }
    assert _ids(filled, program_id="p1") == ["a-001", "a-003"]
    assert _ids(filled, program_id="p1", program_link="applied") == ["a-001"]
    assert _ids(filled, program_id="p1", program_link="shortlisted") == ["a-003"]
    assert _ids(filled, program_id="p2", program_link="applied") == ["a-003"]
    assert _ids(filled, sector="health") == ["a-003"]
    assert _ids(filled, province="اصفهان", program_id="p1") == ["a-001", "a-003"]
    assert _ids(filled, province="تهران", status="decided") == ["a-002", "a-004"]
    assert _ids(filled, province="تهران", status="decided", round_id="r1") == ["a-002"]
    page = list_applications(filled, filters=ApplicationFilters(status="decided"), page_size=1)
    assert page.total == 2 and len(page.items) == 1
    dates = {a.id: a.last_decided_on for a in list_applications(filled).items}
    assert dates["a-004"].isoformat() == "2026-03-01" and dates["a-002"] is None
    assert application_status(filled, "a-003") == "shortlisted"
    assert application_status(filled, "a-007") == "new"


def test_status_is_what_the_scope_sees(filled: Store) -> None:
    """House B's shortlist of house A's application is B's to see: A sees it as new."""
    filled.upsert_organizations(
        [schemas.Organization(id=h, name=f"خانهٔ {h}") for h in ("house-a", "house-b")]
    )
    filled.upsert_programs([PROGRAM.model_copy(update={"id": "pb", "org_id": "house-b"})])
    filled.upsert_applications([_application(1, org_id="house-a")])
    filled.add_applied("a-001", "pb", None)
    filled.set_shortlisted("a-001", "pb", on=True, org_id="house-b", added_by="user:b")
    house_a, house_b = (filled.scoped(Scope.house(h)) for h in ("house-a", "house-b"))
    assert application_status(filled, "a-001") == "shortlisted"
    assert application_status(house_b, "a-001") == "shortlisted"
    assert application_status(house_a, "a-001") == "new"
    assert [a.id for a in list_applications(house_a, filters=ApplicationFilters(
        status="new")).items] == ["a-001"]


def test_bad_sort_or_page_is_refused(filled: Store) -> None:
    with pytest.raises(InvalidInputError):
        list_applications(filled, sort="evil")
    with pytest.raises(InvalidInputError):
        list_applications(filled, page=0)
    for bad in ({"status": "lost"}, {"sector": "no-such"}, {"program_link": "x"}):
        with pytest.raises(InvalidInputError):
            list_applications(filled, filters=ApplicationFilters(**bad))  # type: ignore[arg-type]
