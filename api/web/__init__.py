"""The Persian web UI (right-to-left, Vazirmatn from the npm package, Persian digits, Jalali
dates): applicant pages under `/me`, staff pages under `/staff`, a program's page under `/programs`
(everyone signed in), sign-in at `/login`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import (
    admin,
    applicant,
    event_agenda,
    events,
    network,
    programs,
    referrals,
    staff_applications,
    staff_programs,
    staff_round_decisions,
    staff_rounds,
    staff_search,
    staff_workflow,
    views,
)
from .views import WEB_DIR

PAGE_ROUTERS = (
    views.router,
    applicant.router,
    staff_search.router,
    programs.router,
    staff_applications.router,
    staff_workflow.router,
    staff_programs.router,
    staff_rounds.router,
    staff_round_decisions.router,
    admin.router,
    referrals.router,
    network.router,
    events.router,
    event_agenda.router,
)


def install(app: FastAPI) -> None:
    """Mount the static files and add the page routers to `app`."""
    (WEB_DIR / "static").mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
