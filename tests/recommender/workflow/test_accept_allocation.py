"""`workflow.allocation.accept_allocation` on SQLite and PostgreSQL with scoped stores: an
allocation becomes decisions in one step, all or nothing; every failing pair is named with
the figures; another house's round is a NotFoundError; accepting again corrects (history
kept)."""

from __future__ import annotations

from typing import Any

import pytest

from recommender import workflow
from recommender.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from recommender.store.tenancy import Scope
from recommender.workflow.allocation import (
    ACCEPT_NOTE,
    AllocationRefused,
    accept_allocation,
    allocation_pairs,
)
from tests._allocation import allocation_state, pair

from .conftest import NETWORK, OWNER, STAFF_A, STAFF_B, TODAY


@pytest.fixture
def applied(seeded: Any) -> Any:
    """x and y applied to house B's program pb in round rb (budget 1,500; max 1,000)."""
    store, owner_id = seeded
    mine = store.scoped(Scope.owner(owner_id))
    for app_id in ("x", "y"):
        workflow.apply(mine, OWNER, app_id, "pb", today=TODAY)
    return store, store.scoped(Scope.house("house-b"))


def test_accepting_turns_every_pair_into_a_decision(applied: Any):
    store, house_b = applied
    pairs = [pair("x", "pb", True, 700), pair("y", "pb", False, 800)]
    made = accept_allocation(house_b, STAFF_B, "rb", pairs, today=TODAY)
    assert [(d.application_id, d.residency_granted, d.funded_amount) for d in made] == [
        ("x", True, 700),
        ("y", False, 800),
    ]
    assert {(d.decided_by, d.note, d.round_id, d.applied) for d in made} == {
        ("user:b", ACCEPT_NOTE, "rb", True)
    }
    outcomes = {o.application_id: o.funded_amount for o in store.list_outcomes()}
    assert outcomes == {"x": 700, "y": 800}
    assert [e.action for e in store.list_audit() if e.action == "accept_allocation"] == [
        "accept_allocation"
    ]

    # Accepting a new allocation corrects its pairs' decisions (the history is kept); a
    # pair it leaves out keeps its decision. x's own 700 is not counted twice: 1,500 - 800.
    accept_allocation(house_b, STAFF_B, "rb", [pair("x", "pb", False, 700)], today=TODAY)
    accept_allocation(house_b, STAFF_B, "rb", [pair("x", "pb", False, 650)], today=TODAY)
    assert [d.funded_amount for d in store.list_decisions("x")] == [700, 700, 650]
    outcomes = {o.application_id: o.funded_amount for o in store.list_outcomes()}
    assert outcomes == {"x": 650, "y": 800}


def test_one_failing_pair_stores_nothing_and_every_failure_is_named(applied: Any):
    store, house_b = applied
    # y's 900 passes the budget (1,500) after x's 600: the third pair breaks the max, and
    # the second would have fitted alone. Nothing is stored.
    pairs = [
        pair("x", "pb", True, 600),
        pair("y", "pb", False, 1_200),
        pair("x", "pa", False, 0),  # house A's program: not in the round
    ]
    with pytest.raises(AllocationRefused) as caught:
        accept_allocation(house_b, STAFF_B, "rb", pairs, today=TODAY)
    refused = {(r.application_id, r.program_id): r.reason for r in caught.value.refusals}
    assert set(refused) == {("y", "pb"), ("x", "pa")}
    assert "funding_max of 1,000" in refused[("y", "pb")]
    assert "۱٬۲۰۰ ریال" in refused[("y", "pb")] and "۱٬۰۰۰ ریال" in refused[("y", "pb")]
    assert "not in the round" in refused[("x", "pa")]
    assert "هیچ تصمیمی ثبت نشد" in str(caught.value)
    assert store.list_decisions("x") == [] and store.list_decisions("y") == []
    assert store.list_outcomes() == []
    assert not [e for e in store.list_audit() if e.action in ("decide", "accept_allocation")]


def test_the_round_budget_counts_the_pairs_before(applied: Any):
    store, house_b = applied
    pairs = [pair("x", "pb", False, 1_000), pair("y", "pb", False, 600)]
    with pytest.raises(AllocationRefused) as caught:
        accept_allocation(house_b, STAFF_B, "rb", pairs, today=TODAY)
    ((refusal),) = caught.value.refusals
    assert (refusal.application_id, refusal.program_id) == ("y", "pb")
    assert "500 rials left" in refusal.reason and "۵۰۰ ریال" in refusal.reason
    assert store.list_outcomes() == []


def test_who_may_accept(applied: Any):
    store, house_b = applied
    pairs = [pair("x", "pb", True, 100)]
    with pytest.raises(NotFoundError):  # house A cannot see house B's round
        accept_allocation(store.scoped(Scope.house("house-a")), STAFF_A, "rb", pairs)
    with pytest.raises(PermissionDeniedError):
        accept_allocation(house_b, OWNER, "rb", pairs)
    with pytest.raises(InvalidInputError, match="nothing to accept"):
        accept_allocation(house_b, STAFF_B, "rb", [])
    assert store.list_outcomes() == []
    made = accept_allocation(store, NETWORK, "rb", pairs, today=TODAY)
    assert [d.decided_by for d in made] == ["user:net"]


def test_pairs_of_a_saved_allocation(applied: Any):
    state = allocation_state("rb", [pair("x", "pb", True, 100)])
    (one,) = allocation_pairs(state, "rb")
    assert (one.application_id, one.program_id, one.residency, one.funding_amount) == (
        "x",
        "pb",
        True,
        100,
    )
    with pytest.raises(InvalidInputError, match="another round|not 'ra'"):
        allocation_pairs(state, "ra")
