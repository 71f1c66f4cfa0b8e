"""The Persian web UI (right-to-left, Vazirmatn from the npm package, Persian digits, Jalali
dates): applicant pages under `/me`, staff pages under `/staff`, sign-in at `/login`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .views import WEB_DIR


def install(app: FastAPI) -> None:
    """Mount the static files and add the page routers to `app`."""
    from . import admin, applicant, staff, views

    (WEB_DIR / "static").mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    app.include_router(views.router)
    app.include_router(applicant.router)
    app.include_router(staff.router)
    app.include_router(admin.router)
