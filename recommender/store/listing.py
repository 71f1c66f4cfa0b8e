"""Paged, searchable lists of stored records for people browsing them (the staff's list of
applications): one page of light summaries (no business plans) and the total, so callers
never read ORM rows.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from recommender.errors import InvalidInputError
from recommender.store.database import Store
from recommender.store.tables import ApplicationRow, OutcomeRow

#: How an application list can be ordered (ties broken by id).
APPLICATION_ORDERS = {
    "newest": (ApplicationRow.created_at.desc(), ApplicationRow.id),
    "oldest": (ApplicationRow.created_at, ApplicationRow.id),
    "name": (ApplicationRow.startup_name, ApplicationRow.id),
    "funding": (ApplicationRow.funding_ask.desc(), ApplicationRow.id),
}
_SUMMARY_COLUMNS = (
    ApplicationRow.id,
    ApplicationRow.startup_name,
    ApplicationRow.stage,
    ApplicationRow.province,
    ApplicationRow.funding_ask,
    ApplicationRow.round_id,
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
    round_id: str | None
    created_at: dt.datetime
    decided: bool  # an outcome (a decision) is recorded for it


class ApplicationPage(BaseModel):
    """One page of applications and how many match in all."""

    model_config = ConfigDict(frozen=True)

    items: list[ApplicationSummary]
    total: int


def _matching(store: Store, search: str, round_id: str | None) -> sa.Select:
    query = sa.select(ApplicationRow).where(store.where_visible(ApplicationRow))
    if round_id:
        query = query.where(ApplicationRow.round_id == round_id)
    if search:
        like = "%" + search.replace("\\", "").replace("%", "").replace("_", "") + "%"
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
    sort: str = "newest",
    page: int = 1,
    page_size: int = 50,
) -> ApplicationPage:
    """One page of applications (without their plans), and the total that match.

    Args:
        store: the store, scoped to the reader (only the applications they may see).
        search: text searched in the startup name, province, city and id (empty: all).
        round_id: only this round's applications (None or empty: every round).
        sort: one of APPLICATION_ORDERS.
        page: 1-based page number.
        page_size: applications per page.

    Returns:
        The page; each summary says whether a decision (an outcome) is recorded for it.

    Raises:
        InvalidInputError: an unknown sort, or a page or page size below 1.
    """
    if sort not in APPLICATION_ORDERS:
        known = ", ".join(APPLICATION_ORDERS)
        raise InvalidInputError(f"unknown sort '{sort}'; use one of: {known}")
    if page < 1 or page_size < 1:
        raise InvalidInputError("page and page size must be >= 1")
    query = _matching(store, search, round_id)
    with store.session() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.with_only_columns(*_SUMMARY_COLUMNS)
            .order_by(*APPLICATION_ORDERS[sort])
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        ids = [r.id for r in rows]
        decided = (
            set(
                session.scalars(
                    sa.select(OutcomeRow.application_id).where(
                        OutcomeRow.application_id.in_(ids), store.where_visible(OutcomeRow)
                    )
                )
            )
            if ids
            else set()
        )
    items = [ApplicationSummary(**r._asdict(), decided=r.id in decided) for r in rows]
    return ApplicationPage(items=items, total=int(total))
