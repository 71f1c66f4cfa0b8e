"""Paged, searchable lists of stored records for people browsing them (the staff's list of
applications): one page of light summaries (no business plans) and the total, so callers
never read ORM rows.

An application's **status** in the decision workflow is defined here, once, from the
workflow's tables as the reader's scope sees them (`application_status`): `decided` when an
outcome (a decision, or an imported one) is recorded, else `shortlisted` when it is on a
program's shortlist, else `applied` when it applied to a program, else `new`. The staff list,
its filters and the API's `GET /v1/applications` all use this one definition.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.sql.elements import ColumnElement

from recommender.errors import InvalidInputError, NotFoundError, bilingual
from recommender.store.database import Store
from recommender.store.tables import (
    ApplicationRow,
    AppliedProgramRow,
    OutcomeRow,
    ShortlistRow,
)
from recommender.taxonomy import sector_slugs

#: How an application list can be ordered (ties broken by id).
APPLICATION_ORDERS = {
    "newest": (ApplicationRow.created_at.desc(), ApplicationRow.id),
    "oldest": (ApplicationRow.created_at, ApplicationRow.id),
    "name": (ApplicationRow.startup_name, ApplicationRow.id),
    "funding": (ApplicationRow.funding_ask.desc(), ApplicationRow.id),
    "id": (ApplicationRow.id,),
}
#: The workflow statuses, from the first step to the last (see the module docstring).
APPLICATION_STATUSES = ("new", "applied", "shortlisted", "decided")
#: How the program filter links an application to the program: it applied to it, it is on
#: its shortlist, or either.
PROGRAM_LINKS = ("any", "applied", "shortlisted")
_SUMMARY_COLUMNS = (
    ApplicationRow.id,
    ApplicationRow.startup_name,
    ApplicationRow.stage,
    ApplicationRow.province,
    ApplicationRow.funding_ask,
    ApplicationRow.needs_residency,
    ApplicationRow.round_id,
    ApplicationRow.org_id,
    ApplicationRow.created_at,
)


class ApplicationSummary(BaseModel):
    """One application in a list: what identifies it, without its plan."""

    model_config = ConfigDict(frozen=True)

    id: str
    startup_name: str
    stage: str
    province: str
    funding_ask: int
    needs_residency: bool = False
    round_id: str | None
    org_id: str | None = None
    created_at: dt.datetime
    status: str = "new"  # one of APPLICATION_STATUSES
    last_decided_on: dt.date | None = None  # the latest outcome's date (None: none or undated)

    @property
    def decided(self) -> bool:
        """An outcome (a decision) is recorded for it."""
        return self.status == "decided"


class ApplicationPage(BaseModel):
    """One page of applications and how many match in all."""

    model_config = ConfigDict(frozen=True)

    items: list[ApplicationSummary]
    total: int


@dataclass(frozen=True)
class ApplicationFilters:
    """What an application list is narrowed to (every filter optional; they combine).

    Attributes:
        search: text searched in the startup name, province, city and id.
        round_id: the round the application is in.
        program_id: a program the application applied to or is shortlisted for
            (`program_link` says which of the two counts).
        program_link: one of PROGRAM_LINKS.
        status: one of APPLICATION_STATUSES.
        sector: a sector slug of the taxonomy the application names.
        province: the application's province (exactly).
    """

    search: str = ""
    round_id: str | None = None
    program_id: str | None = None
    program_link: str = "any"
    status: str | None = None
    sector: str | None = None
    province: str | None = None

    def check(self) -> None:
        """Raises InvalidInputError naming a value that is not one of the known ones."""
        if self.status and self.status not in APPLICATION_STATUSES:
            raise InvalidInputError(
                bilingual(
                    f"status: unknown status '{self.status}'; use one of: "
                    + ", ".join(APPLICATION_STATUSES),
                    "وضعیت خواسته‌شده شناخته نیست.",
                )
            )
        if self.program_link not in PROGRAM_LINKS:
            raise InvalidInputError(
                bilingual(
                    f"program_link: use one of: {', '.join(PROGRAM_LINKS)}",
                    "پیوند با برنامه باید «درخواست»، «فهرست کوتاه» یا هر دو باشد.",
                )
            )
        if self.sector and self.sector not in sector_slugs():
            raise InvalidInputError(
                bilingual(f"sector: unknown sector '{self.sector}'", "حوزهٔ خواسته‌شده شناخته نیست.")
            )


def _has(store: Store, table: Any, *conditions: Any) -> ColumnElement[bool]:
    """EXISTS a row of `table` the scope sees, for the application of the outer query."""
    return (
        sa.select(sa.literal(1))
        .where(table.application_id == ApplicationRow.id, store.where_visible(table), *conditions)
        .exists()
    )


def status_expression(store: Store) -> ColumnElement[str]:
    """The application's workflow status as SQL (the one definition; module docstring)."""
    return sa.case(
        (_has(store, OutcomeRow), "decided"),
        (_has(store, ShortlistRow), "shortlisted"),
        (_has(store, AppliedProgramRow), "applied"),
        else_="new",
    )


def _last_decided(store: Store) -> Any:
    return (
        sa.select(sa.func.max(OutcomeRow.decided_on))
        .where(OutcomeRow.application_id == ApplicationRow.id, store.where_visible(OutcomeRow))
        .scalar_subquery()
    )


def _matching(store: Store, filters: ApplicationFilters) -> sa.Select:
    query = sa.select(ApplicationRow).where(store.where_visible(ApplicationRow))
    if filters.round_id:
        query = query.where(ApplicationRow.round_id == filters.round_id)
    if filters.province:
        query = query.where(ApplicationRow.province == filters.province.strip())
    if filters.sector:  # a validated slug: its quoted form is in the stored JSON list
        query = query.where(
            sa.cast(ApplicationRow.sectors, sa.Text).like(f'%"{filters.sector}"%')
        )
    if filters.program_id:
        applied = _has(store, AppliedProgramRow, AppliedProgramRow.program_id == filters.program_id)
        listed = _has(store, ShortlistRow, ShortlistRow.program_id == filters.program_id)
        links = {"applied": applied, "shortlisted": listed, "any": sa.or_(applied, listed)}
        query = query.where(links[filters.program_link])
    if filters.status:
        query = query.where(status_expression(store) == filters.status)
    if filters.search:
        like = "%" + filters.search.replace("\\", "").replace("%", "").replace("_", "") + "%"
        query = query.where(
            sa.or_(
                ApplicationRow.startup_name.ilike(like),
                ApplicationRow.province.ilike(like),
                ApplicationRow.city.ilike(like),
                ApplicationRow.id.ilike(like),
            )
        )
    return query


def list_applications(
    store: Store,
    *,
    search: str = "",
    round_id: str | None = None,
    filters: ApplicationFilters | None = None,
    sort: str = "newest",
    page: int = 1,
    page_size: int | None = 50,
) -> ApplicationPage:
    """One page of applications (without their plans), and the total that match.

    Args:
        store: the store, scoped to the reader (only the applications they may see).
        search: text searched in the startup name, province, city and id (empty: all);
            shorthand for `filters.search`.
        round_id: only this round's applications; shorthand for `filters.round_id`.
        filters: every filter at once (`search` and `round_id` above add to it).
        sort: one of APPLICATION_ORDERS.
        page: 1-based page number.
        page_size: applications per page (None: every one).

    Returns:
        The page; each summary has its workflow status and its latest decision's date.

    Raises:
        InvalidInputError: an unknown sort, status, program link or sector, or a page or
            page size below 1.
    """
    chosen = filters or ApplicationFilters()
    if search or round_id:
        chosen = dataclasses.replace(
            chosen, search=search or chosen.search, round_id=round_id or chosen.round_id
        )
    if sort not in APPLICATION_ORDERS:
        known = ", ".join(APPLICATION_ORDERS)
        raise InvalidInputError(f"unknown sort '{sort}'; use one of: {known}")
    if page < 1 or (page_size is not None and page_size < 1):
        raise InvalidInputError("page and page size must be >= 1")
    chosen.check()
    query = _matching(store, chosen)
    columns = (
        *_SUMMARY_COLUMNS,
        status_expression(store).label("status"),
        _last_decided(store).label("last_decided_on"),
    )
    listed = query.with_only_columns(*columns).order_by(*APPLICATION_ORDERS[sort])
    if page_size is not None:
        listed = listed.limit(page_size).offset((page - 1) * page_size)
    with store.session() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = session.execute(listed).all()
    items = [ApplicationSummary(**r._asdict()) for r in rows]
    return ApplicationPage(items=items, total=int(total))


def application_status(store: Store, application_id: str) -> str:
    """One application's workflow status as the store's scope sees it (module docstring).

    Raises:
        NotFoundError: an application the scope cannot see (or a missing one).
    """
    query = sa.select(status_expression(store)).where(
        ApplicationRow.id == application_id, store.where_visible(ApplicationRow)
    )
    with store.session() as session:
        found = session.scalar(query)
    if found is None:
        raise NotFoundError(f"no application with id '{application_id}'")
    return str(found)


def application_provinces(store: Store) -> list[str]:
    """The provinces of the applications the scope sees (for a filter's choices), sorted."""
    query = (
        sa.select(ApplicationRow.province)
        .where(store.where_visible(ApplicationRow), ApplicationRow.province != "")
        .distinct()
    )
    with store.session() as session:
        return sorted(str(p) for p in session.scalars(query))
