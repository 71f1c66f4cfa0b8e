"""Staff list of applications (search, filter by round, sort, pages) and the page of one
application with its ranked programs, the houses whose programs fit it better, its referrals
and the form to refer it (api/web/referrals.staff_panel)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from recommender.store.listing import list_applications

from ..deps import store_for
from ..matching import visible_application
from .forms import int_or_none
from .referrals import staff_panel
from .views import WebStaffDep, render, render_application_page

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)

# The orders of `listing.APPLICATION_ORDERS`, as a person reads them.
APPLICATION_SORTS = {
    "newest": "تازه‌ترین",
    "oldest": "قدیمی‌ترین",
    "name": "نام استارتاپ",
    "funding": "سرمایهٔ درخواستی (بیشترین)",
}
PAGE_SIZE = 50


@router.get("/applications", response_class=HTMLResponse)
def applications(
    request: Request,
    user: WebStaffDep,
    round_id: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    page: str | None = None,
) -> Response:
    store = store_for(request, user)
    query = (q or "").strip()[:100]
    order = sort if sort in APPLICATION_SORTS else "newest"
    number = max(int_or_none(page) or 1, 1)
    found = list_applications(
        store, search=query, round_id=round_id, sort=order, page=number, page_size=PAGE_SIZE
    )
    total = found.total
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    store.audit(user.actor, "list", "application", round_id or "*")
    return render(
        request,
        "staff_applications.html",
        user=user,
        applications=found.items,
        total=total,
        page=min(number, pages),
        pages=pages,
        first=(number - 1) * PAGE_SIZE + 1,
        rounds=store.list_rounds(),
        round_id=round_id or "",
        q=query,
        sort=order,
        sorts=APPLICATION_SORTS,
    )


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: str, user: WebStaffDep) -> Response:
    application = visible_application(store_for(request, user), user, application_id, "read")
    return render_application_page(
        request,
        user,
        application,
        "staff_application.html",
        extra=staff_panel(request, user, application),
    )
