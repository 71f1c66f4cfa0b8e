"""Referrals of applications between houses (DESIGN.md, API contract additions).

The rules live in `recommender.network.referrals`; these handlers only pass the caller and
their scoped store. Refusing consent is its own route (`POST /referrals/{id}/refuse`, the
referral becomes `withdrawn`); `consent` takes no body.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from recommender.network import referrals as rules

from ..accounts import User
from ..deps import CurrentUserDep, StaffDep, StoreDep
from ..schemas import ReferralCreate, ReferralPublic

router = APIRouter(prefix="/v1", tags=["network"])


def actor_of(user: User) -> rules.Actor:
    """The referral rules' view of a signed-in account."""
    return rules.Actor(name=user.actor, role=user.role, org_id=user.org_id)


@router.post(
    "/applications/{application_id}/referrals",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralPublic,
)
def refer(
    application_id: str, body: ReferralCreate, store: StoreDep, user: StaffDep
) -> ReferralPublic:
    """Refer an application to another house: staff of the house that holds it, the network
    operator or admin. `open` at once when the applicant shares it with the network, else
    `pending_consent`."""
    referral = rules.refer(
        store,
        actor_of(user),
        application_id,
        body.to_org,
        program_id=body.program_id,
        note=body.note,
    )
    return ReferralPublic.of(referral)


@router.get("/applications/{application_id}/referrals", response_model=list[ReferralPublic])
def referrals_of_application(
    application_id: str, store: StoreDep, user: CurrentUserDep
) -> list[ReferralPublic]:
    """The referrals of one application that the caller may see (its owner included)."""
    return [ReferralPublic.of(r) for r in rules.referrals_of(store, application_id)]


@router.get("/referrals", response_model=list[ReferralPublic])
def list_referrals(
    store: StoreDep,
    user: StaffDep,
    direction: Annotated[Literal["incoming", "outgoing"] | None, Query()] = None,
) -> list[ReferralPublic]:
    """Staff: their house's incoming and/or outgoing referrals (incoming ones only once the
    applicant has consented); the network operator and admin: every referral."""
    return [ReferralPublic.of(r) for r in rules.list_referrals(store, actor_of(user), direction)]


@router.post("/referrals/{referral_id}/consent", response_model=ReferralPublic)
def consent(referral_id: str, store: StoreDep, user: CurrentUserDep) -> ReferralPublic:
    """The owning applicant consents: pending_consent -> open."""
    return ReferralPublic.of(rules.consent(store, actor_of(user), referral_id))


@router.post("/referrals/{referral_id}/refuse", response_model=ReferralPublic)
def refuse(referral_id: str, store: StoreDep, user: CurrentUserDep) -> ReferralPublic:
    """The owning applicant refuses: pending_consent -> withdrawn."""
    return ReferralPublic.of(rules.refuse(store, actor_of(user), referral_id))


@router.post("/referrals/{referral_id}/accept", response_model=ReferralPublic)
def accept(referral_id: str, store: StoreDep, user: CurrentUserDep) -> ReferralPublic:
    """Staff of the receiving house accept an open referral: open -> accepted."""
    return ReferralPublic.of(rules.accept(store, actor_of(user), referral_id))


@router.post("/referrals/{referral_id}/decline", response_model=ReferralPublic)
def decline(referral_id: str, store: StoreDep, user: CurrentUserDep) -> ReferralPublic:
    """Staff of the receiving house decline an open referral: open -> declined."""
    return ReferralPublic.of(rules.decline(store, actor_of(user), referral_id))


@router.post("/referrals/{referral_id}/withdraw", response_model=ReferralPublic)
def withdraw(referral_id: str, store: StoreDep, user: CurrentUserDep) -> ReferralPublic:
    """The referring house (or the network operator) withdraws: pending_consent | open ->
    withdrawn."""
    return ReferralPublic.of(rules.withdraw(store, actor_of(user), referral_id))
