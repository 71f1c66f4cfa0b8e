"""Accounts: users with a role, their API tokens and web sessions, and which applicant owns which
application. Rows live in the store's database (tables in `recommender/store/tables.py`).

Roles: `admin` (everything, incl. managing users), `network` (the network's operator: reads
every house, the network view, refers between houses), `staff` of one house (that house's
applications, rounds, imports and outcomes; matching over the whole network's programs),
`applicant` (only their own applications and suggestions). `User.scope` is what the store
shows each of them (`recommender.store.tenancy`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recommender.constants import DEFAULT_ORG_ID
from recommender.errors import InvalidInputError, NotFoundError
from recommender.store.database import Store
from recommender.store.tables import (
    ROLES,
    ApiTokenRow,
    ApplicationOwnerRow,
    UserRow,
    WebSessionRow,
    as_utc,
    utcnow,
)
from recommender.store.tenancy import Scope

from .security import MIN_PASSWORD_CHARS, hash_password, hash_token, new_token, verify_password

USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,99}$"
SESSION_TTL = dt.timedelta(hours=12)
_TOUCH_EVERY = dt.timedelta(minutes=1)  # how stale api_tokens.last_used_at may get
STAFF_ROLES = frozenset({"staff", "admin", "network"})
DEMO_ACCOUNTS_FILE = "demo_accounts.json"


@dataclass(frozen=True)
class User:
    """A signed-in or stored account, as handlers see it."""

    id: int
    name: str
    role: str
    active: bool
    has_password: bool
    created_at: dt.datetime
    org_id: str | None = None

    @property
    def is_staff(self) -> bool:
        """Staff of a house, the network operator or admin: the staff side of the product."""
        return self.role in STAFF_ROLES

    @property
    def sees_every_house(self) -> bool:
        """Admin and the network operator read every house."""
        return self.role in ("admin", "network")

    @property
    def scope(self) -> Scope:
        """What the store shows this account."""
        if self.role == "applicant":
            return Scope.owner(self.id)
        if self.role == "staff" and self.org_id:
            return Scope.house(self.org_id)
        if self.role == "staff":  # a staff account whose house is gone sees no house's rows
            return Scope.house("-")
        return Scope.everything()

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"user:{self.name}"


def _to_user(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=row.role,
        active=row.active,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
        org_id=row.org_id,
    )


def check_user_name(name: str) -> str:
    """Raises InvalidInputError unless `name` is 2-100 latin letters, digits or `_ . @ -`."""
    if not re.match(USER_NAME_PATTERN, name or ""):
        raise InvalidInputError(
            "a user name is 2-100 latin letters, digits or _ . @ -"
            " and starts with a letter or digit"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInputError(f"unknown role '{role}'; use one of: {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInputError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


class Accounts:
    """Users, tokens, sessions and application owners on one store.

    Args:
        store: a migrated `Store` (revision 0002 or later).
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ users
    def house_for(self, role: str, org_id: str | None) -> str | None:
        """The house an account of `role` belongs to: staff need one (the only house of a
        single-house install when none is named); the other roles have none.

        Raises:
            InvalidInputError: staff with no house in a network of several, an unknown or
                inactive house, or a house given to another role.
        """
        if role != "staff":
            if org_id:
                raise InvalidInputError(f"only staff belong to a house; the role '{role}' has none")
            return None
        if not org_id:
            org_id = self.store.ensure_default_organization()
            if org_id is None:
                raise InvalidInputError(
                    "staff belong to one house: name it (--org ORG; see `peyvand orgs list`)"
                )
        try:
            org = self.store.get_organization(org_id)
        except NotFoundError:
            raise InvalidInputError(f"no house with id '{org_id}'") from None
        if not org.active:
            raise InvalidInputError(f"the house '{org_id}' is not active")
        return org.id

    def add_user(
        self,
        name: str,
        role: str,
        password: str | None = None,
        *,
        token_label: str = "initial",
        org_id: str | None = None,
    ) -> tuple[User, str]:
        """Create an account and its first API token.

        Returns:
            (user, token): the token is shown once; only its hash is kept.

        Raises:
            InvalidInputError: bad name/role/password/house, or the name is taken.
        """
        check_user_name(name)
        check_role(role)
        password_hash = hash_password(check_password(password)) if password is not None else None
        house = self.house_for(role, org_id)
        token = new_token()
        try:
            with self.store.session() as s:
                row = UserRow(
                    name=name,
                    role=role,
                    org_id=house,
                    password_hash=password_hash,
                    active=True,
                    created_at=utcnow(),
                )
                s.add(row)
                s.flush()
                s.add(
                    ApiTokenRow(
                        user_id=row.id,
                        token_hash=hash_token(token),
                        label=token_label,
                        created_at=utcnow(),
                    )
                )
                user = _to_user(row)
        except IntegrityError:
            raise InvalidInputError(f"the user name '{name}' is already taken") from None
        return user, token

    def get_user(self, user_id: int) -> User:
        """Raises: NotFoundError."""
        with self.store.session() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError(f"no user with id {user_id}")
            return _to_user(row)

    def find_user(self, name: str) -> User | None:
        with self.store.session() as s:
            row = s.scalar(sa.select(UserRow).where(UserRow.name == name))
            return _to_user(row) if row else None

    def list_users(self) -> list[User]:
        with self.store.session() as s:
            return [_to_user(r) for r in s.scalars(sa.select(UserRow).order_by(UserRow.id))]

    def set_password(self, user_id: int, password: str) -> None:
        """Raises: NotFoundError, InvalidInputError (too short)."""
        password_hash = hash_password(check_password(password))
        with self.store.session() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError(f"no user with id {user_id}")
            row.password_hash = password_hash

    def set_house(self, user_id: int, org_id: str | None) -> User:
        """Move an account to another house (staff only; the other roles have none). Its
        next request already sees the new house: sessions and tokens read the account afresh.

        Raises:
            NotFoundError: no such account.
            InvalidInputError: as `house_for` (no house for staff in a network of several, an
                unknown or inactive house, a house for another role).
        """
        user = self.get_user(user_id)
        house = self.house_for(user.role, org_id)
        with self.store.session() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError(f"no user with id {user_id}")
            row.org_id = house
            return _to_user(row)

    def set_active(self, user_id: int, active: bool) -> User:
        """Enable or disable an account; disabling ends its web sessions and revokes its tokens.

        Raises: NotFoundError.
        """
        now = utcnow()
        with self.store.session() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError(f"no user with id {user_id}")
            row.active = active
            if not active:
                s.execute(
                    sa.update(ApiTokenRow)
                    .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
                s.execute(sa.delete(WebSessionRow).where(WebSessionRow.user_id == user_id))
            return _to_user(row)

    # ----------------------------------------------------------------- tokens
    def issue_token(self, user_id: int, label: str = "") -> str:
        """A new API token for the user (shown once). Raises: NotFoundError."""
        token = new_token()
        with self.store.session() as s:
            if s.get(UserRow, user_id) is None:
                raise NotFoundError(f"no user with id {user_id}")
            s.add(
                ApiTokenRow(
                    user_id=user_id,
                    token_hash=hash_token(token),
                    label=label[:100],
                    created_at=utcnow(),
                )
            )
        return token

    def user_for_token(self, token: str) -> User | None:
        """The active user of a valid, unrevoked token, else None."""
        if not token or len(token) > 200:
            return None
        now = utcnow()
        with self.store.session() as s:
            found = s.execute(
                sa.select(ApiTokenRow.id, ApiTokenRow.revoked_at, ApiTokenRow.last_used_at, UserRow)
                .join(UserRow, UserRow.id == ApiTokenRow.user_id)
                .where(ApiTokenRow.token_hash == hash_token(token))
            ).first()
            if found is None:
                return None
            token_id, revoked_at, last_used_at, user_row = found
            if revoked_at is not None or not user_row.active:
                return None
            user = _to_user(user_row)
        if last_used_at is None or now - as_utc(last_used_at) > _TOUCH_EVERY:
            # A separate write-only transaction: on SQLite a read transaction that turns
            # into a write can fail at once when another thread wrote meanwhile.
            with self.store.session() as s:
                s.execute(
                    sa.update(ApiTokenRow)
                    .where(ApiTokenRow.id == token_id)
                    .values(last_used_at=now)
                )
        return user

    def revoke_tokens(self, user_id: int) -> int:
        """Revoke every token of the user; returns how many."""
        with self.store.session() as s:
            result = s.execute(
                sa.update(ApiTokenRow)
                .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return int(result.rowcount or 0)

    # --------------------------------------------------------------- passwords
    def authenticate(self, name: str, password: str) -> User | None:
        """The active user with this name and password, else None (same time either way)."""
        with self.store.session() as s:
            row = s.scalar(sa.select(UserRow).where(UserRow.name == name[:100]))
            user = _to_user(row) if row is not None else None
            stored = row.password_hash if row is not None else None
        # Hashed after the transaction ends: on SQLite every transaction holds the write lock
        # (BEGIN IMMEDIATE), and argon2 takes long enough to starve other writers. An unknown
        # name is checked against a dummy hash, so it costs as long as a wrong password.
        ok = verify_password(stored, password[:1000])
        if user is None or not ok or not user.active:
            return None
        return user

    # ------------------------------------------------------------ web sessions
    def start_session(self, user_id: int, ttl: dt.timedelta = SESSION_TTL) -> str:
        """A new web-session id for the user (goes into the signed cookie)."""
        raw = new_token()
        now = utcnow()
        with self.store.session() as s:
            s.execute(sa.delete(WebSessionRow).where(WebSessionRow.expires_at < now))
            s.add(
                WebSessionRow(
                    id=hash_token(raw), user_id=user_id, created_at=now, expires_at=now + ttl
                )
            )
        return raw

    def user_for_session(self, raw: str) -> User | None:
        """The active user of an unexpired session id, else None."""
        if not raw or len(raw) > 200:
            return None
        with self.store.session() as s:
            found = s.execute(
                sa.select(WebSessionRow, UserRow)
                .join(UserRow, UserRow.id == WebSessionRow.user_id)
                .where(WebSessionRow.id == hash_token(raw))
            ).first()
            if found is None:
                return None
            session_row, user_row = found
            if as_utc(session_row.expires_at) < utcnow() or not user_row.active:
                return None
            return _to_user(user_row)

    def end_session(self, raw: str) -> None:
        with self.store.session() as s:
            s.execute(sa.delete(WebSessionRow).where(WebSessionRow.id == hash_token(raw)))

    # ------------------------------------------------------ application owners
    def set_owner(self, application_id: str, user_id: int, *, session: Session) -> None:
        """Record that `user_id` owns `application_id` (inside the caller's transaction)."""
        session.merge(
            ApplicationOwnerRow(application_id=application_id, user_id=user_id, created_at=utcnow())
        )

    def owner_of(self, application_id: str) -> int | None:
        with self.store.session() as s:
            row = s.get(ApplicationOwnerRow, application_id)
            return row.user_id if row else None

    def owned_ids(self, user_id: int) -> list[str]:
        """Ids of the applications this user owns, oldest first."""
        with self.store.session() as s:
            return list(
                s.scalars(
                    sa.select(ApplicationOwnerRow.application_id)
                    .where(ApplicationOwnerRow.user_id == user_id)
                    .order_by(ApplicationOwnerRow.created_at, ApplicationOwnerRow.application_id)
                )
            )


# ------------------------------------------------------------------ demo accounts
@dataclass(frozen=True)
class DemoAccount:
    """A demo account as `demo_accounts.json` keeps it (with its house, for staff)."""

    name: str
    role: str
    password: str
    org_id: str | None = None
    org_name: str = ""


DEMO_NAMES: tuple[tuple[str, str], ...] = (
    ("demo-admin", "admin"),
    ("demo-network", "network"),
    ("demo-staff", "staff"),
    ("demo-staff-2", "staff"),
    ("demo-applicant", "applicant"),
)
#: The houses of demo-staff and demo-staff-2 in the sample network (data/organizations.json):
#: the sample plan (pistachio orchards) fits Kerman, and Isfahan's incubator runs an agritech
#: accelerator to refer it to. Other networks: their first two active houses.
DEMO_HOUSES: tuple[str, str] = ("kerman-innovation", "isfahan-incubator")


def _demo_houses(store: Store) -> tuple[str, str]:
    """(house of demo-staff, house of demo-staff-2): DEMO_HOUSES when the network has them,
    else its first two active houses (both the only one in a single-house install)."""
    houses = [o.id for o in store.list_organizations(active_only=True)]
    if not houses:
        houses = [store.ensure_default_organization() or DEFAULT_ORG_ID]
    if all(h in houses for h in DEMO_HOUSES):
        return DEMO_HOUSES
    return houses[0], houses[1] if len(houses) > 1 else houses[0]


def create_demo_accounts(store: Store, home: Path) -> list[DemoAccount]:
    """Create the demo accounts (once) with random passwords: an admin, the network operator,
    staff of two different houses (`_demo_houses`) and an applicant. They are kept in
    `home/demo_accounts.json` (mode 0600) with each account's role and house (id and Persian
    name), so `peyvand serve` can say how to sign in.

    Existing demo accounts are left alone; returns every demo account of the file.
    """
    accounts = Accounts(store)
    path = home / DEMO_ACCOUNTS_FILE
    known = {a.name: a for a in read_demo_accounts(home)}
    staff_houses = iter(_demo_houses(store))
    names = {o.id: o.name for o in store.list_organizations()}
    for name, role in DEMO_NAMES:
        house = next(staff_houses) if role == "staff" else None
        user = accounts.find_user(name)
        if name in known and user is not None:
            known[name] = replace(known[name], org_id=user.org_id,
                                  org_name=names.get(user.org_id or "", ""))
            continue
        password = secrets.token_urlsafe(9)
        if user is None:
            user, _ = accounts.add_user(name, role, password, token_label="demo", org_id=house)
        else:
            accounts.set_password(user.id, password)
        known[name] = DemoAccount(name, role, password, user.org_id,
                                  names.get(user.org_id or "", ""))
    home.mkdir(parents=True, exist_ok=True)
    data = [vars(a) for a in known.values()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
    return list(known.values())


def read_demo_accounts(home: Path) -> list[DemoAccount]:
    """The demo accounts written by `create_demo_accounts` (empty when there are none)."""
    path = home / DEMO_ACCOUNTS_FILE
    if not path.exists():
        return []
    try:
        data: Iterable[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        return [
            DemoAccount(d["name"], d["role"], d["password"], d.get("org_id") or None,
                        str(d.get("org_name") or ""))
            for d in data
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
