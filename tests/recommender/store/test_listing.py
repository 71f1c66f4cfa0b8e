"""`store.listing.list_applications`: the staff's paged, searchable list of applications."""

from __future__ import annotations

import pytest

from recommender import schemas
from recommender.errors import InvalidInputError
from recommender.store.database import Store
from recommender.store.listing import list_applications

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


def test_bad_sort_or_page_is_refused(filled: Store) -> None:
    with pytest.raises(InvalidInputError):
        list_applications(filled, sort="evil")
    with pytest.raises(InvalidInputError):
        list_applications(filled, page=0)
