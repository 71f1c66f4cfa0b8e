"""Accounts (admin only), and `GET /v1/users/me` for anyone signed in.

Roles: admin, network (the network's operator), staff of one house (`org_id`, see
`GET /v1/orgs`; in a single-house install the only house when none is given), applicant. A
house given to another role, an unknown or inactive house, or staff without one in a network
of several answer 422 and change nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from ..accounts import User
from ..deps import AccountsDep, AdminDep, CurrentUserDep, StoreDep
from ..schemas import TokenCreated, UserCreate, UserCreated, UserPatch, UserPublic

router = APIRouter(prefix="/v1/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        name=user.name,
        role=user.role,
        active=user.active,
        has_password=user.has_password,
        created_at=user.created_at,
        org_id=user.org_id,
    )


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUserDep) -> UserPublic:
    """The account of the token."""
    return user_public(user)


@router.get("", response_model=list[UserPublic])
def list_users(accounts: AccountsDep, admin: AdminDep) -> list[UserPublic]:
    return [user_public(u) for u in accounts.list_users()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserCreated)
def add_user(
    body: UserCreate, accounts: AccountsDep, store: StoreDep, admin: AdminDep
) -> UserCreated:
    """Create an account; its first API token is in the answer (shown once)."""
    user, token = accounts.add_user(body.name, body.role, body.password, org_id=body.org_id)
    store.audit(
        admin.actor, "create", "user", user.name, {"role": user.role, "org_id": user.org_id}
    )
    return UserCreated(user=user_public(user), token=token)


@router.patch("/{user_id}", response_model=UserPublic)
def change_user(
    user_id: UserId, body: UserPatch, accounts: AccountsDep, store: StoreDep, admin: AdminDep
) -> UserPublic:
    """Disable/enable an account (disabling revokes its tokens and sessions), set a password,
    or move a staff account to another house (`org_id`)."""
    user = accounts.get_user(user_id)
    if "org_id" in body.model_fields_set:  # checked first: a bad house changes nothing
        user = accounts.set_house(user_id, body.org_id)
    if body.password is not None:
        accounts.set_password(user_id, body.password)
    if body.active is not None:
        user = accounts.set_active(user_id, body.active)
    store.audit(
        admin.actor,
        "update",
        "user",
        user.name,
        {"fields": sorted(body.model_dump(exclude_unset=True))},
    )
    return user_public(accounts.get_user(user_id))


@router.post("/{user_id}/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
def new_token(
    user_id: UserId, accounts: AccountsDep, store: StoreDep, admin: AdminDep
) -> TokenCreated:
    """Another API token for the account (shown once)."""
    token = accounts.issue_token(user_id, label=f"by {admin.name}")
    store.audit(admin.actor, "issue_token", "user", str(user_id))
    return TokenCreated(token=token)
