"""The store's one tenancy layer on SQLite and PostgreSQL: writes of programs through
`own_program`, ids unique across houses (the same answer whichever database hides what), and
audit entries an applicant may write but not read."""

from __future__ import annotations

import datetime as dt

import pytest

from recommender import schemas
from recommender.errors import ImportValidationError, NotFoundError
from recommender.store.database import Store
from recommender.store.tenancy import Scope

A, B = Scope.house("house-a"), Scope.house("house-b")


@pytest.fixture
def houses(store: Store) -> Store:
    store.upsert_organizations(
        [
            schemas.Organization(id="house-a", name="خانهٔ الف"),
            schemas.Organization(id="house-b", name="خانهٔ ب"),
        ]
    )
    store.upsert_programs(
        [
            schemas.Program(
                id="prog-a",
                name="برنامهٔ الف",
                kind="accelerator",
                description="شتاب‌دهنده",
                province="تهران",
                org_id="house-a",
            )
        ]
    )
    today = dt.date.today()
    store.upsert_rounds(
        [
            schemas.IntakeRound(
                id="round-a",
                name="دوره",
                opens_on=today,
                closes_on=today,
                org_id="house-a",
                program_ids=["prog-a"],
            )
        ]
    )
    store.upsert_applications(
        [
            schemas.Application(
                id="app-a", startup_name="الف", business_plan="طرح پرداخت", round_id="round-a"
            )
        ]
    )
    return store


def test_another_houses_program_is_missing_to_a_writer_but_readable(houses: Store):
    assert houses.scoped(A).own_program("prog-a").org_id == "house-a"
    assert houses.own_program("prog-a").id == "prog-a"  # the CLI and admin change any
    with pytest.raises(NotFoundError) as other:
        houses.scoped(B).own_program("prog-a")
    with pytest.raises(NotFoundError) as missing:
        houses.scoped(B).own_program("nothing")
    assert str(other.value).replace("prog-a", "X") == str(missing.value).replace("nothing", "X")
    assert houses.scoped(B).get_program("prog-a").id == "prog-a"  # read network-wide
    assert houses.scoped(A).own_program_ids() == {"prog-a"}
    assert houses.scoped(B).own_program_ids() == set()
    assert houses.scoped(Scope.owner(1)).own_program_ids() == set()


@pytest.mark.parametrize("kind", ["applications", "rounds"])
def test_reusing_another_houses_id_is_the_same_row_error_on_every_database(
    houses: Store, kind: str
):
    stored = (
        houses.get_application("app-a") if kind == "applications" else houses.get_round("round-a")
    )
    again = stored.model_copy(update={"org_id": None})
    if kind == "rounds":
        again = again.model_copy(update={"programs": [], "program_ids": []})
    house_b = houses.scoped(B)
    assert house_b.existing_ids(kind, [stored.id]) == {stored.id}  # ids are network-wide
    with pytest.raises(ImportValidationError) as refused:
        house_b.upsert(kind, [again])
    assert [(e.row, e.field) for e in refused.value.errors] == [(1, "org_id")]
    assert "already used by another house" in refused.value.errors[0].reason
    assert (
        houses.get_application("app-a") if kind == "applications" else houses.get_round("round-a")
    ).org_id == "house-a"


def test_an_applicant_writes_audit_entries_and_reads_none(houses: Store):
    houses.scoped(A).audit("user:staff-a", "read", "application", "app-a")
    applicant = houses.scoped(Scope.owner(7))
    applicant.audit("user:someone", "consent", "referral", "ref-1")
    assert [e.action for e in houses.list_audit()] == ["consent", "read"]
    assert applicant.list_audit() == []
    assert [e.action for e in houses.scoped(A).list_audit()] == ["read"]
    assert houses.scoped(B).list_audit() == []


def test_house_names_come_in_one_map(houses: Store):
    assert houses.scoped(B).org_names() == {"house-a": "خانهٔ الف", "house-b": "خانهٔ ب"}
