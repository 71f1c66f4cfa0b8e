"""Staff list of applications (search, filters by round, program, status, sector and
province, sort, pages) and the page of one
application with its ranked programs, the houses whose programs fit it better, its referrals
and the form to refer it (api/web/referrals.staff_panel)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from recommender.store.listing import (
    ApplicationFilters,
    application_provinces,
    list_applications,
)

from ..deps import store_for
from .forms import int_or_none
from .staff_workflow import staff_application_page
from .views import SECTOR_LABELS, WebStaffDep, render

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)

# The orders of `listing.APPLICATION_ORDERS`, as a person reads them.
APPLICATION_SORTS = {
    "newest": "تازه‌ترین",
    "oldest": "قدیمی‌ترین",
    "name": "نام استارتاپ",
    "funding": "سرمایهٔ درخواستی (بیشترین)",
}
# `listing.APPLICATION_STATUSES` as a person reads them.
STATUS_LABELS_FA = {
    "new": "تازه (هنوز برای برنامه‌ای درخواست نداده)",
    "applied": "درخواست برای برنامه",
    "shortlisted": "در فهرست کوتاه",
    "decided": "تصمیم ثبت شده",
}
# `listing.PROGRAM_LINKS` as a person reads them.
PROGRAM_LINKS_FA = {
    "any": "درخواست یا فهرست کوتاه",
    "applied": "درخواست داده برای",
    "shortlisted": "در فهرست کوتاهِ",
}
PAGE_SIZE = 50


def _choice(value: str | None, known: Any, label: str, ignored: list[str]) -> str:
    """`value` when it is one of `known`; else empty, with a note that it was ignored."""
    text = (value or "").strip()[:100]
    if text and text not in known:
        ignored.append(f"مقدار «{text}» برای «{label}» شناخته نیست و نادیده گرفته شد.")
        return ""
    return text


def _query_string(chosen: dict[str, Any]) -> str:
    """The chosen search, filters and order as a URL query (the pager's links keep them)."""
    kept = {k: v for k, v in chosen.items() if v and k != "program_link"}
    if chosen["program_id"] and chosen["program_link"] != "any":
        kept["program_link"] = chosen["program_link"]
    return urlencode(kept)


@router.get("/applications", response_class=HTMLResponse)
def applications(
    request: Request,
    user: WebStaffDep,
    round_id: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    page: str | None = None,
    program_id: str | None = None,
    program_link: str | None = None,
    status: str | None = None,
    sector: str | None = None,
    province: str | None = None,
) -> Response:
    """The staff's list: search, filters (round, program, status, sector, province) that
    combine and survive paging and sorting; an unknown filter value is ignored and said so."""
    store = store_for(request, user)
    ignored: list[str] = []
    programs = [p for p in store.list_programs() if user.org_id in (None, p.org_id)]
    rounds = store.list_rounds()
    chosen: dict[str, Any] = {
        "q": (q or "").strip()[:100],
        "round_id": _choice(round_id, {r.id for r in rounds}, "دورهٔ پذیرش", ignored),
        "program_id": _choice(program_id, {p.id for p in programs}, "برنامه", ignored),
        "program_link": _choice(program_link, PROGRAM_LINKS_FA, "پیوند با برنامه", ignored)
        or "any",
        "status": _choice(status, STATUS_LABELS_FA, "وضعیت", ignored),
        "sector": _choice(sector, SECTOR_LABELS, "حوزه", ignored),
        "province": (province or "").strip()[:100],
        "sort": sort if sort in APPLICATION_SORTS else "newest",
    }
    filters = ApplicationFilters(
        search=chosen["q"],
        round_id=chosen["round_id"] or None,
        program_id=chosen["program_id"] or None,
        program_link=chosen["program_link"],
        status=chosen["status"] or None,
        sector=chosen["sector"] or None,
        province=chosen["province"] or None,
    )
    number = max(int_or_none(page) or 1, 1)
    found = list_applications(
        store, filters=filters, sort=chosen["sort"], page=number, page_size=PAGE_SIZE
    )
    total = found.total
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    store.audit(user.actor, "list", "application", chosen["round_id"] or "*")
    return render(
        request,
        "staff_applications.html",
        user=user,
        applications=found.items,
        total=total,
        page=min(number, pages),
        pages=pages,
        first=(number - 1) * PAGE_SIZE + 1,
        rounds=rounds,
        programs=programs,
        provinces=application_provinces(store),
        statuses=STATUS_LABELS_FA,
        program_links=PROGRAM_LINKS_FA,
        sorts=APPLICATION_SORTS,
        ignored=ignored,
        query_string=_query_string(chosen),
        **chosen,
    )


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: str, user: WebStaffDep) -> Response:
    """An application with its ranked programs, referrals and the workflow panel (programs,
    shortlists, decisions, private notes: api/web/staff_workflow)."""
    return staff_application_page(request, user, application_id)
