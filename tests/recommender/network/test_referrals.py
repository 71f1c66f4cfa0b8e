"""The referral rules (`recommender.network.referrals`) on the store, SQLite and PostgreSQL:
states and who may move them, what the receiving house may read (tenancy, and row-level
security on PostgreSQL), the guarded status change, and the houses to suggest."""

from __future__ import annotations

from typing import Any

import pytest

from recommender import schemas
from recommender.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from recommender.network import referrals as rules
from recommender.network.referrals import Actor
from recommender.store.tables import ApplicationOwnerRow, UserRow, utcnow
from recommender.store.tenancy import Scope

ORGS = [
    schemas.Organization(id="a", name="خانه الف", kind="creative_house"),
    schemas.Organization(id="b", name="خانه ب", kind="innovation_center"),
    schemas.Organization(id="c", name="خانه ج", kind="incubator"),
    schemas.Organization(id="off", name="خانه خاموش", kind="fund", active=False),
]


def _program(pid: str, org: str, **extra: Any) -> schemas.Program:
    return schemas.Program(
        id=pid,
        name=f"برنامه {pid}",
        kind="accelerator",
        description="برنامهٔ آزمایشی",
        province="تهران",
        org_id=org,
        **extra,
    )


PROGRAMS = [
    _program("pa", "a"),
    _program("pb", "b"),
    _program("pb-off", "b", active=False),
    _program("pc", "c"),
]
STAFF_A = Actor("user:sa", "staff", "a")
STAFF_B = Actor("user:sb", "staff", "b")
STAFF_C = Actor("user:sc", "staff", "c")
NETWORK = Actor("user:net", "network")
OWNER = Actor("user:owner", "applicant")


@pytest.fixture
def world(store: Any) -> dict[str, Any]:
    store.upsert_organizations(ORGS)
    store.upsert_programs(PROGRAMS)
    apps = [
        schemas.Application(id="app-1", startup_name="الف", business_plan="طرح", org_id="a"),
        schemas.Application(
            id="app-2", startup_name="ب", business_plan="طرح", org_id="a", share_with_network=True
        ),
        schemas.Application(id="app-3", startup_name="ج", business_plan="طرح", org_id="c"),
    ]
    store.upsert_applications(apps)
    with store.session() as s:
        owner = UserRow(name="owner", role="applicant", active=True, created_at=utcnow())
        other = UserRow(name="other", role="applicant", active=True, created_at=utcnow())
        s.add_all([owner, other])
        s.flush()
        for app in apps:
            s.add(ApplicationOwnerRow(application_id=app.id, user_id=owner.id))
        ids = {"owner": owner.id, "other": other.id}
    return {
        "all": store,
        "a": store.scoped(Scope.house("a")),
        "b": store.scoped(Scope.house("b")),
        "c": store.scoped(Scope.house("c")),
        "owner": store.scoped(Scope.owner(ids["owner"])),
        "other": store.scoped(Scope.owner(ids["other"])),
    }


def test_consent_opens_the_application_to_the_receiving_house_only_while_live(world):
    a, b, c, owner = world["a"], world["b"], world["c"], world["owner"]
    referral = rules.refer(a, STAFF_A, "app-1", "b", program_id="pb", note="  مناسب است ")
    assert (referral.status, referral.from_org, referral.note) == (
        "pending_consent",
        "a",
        "مناسب است",
    )
    with pytest.raises(NotFoundError):
        b.get_application("app-1")  # no consent yet
    assert rules.list_referrals(b, STAFF_B, "incoming") == []
    assert [r.id for r in rules.list_referrals(a, STAFF_A, "outgoing")] == [referral.id]

    assert rules.consent(owner, OWNER, referral.id).status == "open"
    assert b.get_application("app-1").id == "app-1"
    assert [x.id for x in b.list_applications()] == ["app-1"]
    with pytest.raises(NotFoundError):
        c.get_application("app-1")  # a third house still sees nothing
    with pytest.raises(NotFoundError):
        rules.accept(c, STAFF_C, referral.id)
    assert rules.accept(b, STAFF_B, referral.id).status == "accepted"
    assert b.get_application("app-1").id == "app-1"


def test_shared_application_starts_open_and_answers_close_it(world):
    a, b = world["a"], world["b"]
    first = rules.refer(a, STAFF_A, "app-2", "b")
    assert first.status == "open"
    assert rules.decline(b, STAFF_B, first.id).status == "declined"
    with pytest.raises(NotFoundError):
        b.get_application("app-2")
    second = rules.refer(a, STAFF_A, "app-2", "b")
    assert rules.withdraw(a, STAFF_A, second.id).status == "withdrawn"
    with pytest.raises(NotFoundError):
        b.get_application("app-2")


def test_refusal_withdraws(world):
    a, b, owner = world["a"], world["b"], world["owner"]
    referral = rules.refer(a, STAFF_A, "app-1", "b", note="fits their agritech program")
    with pytest.raises(NotFoundError):
        b.get_referral(referral.id)  # waiting for consent: not the receiving house's yet
    assert rules.refuse(owner, OWNER, referral.id).status == "withdrawn"
    with pytest.raises(ConflictError):
        rules.consent(owner, OWNER, referral.id)
    with pytest.raises(NotFoundError):
        b.get_application("app-1")
    with pytest.raises(NotFoundError):
        b.get_referral(referral.id)  # refused: never opened to the house, nor its note
    assert rules.list_referrals(b, STAFF_B) == []


@pytest.mark.parametrize(
    ("to_org", "program_id", "words"),
    [
        ("a", None, "already at this house"),
        ("off", None, "is not active"),
        ("zz", None, "no house with id"),
        ("b", "pc", "is not run by the house"),
        ("b", "pb-off", "is not active"),
        ("b", "nope", "no program with id"),
    ],
)
def test_bad_targets_change_nothing(world, to_org, program_id, words):
    a = world["a"]
    with pytest.raises(InvalidInputError, match=words):
        rules.refer(a, STAFF_A, "app-1", to_org, program_id=program_id)
    assert world["all"].list_referrals() == []
    assert world["all"].list_audit(target_kind="referral") == []


def test_who_may_refer_and_answer(world):
    a, b, c, owner, other = (world[k] for k in ("a", "b", "c", "owner", "other"))
    with pytest.raises(NotFoundError):
        rules.refer(c, STAFF_C, "app-1", "b")  # another house's application: like a missing one
    with pytest.raises(PermissionDeniedError):
        rules.refer(owner, OWNER, "app-1", "b")
    referral = rules.refer(world["all"], NETWORK, "app-3", "b")  # the network refers any
    assert referral.from_org == "c"
    with pytest.raises(ConflictError):
        rules.refer(c, STAFF_C, "app-3", "b")  # a live one to b exists
    with pytest.raises(NotFoundError):
        rules.consent(other, Actor("user:other", "applicant"), referral.id)
    with pytest.raises(PermissionDeniedError):
        rules.consent(c, STAFF_C, referral.id)
    rules.consent(owner, OWNER, referral.id)
    with pytest.raises(PermissionDeniedError):
        rules.refer(b, STAFF_B, "app-3", "a")  # b reads it now but does not hold it
    with pytest.raises(PermissionDeniedError):
        rules.accept(c, STAFF_C, referral.id)  # the referring house
    with pytest.raises(PermissionDeniedError):
        rules.accept(world["all"], NETWORK, referral.id)
    with pytest.raises(PermissionDeniedError):
        rules.withdraw(b, STAFF_B, referral.id)
    assert world["all"].get_referral(referral.id).status == "open"
    assert [e.action for e in world["all"].list_audit(target_kind="referral")] == [
        "consent",
        "refer",
    ]


def test_a_stale_read_loses_the_guarded_update(world, monkeypatch):
    """Two racing accepts both read `open`; the guarded UPDATE lets only the first through."""
    b = world["b"]
    referral = rules.refer(world["a"], STAFF_A, "app-2", "b")
    stale = referral.model_copy()
    rules.accept(b, STAFF_B, referral.id)
    monkeypatch.setattr(type(b), "get_referral", lambda self, rid, session=None: stale)
    with pytest.raises(ConflictError, match="reload and retry"):
        rules.decline(b, STAFF_B, referral.id)
    monkeypatch.undo()
    assert world["all"].get_referral(referral.id).status == "accepted"
    actions = [e.action for e in world["all"].list_audit(target_kind="referral")]
    assert actions == ["accept", "refer"]  # the loser wrote nothing


def test_suggest_houses(world):
    a = world["all"].get_application("app-1")
    store = world["all"]
    found = rules.suggest_houses(store, a, ["pb", "pc", "pa", "pb-off"])
    assert [(h.org_id, h.program_ids) for h in found] == [("b", ("pb",)), ("c", ("pc",))]
    assert found[0].name == "خانه ب"
    assert rules.suggest_houses(store, a, ["pa", "pb"]) == []  # its own house fits best
    assert [h.org_id for h in rules.suggest_houses(store, a, ["pb", "pa", "pc"])] == ["b"]
    network_wide = a.model_copy(update={"org_id": None})
    assert [h.org_id for h in rules.suggest_houses(store, network_wide, ["pa", "pb"])] == ["a", "b"]
    assert rules.may_refer(STAFF_A, a) and not rules.may_refer(STAFF_B, a)


def test_row_level_security_follows_the_referral_on_postgres(world):
    """The database's own wall (no store filter in the query): house b reads app-1 only while
    its referral is open or accepted."""
    if world["all"].dialect != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    import sqlalchemy as sa

    from recommender.store.tables import ApplicationRow, ReferralRow

    def raw_ids(scoped: Any, table: Any) -> set[str]:
        with scoped.session() as s:
            return set(s.scalars(sa.select(table.id)))

    b = world["b"]
    referral = rules.refer(world["a"], STAFF_A, "app-1", "b")
    assert raw_ids(b, ApplicationRow) == set()
    assert raw_ids(b, ReferralRow) == set()  # waiting for consent: not b's yet (0005)
    assert raw_ids(world["c"], ReferralRow) == set()
    rules.consent(world["owner"], OWNER, referral.id)
    assert raw_ids(b, ApplicationRow) == {"app-1"}
    assert raw_ids(b, ReferralRow) == {referral.id}
    rules.accept(b, STAFF_B, referral.id)
    assert raw_ids(b, ApplicationRow) == {"app-1"}
    second = rules.refer(world["a"], STAFF_A, "app-2", "b")
    rules.decline(b, STAFF_B, second.id)
    assert raw_ids(b, ApplicationRow) == {"app-1"}
    assert raw_ids(world["other"], ReferralRow) == set()
    assert raw_ids(world["owner"], ReferralRow) == {referral.id, second.id}
