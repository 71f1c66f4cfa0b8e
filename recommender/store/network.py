"""The network's records in the store: organizations (houses), which house each new program,
round and application belongs to, and referrals between houses.

`NetworkRecords` is a part of `Store` (it uses the store's sessions and scope); it lives in
its own module so that each concern of the store stays readable.

House of a new row (`assign_orgs`), in this order: the `org_id` it carries; the house of the
row already stored under its id; for staff, their own house; for an application, the house
of its round; the only house when the install has one (a single-house install, whose files
carry no `org_id`, gets the implicit house `main` on its first import). With several houses a
program or round must name its house; an application may stay with the whole network.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recommender import schemas
from recommender.constants import DEFAULT_ORG_ID, DEFAULT_ORG_NAME_FA, REFERRAL_STATES
from recommender.errors import (
    ConflictError,
    ImportValidationError,
    InvalidInputError,
    NotFoundError,
    RowError,
    bilingual,
)
from recommender.store.tables import (
    ApplicationRow,
    IntakeRoundRow,
    OrganizationRow,
    ProgramRow,
    ReferralRow,
    utcnow,
)
from recommender.store.tenancy import Scope, programs_readable

_Item = TypeVar("_Item", schemas.Program, schemas.Application, schemas.IntakeRound)
_ORG_FIELDS = tuple(schemas.Organization.model_fields)
_TABLES: dict[str, type[Any]] = {
    "programs": ProgramRow,
    "applications": ApplicationRow,
    "rounds": IntakeRoundRow,
}


def _to_org(row: OrganizationRow) -> schemas.Organization:
    return schemas.Organization.model_validate({f: getattr(row, f) for f in _ORG_FIELDS})


def to_referral(row: ReferralRow) -> schemas.Referral:
    """A stored referral as its contract."""
    return schemas.Referral(
        id=row.id,
        application_id=row.application_id,
        from_org=row.from_org,
        to_org=row.to_org,
        program_id=row.program_id,
        note=row.note,
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class NetworkRecords:
    """Organizations, house assignment and referrals (a part of `Store`)."""

    if TYPE_CHECKING:
        scope: Scope

        def _use(self, session: Session | None) -> AbstractContextManager[Session]: ...
        def where_visible(self, table: type[Any]) -> Any: ...
        def every_house(self, session: Session) -> AbstractContextManager[Any]: ...

    # ----------------------------------------------------------- organizations
    def upsert_organizations(
        self, orgs: Sequence[schemas.Organization], *, session: Session | None = None
    ) -> tuple[int, int]:
        """Insert new houses and update stored ones (by id). Returns (created, updated)."""
        ids = [o.id for o in orgs]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("an organization id appears more than once in one call")
        created = updated = 0
        now = utcnow()
        with self._use(session) as s:
            stored = {row.id: row for row in s.scalars(sa.select(OrganizationRow))}
            for org in orgs:
                values = org.model_dump()
                row = stored.get(org.id)
                if row is None:
                    s.add(OrganizationRow(**values, created_at=now, updated_at=now))
                    created += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for key, value in values.items():
                        setattr(row, key, value)
                    row.updated_at = now
                    updated += 1
            s.flush()
        return created, updated

    def list_organizations(
        self, active_only: bool = False, *, session: Session | None = None
    ) -> list[schemas.Organization]:
        """Every house, ordered by id."""
        query = sa.select(OrganizationRow).order_by(OrganizationRow.id)
        if active_only:
            query = query.where(OrganizationRow.active.is_(True))
        with self._use(session) as s:
            return [_to_org(row) for row in s.scalars(query)]

    def org_names(self, *, session: Session | None = None) -> dict[str, str]:
        """House id -> Persian name of every house (one query: for naming the houses of a
        whole answer at once)."""
        with self._use(session) as s:
            rows = s.execute(sa.select(OrganizationRow.id, OrganizationRow.name))
            return {str(org_id): str(name) for org_id, name in rows}

    def get_organization(
        self, org_id: str, *, session: Session | None = None
    ) -> schemas.Organization:
        """Raises: NotFoundError."""
        with self._use(session) as s:
            row = s.get(OrganizationRow, org_id)
            if row is None:
                raise NotFoundError(f"no house with id '{org_id}'")
            return _to_org(row)

    def ensure_default_organization(self, *, session: Session | None = None) -> str | None:
        """The house of a single-house install: the only one, created as `main` when there is
        none yet; None when the network has several."""
        with self._use(session) as s:
            ids = list(s.scalars(sa.select(OrganizationRow.id).limit(2)))
            if len(ids) == 1:
                return ids[0]
            if ids:
                return None
            now = utcnow()
            s.add(
                OrganizationRow(
                    id=DEFAULT_ORG_ID,
                    name=DEFAULT_ORG_NAME_FA,
                    kind="creative_house",
                    province="",
                    city="",
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            s.flush()
            return DEFAULT_ORG_ID

    # ------------------------------------------------------- house of new rows
    def assign_orgs(self, kind: str, items: Sequence[_Item], session: Session) -> list[_Item]:
        """`items` with their house filled in (see the module docstring).

        Raises:
            ImportValidationError: an unknown house, a program or round with no house in a
                network of several, staff writing into another house, an application whose
                house differs from its round's, or a round with another house's programs
                (row = 1-based position; nothing is written).
        """
        s = session
        table = _TABLES[kind]
        orgs = set(s.scalars(sa.select(OrganizationRow.id)))
        # Which house holds each id, whether or not the scope sees it (ids are unique across
        # the network; on PostgreSQL row-level security would hide them from a house).
        with self.every_house(s) as lookup:
            stored_org: dict[str, str | None] = {
                row_id: org
                for row_id, org in lookup.execute(
                    sa.select(table.id, table.org_id).where(table.id.in_([i.id for i in items]))
                )
            }
            round_org: dict[str, str | None] = {}
            if kind == "applications":
                round_ids = {r for i in items if (r := getattr(i, "round_id", None))}
                round_org = {
                    row_id: org
                    for row_id, org in lookup.execute(
                        sa.select(IntakeRoundRow.id, IntakeRoundRow.org_id).where(
                            IntakeRoundRow.id.in_(round_ids)
                        )
                    )
                }
        default: str | None = None
        if len(orgs) <= 1 and not self.scope.is_house:
            default = self.ensure_default_organization(session=s)
            orgs.add(str(default))
        errors: list[RowError] = []
        out: list[_Item] = []
        for row_number, item in enumerate(items, start=1):
            org = self._house_of(kind, item, stored_org, round_org, default)
            reason = self._org_problem(kind, item, org, orgs, stored_org, round_org)
            if reason:
                errors.append(RowError(row_number, "org_id", reason))
            out.append(item.model_copy(update={"org_id": org}))
        if kind == "rounds":
            rounds = [i for i in out if isinstance(i, schemas.IntakeRound)]
            errors += self._round_program_problems(rounds, s)
        if errors:
            raise ImportValidationError(errors)
        return out

    def _house_of(
        self,
        kind: str,
        item: Any,
        stored_org: dict[str, str | None],
        round_org: dict[str, str | None],
        default: str | None,
    ) -> str | None:
        if item.org_id:
            return str(item.org_id)
        if item.id in stored_org and stored_org[item.id]:
            return stored_org[item.id]
        if self.scope.is_house:
            return self.scope.org_id
        if kind == "applications" and item.round_id and round_org.get(item.round_id):
            return round_org[item.round_id]
        return default

    def _org_problem(
        self,
        kind: str,
        item: Any,
        org: str | None,
        orgs: set[str],
        stored_org: dict[str, str | None],
        round_org: dict[str, str | None],
    ) -> str | None:
        if org is None:
            if kind == "applications":
                return None
            return "this network has several houses: name the house (see `peyvand orgs list`)"
        if org not in orgs:
            return f"unknown house '{org}'"
        if self.scope.is_house and item.id in stored_org and stored_org[item.id] != org:
            return f"the id '{item.id}' is already used by another house"
        if self.scope.is_house and org != self.scope.org_id:
            if item.id in stored_org and not item.org_id:
                return f"the id '{item.id}' is already used by another house"
            return "staff can only add or change their own house's records"
        if kind == "applications" and item.round_id in round_org:
            owner = round_org[item.round_id]
            if owner and owner != org:
                return f"the intake round '{item.round_id}' belongs to another house ('{owner}')"
        return None

    def _round_program_problems(
        self, rounds: Sequence[schemas.IntakeRound], s: Session
    ) -> list[RowError]:
        wanted = {p.program_id for r in rounds for p in r.programs}
        program_org = {
            row_id: org
            for row_id, org in s.execute(
                sa.select(ProgramRow.id, ProgramRow.org_id).where(ProgramRow.id.in_(wanted))
            )
        }
        return [
            RowError(i, "programs", f"the program '{p.program_id}' belongs to another house")
            for i, r in enumerate(rounds, start=1)
            for p in r.programs
            if p.program_id in program_org and program_org[p.program_id] != r.org_id
        ]

    # --------------------------------------------------------------- referrals
    def add_referral(
        self,
        application_id: str,
        to_org: str,
        *,
        from_org: str | None,
        program_id: str | None,
        note: str,
        status: str,
        created_by: str,
        session: Session | None = None,
    ) -> schemas.Referral:
        """Store a new referral (the caller has checked who may make it)."""
        if status not in REFERRAL_STATES:
            raise InvalidInputError(f"unknown referral status '{status}'")
        now = utcnow()
        row = ReferralRow(
            id=f"ref-{secrets.token_hex(6)}",
            application_id=application_id,
            from_org=from_org,
            to_org=to_org,
            program_id=program_id,
            note=note,
            status=status,
            created_by=created_by[:200],
            created_at=now,
            updated_at=now,
        )
        with self._use(session) as s:
            s.add(row)
            s.flush()
            return to_referral(row)

    def get_referral(self, referral_id: str, *, session: Session | None = None) -> schemas.Referral:
        """Raises: NotFoundError (also for a referral the scope may not see)."""
        with self._use(session) as s:
            row = s.scalars(
                sa.select(ReferralRow).where(
                    ReferralRow.id == referral_id, self.where_visible(ReferralRow)
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no referral with id '{referral_id}'")
            return to_referral(row)

    def list_referrals(
        self,
        *,
        application_id: str | None = None,
        to_org: str | None = None,
        from_org: str | None = None,
        session: Session | None = None,
    ) -> list[schemas.Referral]:
        """The referrals the scope may see, newest first, narrowed by the given fields."""
        query = sa.select(ReferralRow).where(self.where_visible(ReferralRow))
        if application_id is not None:
            query = query.where(ReferralRow.application_id == application_id)
        if to_org is not None:
            query = query.where(ReferralRow.to_org == to_org)
        if from_org is not None:
            query = query.where(ReferralRow.from_org == from_org)
        query = query.order_by(ReferralRow.created_at.desc(), ReferralRow.id)
        with self._use(session) as s:
            return [to_referral(row) for row in s.scalars(query)]

    def set_referral_status(
        self,
        referral_id: str,
        status: str,
        *,
        expected: Sequence[str] | None = None,
        session: Session | None = None,
    ) -> schemas.Referral:
        """Move a referral to `status` (the caller has checked the transition).

        With `expected`, the change is one guarded `UPDATE ... WHERE status IN (expected)`:
        of two racing changes from the same state exactly one wins, the other finds the
        row changed and gets a ConflictError (nothing written).

        Raises:
            NotFoundError: no such referral in the scope.
            ConflictError: the referral is no longer in an `expected` state.
        """
        if status not in REFERRAL_STATES:
            raise InvalidInputError(f"unknown referral status '{status}'")
        if expected is not None:
            return self._guarded_referral_status(referral_id, status, expected, session)
        with self._use(session) as s:
            row = s.scalars(
                sa.select(ReferralRow).where(
                    ReferralRow.id == referral_id, self.where_visible(ReferralRow)
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no referral with id '{referral_id}'")
            row.status = status
            row.updated_at = utcnow()
            s.flush()
            return to_referral(row)

    def _guarded_referral_status(
        self, referral_id: str, status: str, expected: Sequence[str], session: Session | None
    ) -> schemas.Referral:
        visible = self.where_visible(ReferralRow)
        with self._use(session) as s:
            changed = cast(
                "sa.CursorResult[Any]",
                s.execute(
                    sa.update(ReferralRow)
                    .where(
                        ReferralRow.id == referral_id,
                        ReferralRow.status.in_(list(expected)),
                        visible,
                    )
                    .values(status=status, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
            ).rowcount
            row = s.scalars(
                sa.select(ReferralRow)
                .where(ReferralRow.id == referral_id, visible)
                .execution_options(populate_existing=True)
            ).first()
            if row is None:
                raise NotFoundError(f"no referral with id '{referral_id}'")
            if not changed:
                raise ConflictError(
                    bilingual(
                        f"the referral '{referral_id}' is '{row.status}' now, not "
                        f"{' or '.join(repr(e) for e in expected)}; reload and retry",
                        "وضعیت این ارجاع در این میان تغییر کرده است؛ صفحه را دوباره باز کنید.",
                    )
                )
            return to_referral(row)

    def readable_program(
        self, program_id: str, *, session: Session | None = None
    ) -> schemas.Program:
        """The program if the scope may open its page (`tenancy.programs_readable`): staff
        any, an applicant an active one or one their applications' records name.

        Raises:
            NotFoundError: unknown id, or one the scope may not read (the same answer).
        """
        with self._use(session) as s:
            row = s.scalars(
                sa.select(ProgramRow).where(
                    ProgramRow.id == program_id, programs_readable(self.scope)
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no program with id '{program_id}'")
            return schemas.Program.model_validate(
                {f: getattr(row, f) for f in schemas.Program.model_fields}
            )

    def program_orgs(
        self, program_ids: Sequence[str], *, session: Session | None = None
    ) -> dict[str, str | None]:
        """Program id -> the house that runs it (programs are the whole network's to read)."""
        wanted = sorted(set(program_ids))
        if not wanted:
            return {}
        with self._use(session) as s:
            return {
                row_id: org
                for row_id, org in s.execute(
                    sa.select(ProgramRow.id, ProgramRow.org_id).where(ProgramRow.id.in_(wanted))
                )
            }

    def application_names(
        self, application_ids: Sequence[str], *, session: Session | None = None
    ) -> dict[str, str]:
        """Application id -> startup name, for the applications the scope may read (a
        referral's receiving house before consent gets no name)."""
        wanted = sorted(set(application_ids))
        if not wanted:
            return {}
        query = sa.select(ApplicationRow.id, ApplicationRow.startup_name).where(
            ApplicationRow.id.in_(wanted), self.where_visible(ApplicationRow)
        )
        with self._use(session) as s:
            return {row_id: name for row_id, name in s.execute(query)}

    def lock_application(self, application_id: str, *, session: Session) -> None:
        """Hold the application's row until `session` ends (`SELECT ... FOR UPDATE` on
        PostgreSQL; SQLite's transactions already take the write lock up front), so two
        concurrent referrals of one application are checked one after the other."""
        session.execute(
            sa.select(ApplicationRow.id)
            .where(ApplicationRow.id == application_id, self.where_visible(ApplicationRow))
            .with_for_update()
        )
