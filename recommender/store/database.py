"""The store: programs, applications, intake rounds, outcomes and the audit log in one
SQLAlchemy database (a SQLite file by default, PostgreSQL at scale; same models, same
Alembic migrations in `recommender/store/migrations/`).

Callers get `recommender.schemas` objects, never ORM rows. Every public method runs in its
own transaction unless a `session` from `Store.session()` is passed, so several calls can
share one all-or-nothing transaction::

    store = Store("sqlite:///home/peyvand.db")
    store.upgrade()
    with store.session() as session:
        store.upsert_programs(programs, session=session)
        store.audit("cli:ali", "import", "programs", "programs.csv", session=session)

`applications.round_id` and `outcomes.round_id` are plain indexed columns (no foreign key),
so history can be imported in any order; `outcomes.application_id`/`program_id` and
`round_programs.program_id` are foreign keys, checked before writing so that a bad reference
is an `ImportValidationError` with row numbers, not a database error.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from recommender import schemas
from recommender.errors import (
    ImportValidationError,
    InvalidInputError,
    NotFoundError,
    RowError,
)
from recommender.store.audit import AuditLog
from recommender.store.engine import display_url, make_engine, normalize_url
from recommender.store.events import EventRecords
from recommender.store.network import NetworkRecords
from recommender.store.schema import SchemaMigrations
from recommender.store.tables import (
    ApplicationRow,
    AuditLogRow,
    IntakeRoundRow,
    OutcomeRow,
    ProgramRow,
    RoundProgramRow,
    utcnow,
)
from recommender.store.tenancy import EVERYTHING, TENANT_ROLE, Scope, programs_writable, visible
from recommender.store.workflow import WorkflowRecords

KINDS: tuple[str, ...] = ("programs", "applications", "rounds", "outcomes", "audit")
_CHUNK = 500  # ids per IN (...) clause

_T = TypeVar("_T")


_PROGRAM_FIELDS = tuple(schemas.Program.model_fields)
_APPLICATION_FIELDS = tuple(schemas.Application.model_fields)
_OUTCOME_FIELDS = tuple(schemas.Outcome.model_fields)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _check_unique(keys: list[Any], what: str) -> None:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            raise InvalidInputError(f"{what} {key!r} appears more than once in one call")
        seen.add(key)


def _to_program(row: ProgramRow) -> schemas.Program:
    return schemas.Program.model_validate({f: getattr(row, f) for f in _PROGRAM_FIELDS})


def _to_application(row: ApplicationRow) -> schemas.Application:
    return schemas.Application.model_validate({f: getattr(row, f) for f in _APPLICATION_FIELDS})


def _to_outcome(row: OutcomeRow) -> schemas.Outcome:
    return schemas.Outcome.model_validate({f: getattr(row, f) for f in _OUTCOME_FIELDS})


def _to_round(row: IntakeRoundRow) -> schemas.IntakeRound:
    return schemas.IntakeRound(
        id=row.id,
        name=row.name,
        opens_on=row.opens_on,
        closes_on=row.closes_on,
        org_id=row.org_id,
        programs=[
            schemas.RoundProgram(program_id=p.program_id, seats=p.seats, budget=p.budget)
            for p in row.programs
        ],
    )


class Store(SchemaMigrations, NetworkRecords, WorkflowRecords, EventRecords, AuditLog):
    """The database of one Peyvand installation.

    `store.scoped(scope)` is the same database seen by one caller (`tenancy.Scope`): every
    query for applications, rounds, outcomes, referrals, audit entries and jobs keeps to the
    rows that caller may see (another house's id is a NotFoundError like a missing one), and
    new rows are checked to belong to the caller's house. The plain store sees everything
    (CLI, background jobs).

    Args:
        url: any SQLAlchemy URL: `sqlite:///path/peyvand.db` (parent folder created),
            `sqlite://` (in memory), `postgresql+psycopg://user@host/db`
            (`postgresql://` is read as psycopg 3).
        echo: log every SQL statement (debugging only: it would log business plans).

    Raises:
        ConfigurationError: the URL cannot be used.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.scope: Scope = EVERYTHING
        self._tenant_role: list[bool] = []  # shared by scoped copies: does the role exist?

    def __repr__(self) -> str:
        return f"Store({display_url(self.url)!r})"

    def scoped(self, scope: Scope) -> Store:
        """This database as `scope` sees it (shares the engine; closing either closes both)."""
        view = copy.copy(self)
        view.scope = scope
        return view

    def where_visible(self, table: type[Any]) -> Any:
        """The scope's visibility rule for `table` (tenancy.visible)."""
        return visible(table, self.scope)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql` (or another SQLAlchemy backend name)."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------- transactions
    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        A scoped store's transaction on PostgreSQL runs as the tenant role with the caller's
        house/user set, so row-level security hides the other houses' rows too."""
        with self._sessions() as session, session.begin():
            if not self.scope.is_everything and self.dialect == "postgresql":
                self._enter_tenant(session)
            yield session

    def _enter_tenant(self, session: Session) -> None:
        if not self._tenant_role:
            found = session.execute(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": TENANT_ROLE}
            ).first()
            self._tenant_role.append(found is not None)
        for name, value in self.scope.pg_settings().items():
            session.execute(sa.select(sa.func.set_config(name, value, True)))
        if self._tenant_role[0]:
            session.execute(sa.text(f"SET LOCAL ROLE {TENANT_ROLE}"))

    def try_exclusive(self, name: str, session: Session) -> bool:
        """Take the lock `name` until `session`'s transaction ends, without waiting: False
        when another transaction holds it (another process's, on any machine).

        PostgreSQL: a transaction-level advisory lock (`pg_try_advisory_xact_lock`), freed at
        commit or rollback, and by the server when a process dies mid-transaction. SQLite lets
        one transaction write at a time anyway, so there it is always True: a second writer
        waits for the first (up to the connection's busy timeout) and then runs after it."""
        if self.dialect != "postgresql":
            return True
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        return bool(
            session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key))).scalar_one()
        )

    @contextmanager
    def every_house(self, session: Session) -> Iterator[Session | sa.Connection]:
        """Where to look up which ids are taken, and by which house, across the network.

        Ids are unique network-wide, so a new row must not take another house's id even
        where the scope cannot see that house's rows. That is `session` itself, except in a
        PostgreSQL tenant transaction, where row-level security hides the other houses'
        rows: then a connection of the tables' owner for the lookup alone (read only ids and
        houses through it, never content), so SQLite and PostgreSQL answer alike."""
        if self.scope.is_everything or self.dialect != "postgresql":
            yield session
            return
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _use(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.session() as own:
                yield own

    # ------------------------------------------------------------------ ids
    def upsert(
        self, kind: str, items: Sequence[Any], *, session: Session | None = None
    ) -> tuple[int, int]:
        """`upsert_programs|applications|rounds|outcomes|organizations` by kind name (as in
        imports; "orgs" are the organizations).

        Raises:
            ValueError: an unknown kind.
        """
        upserts: dict[str, Callable[..., tuple[int, int]]] = {
            "programs": self.upsert_programs,
            "applications": self.upsert_applications,
            "rounds": self.upsert_rounds,
            "outcomes": self.upsert_outcomes,
            "orgs": self.upsert_organizations,
        }
        if kind not in upserts:
            raise ValueError(f"unknown kind '{kind}'; use one of: {', '.join(upserts)}")
        return upserts[kind](items, session=session)

    def _get(
        self,
        row_type: type[Any],
        row_id: str,
        what: str,
        convert: Callable[[Any], _T],
        session: Session | None,
    ) -> _T:
        """The row with this primary key, converted; NotFoundError names `what`."""
        with self._use(session) as s:
            row = s.scalars(
                sa.select(row_type).where(row_type.id == row_id, self.where_visible(row_type))
            ).first()
            if row is None:
                raise NotFoundError(f"no {what} with id '{row_id}'")
            return convert(row)

    def existing_ids(
        self,
        kind: str,
        ids: Iterable[str] | None = None,
        *,
        session: Session | None = None,
    ) -> set[str]:
        """Ids of `kind` ("programs", "applications", "rounds") that are stored, in every
        house (ids are unique network-wide; `every_house`).

        Args:
            kind: which table.
            ids: only look these up (all ids when None).
        """
        column = {
            "programs": ProgramRow.id,
            "applications": ApplicationRow.id,
            "rounds": IntakeRoundRow.id,
        }.get(kind)
        if column is None:
            raise InvalidInputError(f"unknown kind '{kind}'; use programs, applications or rounds")
        with self._use(session) as own, self.every_house(own) as s:
            if ids is None:
                return set(s.scalars(sa.select(column)))
            wanted = sorted(set(ids))
            found: set[str] = set()
            for chunk in _chunks(wanted):
                found.update(s.scalars(sa.select(column).where(column.in_(chunk))))
            return found

    def count(self, kind: str, *, session: Session | None = None) -> int:
        """Number of stored rows of `kind` (programs, applications, rounds, outcomes, audit)."""
        table = {
            "programs": ProgramRow,
            "applications": ApplicationRow,
            "rounds": IntakeRoundRow,
            "outcomes": OutcomeRow,
            "audit": AuditLogRow,
        }.get(kind)
        if table is None:
            raise InvalidInputError(f"unknown kind '{kind}'; use one of: {', '.join(KINDS)}")
        query = sa.select(sa.func.count()).select_from(table).where(self.where_visible(table))
        with self._use(session) as s:
            return int(s.scalar(query) or 0)

    # -------------------------------------------------------------- programs
    def upsert_programs(
        self, programs: Sequence[schemas.Program], *, session: Session | None = None
    ) -> tuple[int, int]:
        """Insert new programs and update stored ones (by id).

        Returns:
            (created, updated); programs stored with the same content count in neither.
        """
        return self._upsert_by_id(ProgramRow, "programs", programs, "program id", session)

    def list_programs(
        self, active_only: bool = False, *, session: Session | None = None
    ) -> list[schemas.Program]:
        """Every program, ordered by id."""
        query = sa.select(ProgramRow).order_by(ProgramRow.id)
        if active_only:
            query = query.where(ProgramRow.active.is_(True))
        with self._use(session) as s:
            return [_to_program(row) for row in s.scalars(query)]

    def get_program(self, program_id: str, *, session: Session | None = None) -> schemas.Program:
        """Any house's program (programs are read network-wide). Raises: NotFoundError."""
        return self._get(ProgramRow, program_id, "program", _to_program, session)

    def own_program(self, program_id: str, *, session: Session | None = None) -> schemas.Program:
        """The program if the scope may change it (`tenancy.programs_writable`): staff only
        their own house's. Every program write (API and web) reads the program through here.

        Raises:
            NotFoundError: unknown id, or another house's program (the same answer).
        """
        with self._use(session) as s:
            row = s.scalars(
                sa.select(ProgramRow).where(
                    ProgramRow.id == program_id, programs_writable(self.scope)
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no program with id '{program_id}'")
            return _to_program(row)

    def own_program_ids(self, *, session: Session | None = None) -> set[str]:
        """Ids of the programs the scope may change (one query, for lists)."""
        with self._use(session) as s:
            return set(s.scalars(sa.select(ProgramRow.id).where(programs_writable(self.scope))))

    # ---------------------------------------------------------- applications
    def upsert_applications(
        self, applications: Sequence[schemas.Application], *, session: Session | None = None
    ) -> tuple[int, int]:
        """Insert new applications and update stored ones (by id). Returns (created, updated)."""
        return self._upsert_by_id(
            ApplicationRow, "applications", applications, "application id", session
        )

    def list_applications(
        self,
        round_id: str | None = None,
        *,
        ids: Iterable[str] | None = None,
        session: Session | None = None,
    ) -> list[schemas.Application]:
        """Every application (or those of one round, or those of `ids` the scope sees),
        ordered by id."""
        query = sa.select(ApplicationRow).where(self.where_visible(ApplicationRow))
        if round_id is not None:
            query = query.where(ApplicationRow.round_id == round_id)
        with self._use(session) as s:
            if ids is None:
                rows = list(s.scalars(query.order_by(ApplicationRow.id)))
            else:
                rows = [row for chunk in _chunks(sorted(set(ids)))
                        for row in s.scalars(query.where(ApplicationRow.id.in_(chunk))
                                             .order_by(ApplicationRow.id))]
            return [_to_application(row) for row in rows]

    def get_application(
        self, application_id: str, *, session: Session | None = None
    ) -> schemas.Application:
        """Raises: NotFoundError."""
        return self._get(ApplicationRow, application_id, "application", _to_application, session)

    def _upsert_by_id(
        self,
        table: type[ProgramRow] | type[ApplicationRow],
        kind: str,
        items: Sequence[Any],
        what: str,
        session: Session | None,
    ) -> tuple[int, int]:
        _check_unique([item.id for item in items], what)
        created = updated = 0
        now = utcnow()
        with self._use(session) as s:
            items = self.assign_orgs(kind, items, s)
            for chunk in _chunks(list(items)):
                found: Iterable[Any] = s.scalars(
                    sa.select(table).where(table.id.in_([i.id for i in chunk]))
                )
                stored = {row.id: row for row in found}
                for item in chunk:
                    values = item.model_dump()
                    row = stored.get(item.id)
                    if row is None:
                        s.add(table(**values, created_at=now, updated_at=now))
                        created += 1
                    elif any(getattr(row, k) != v for k, v in values.items()):
                        for key, value in values.items():
                            setattr(row, key, value)
                        row.updated_at = now
                        updated += 1
                s.flush()
        return created, updated

    # ---------------------------------------------------------------- rounds
    def upsert_rounds(
        self, rounds: Sequence[schemas.IntakeRound], *, session: Session | None = None
    ) -> tuple[int, int]:
        """Insert or replace rounds (by id), with their programs in the given order.

        Raises:
            ImportValidationError: a round names a program that is not stored
                (row = 1-based position in `rounds`); nothing is written.
        """
        _check_unique([r.id for r in rounds], "round id")
        created = updated = 0
        now = utcnow()
        with self._use(session) as s:
            known = self.existing_ids(
                "programs", {p.program_id for r in rounds for p in r.programs}, session=s
            )
            errors = [
                RowError(i, "programs", f"unknown program id '{p.program_id}'")
                for i, r in enumerate(rounds, start=1)
                for p in r.programs
                if p.program_id not in known
            ]
            if errors:
                raise ImportValidationError(errors)
            rounds = self.assign_orgs("rounds", rounds, s)
            for item in rounds:
                row = s.get(IntakeRoundRow, item.id)
                if row is None:
                    row = IntakeRoundRow(id=item.id, created_at=now)
                    s.add(row)
                    created += 1
                elif _to_round(row) != item:
                    updated += 1
                else:
                    continue
                row.name, row.opens_on, row.closes_on = item.name, item.opens_on, item.closes_on
                row.org_id = item.org_id
                row.updated_at = now
                old = {p.program_id: p for p in row.programs}
                new_rows = []
                for position, part in enumerate(item.programs):
                    link = old.get(part.program_id) or RoundProgramRow(program_id=part.program_id)
                    link.position, link.seats, link.budget = position, part.seats, part.budget
                    new_rows.append(link)
                row.programs = new_rows
            s.flush()
        return created, updated

    def list_rounds(self, *, session: Session | None = None) -> list[schemas.IntakeRound]:
        """Every round, ordered by opening date then id."""
        query = (
            sa.select(IntakeRoundRow)
            .where(self.where_visible(IntakeRoundRow))
            .order_by(IntakeRoundRow.opens_on, IntakeRoundRow.id)
        )
        with self._use(session) as s:
            return [_to_round(row) for row in s.scalars(query)]

    def get_round(self, round_id: str, *, session: Session | None = None) -> schemas.IntakeRound:
        """Raises: NotFoundError."""
        return self._get(IntakeRoundRow, round_id, "intake round", _to_round, session)

    # -------------------------------------------------------------- outcomes
    def upsert_outcomes(
        self, outcomes: Sequence[schemas.Outcome], *, session: Session | None = None
    ) -> tuple[int, int]:
        """Insert or update outcomes, unique per (application_id, program_id).

        Raises:
            ImportValidationError: an outcome names an application or program that is not
                stored (row = 1-based position in `outcomes`); nothing is written.
        """
        keys = [(o.application_id, o.program_id) for o in outcomes]
        _check_unique(keys, "outcome (application_id, program_id)")
        created = updated = 0
        now = utcnow()
        with self._use(session) as s:
            apps = self.existing_ids("applications", (k[0] for k in keys), session=s)
            progs = self.existing_ids("programs", (k[1] for k in keys), session=s)
            errors: list[RowError] = []
            for i, (app_id, prog_id) in enumerate(keys, start=1):
                if app_id not in apps:
                    reason = f"unknown application id '{app_id}'"
                    errors.append(RowError(i, "application_id", reason))
                if prog_id not in progs:
                    errors.append(RowError(i, "program_id", f"unknown program id '{prog_id}'"))
            errors += self._outcome_scope_problems(keys, apps, progs, s)
            if errors:
                raise ImportValidationError(errors)
            for chunk in _chunks(list(outcomes)):
                stored = {
                    (row.application_id, row.program_id): row
                    for row in s.scalars(
                        sa.select(OutcomeRow).where(
                            OutcomeRow.application_id.in_({o.application_id for o in chunk})
                        )
                    )
                }
                for item in chunk:
                    values = item.model_dump()
                    row = stored.get((item.application_id, item.program_id))
                    if row is None:
                        s.add(OutcomeRow(**values, created_at=now, updated_at=now))
                        created += 1
                    elif any(getattr(row, k) != v for k, v in values.items()):
                        for key, value in values.items():
                            setattr(row, key, value)
                        row.updated_at = now
                        updated += 1
                s.flush()
        return created, updated

    def _outcome_scope_problems(
        self, keys: list[tuple[str, str]], apps: set[str], progs: set[str], s: Session
    ) -> list[RowError]:
        """Staff record outcomes only at their house's programs, for applications they see."""
        if self.scope.is_everything:
            return []
        own = (
            set(s.scalars(sa.select(ProgramRow.id).where(ProgramRow.org_id == self.scope.org_id)))
            if self.scope.is_house
            else set()
        )
        seen = set(
            s.scalars(
                sa.select(ApplicationRow.id).where(
                    ApplicationRow.id.in_({k[0] for k in keys}), self.where_visible(ApplicationRow)
                )
            )
        )
        errors = []
        for i, (app_id, prog_id) in enumerate(keys, start=1):
            if app_id in apps and app_id not in seen:
                errors.append(RowError(i, "application_id", f"unknown application id '{app_id}'"))
            if prog_id in progs and prog_id not in own:
                errors.append(RowError(i, "program_id", "the program belongs to another house"))
        return errors

    def list_outcomes(
        self, round_id: str | None = None, *, session: Session | None = None
    ) -> list[schemas.Outcome]:
        """Every outcome (or those of one round), ordered by application then program."""
        query = (
            sa.select(OutcomeRow)
            .where(self.where_visible(OutcomeRow))
            .order_by(OutcomeRow.application_id, OutcomeRow.program_id)
        )
        if round_id is not None:
            query = query.where(OutcomeRow.round_id == round_id)
        with self._use(session) as s:
            return [_to_outcome(row) for row in s.scalars(query)]
