"""Shared parts of the Persian web UI: templates and their filters (Persian digits, Jalali
dates, rial), the signed-in user of a browser session, CSRF tokens, error pages, and the sign-in
and sign-out pages.

Sessions: the signed cookie (Starlette SessionMiddleware) carries a random session id and a
CSRF token; the `web_sessions` table holds the id's hash, its user and expiry, so signing out
or disabling an account ends the session on the server. Every form post carries the CSRF token
(`csrf_token` field) and is refused (403) without the session's token.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from recommender import schemas as contracts
from recommender.constants import (
    FUNDING_KIND_LABELS_FA,
    KIND_LABELS_FA,
    MAX_PLAN_CHARS,
    ROLE_LABELS_FA,
    STAGE_LABELS_FA,
)
from recommender.errors import PeyvandError
from recommender.retrieval.filters import ProgramFilter
from recommender.taxonomy import sector_labels_fa
from recommender.text.persian import (
    format_jalali,
    format_number,
    format_percent,
    format_rial,
    format_rial_spoken,
    to_persian_digits,
)

from ..accounts import User
from ..deps import check_rate, client_key, store_for
from ..matching import run_match
from ..messages import PERSIAN_TITLES, persian
from ..schemas import MatchResponse

WEB_DIR = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))

# The Persian label of each form field (errors name the field a person sees).
FIELD_LABELS_FA = {
    "startup_name": "نام استارتاپ",
    "business_plan": "طرح کسب‌وکار",
    "stage": "مرحله",
    "stages": "مرحله‌های پذیرفته",
    "province": "استان",
    "provinces": "استان‌ها",
    "city": "شهر",
    "team_size": "اندازهٔ تیم",
    "funding_ask": "سرمایهٔ درخواستی",
    "founded_year": "سال تأسیس",
    "sectors": "حوزه‌ها",
    "kinds": "نوع برنامه",
    "plan_file": "فایل طرح",
    "id": "شناسه",
    "name": "نام",
    "kind": "نوع",
    "description": "توضیح",
    "residency_seats": "صندلی اقامت",
    "funding_min": "کمترین سرمایه",
    "funding_max": "بیشترین سرمایه",
    "equity_percent": "درصد سهام",
    "min_open_seats": "کمترین صندلی خالی",
    "text": "متن طرح",
    "role": "نقش",
    "password": "گذرواژه",
}

ROLE_HOME = {"admin": "/admin", "network": "/network", "staff": "/staff", "applicant": "/me"}


SECTOR_LABELS = sector_labels_fa()


def _fa(value: Any) -> str:
    return "" if value is None else to_persian_digits(value)


def _num(value: Any, decimals: int = 0) -> str:
    return "—" if value is None else format_number(value, decimals)


def _pct(value: Any) -> str:
    return "—" if value is None else format_percent(float(value))


def _rial(value: Any) -> str:
    return "—" if value is None else format_rial(value)


def _rial_spoken(value: Any) -> str:
    """Money as people say it («حدود ۲٫۸ میلیارد ریال») for results and reasons; forms and
    files keep the exact amount (`rial`)."""
    return "—" if value is None else format_rial_spoken(value)


def _jalali(value: Any, long: bool = False) -> str:
    return "—" if value is None else format_jalali(value, long=long)


templates.env.filters.update(
    fa=_fa,
    num=_num,
    pct=_pct,
    rial=_rial,
    rial_spoken=_rial_spoken,
    jalali=_jalali,
    kind_fa=lambda k: KIND_LABELS_FA.get(k, k),
    stage_fa=lambda s: STAGE_LABELS_FA.get(s, s),
    sector_fa=lambda s: SECTOR_LABELS.get(s, s),
    role_fa=lambda r: ROLE_LABELS_FA.get(r, r),
)
templates.env.globals.update(
    max_plan_chars=MAX_PLAN_CHARS,
    KIND_LABELS_FA=KIND_LABELS_FA,
    STAGE_LABELS_FA=STAGE_LABELS_FA,
    SECTOR_LABELS=SECTOR_LABELS,
    FUNDING_KIND_LABELS_FA=FUNDING_KIND_LABELS_FA,
)


# ---------------------------------------------------------------------------- sessions
def csrf_token(request: Request) -> str:
    """This browser session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, submitted: Any) -> None:
    """403 unless the form's token is this session's."""
    expected = request.session.get("csrf")
    if (
        not expected
        or not isinstance(submitted, str)
        or not secrets.compare_digest(expected, submitted)
    ):
        raise HTTPException(403, "فرم منقضی شده است؛ صفحه را دوباره باز کنید و دوباره بفرستید.")


def session_user(request: Request) -> User | None:
    sid = request.session.get("sid")
    if not sid:
        return None
    user = request.app.state.accounts.user_for_session(str(sid))
    if user is None:
        request.session.pop("sid", None)
    return user


def _login_redirect(request: Request, expired: bool) -> HTTPException:
    target = quote(request.url.path)
    flag = "&expired=1" if expired else ""
    return HTTPException(303, "sign in", headers={"Location": f"/login?next={target}{flag}"})


def web_user(request: Request) -> User:
    had_session = bool(request.session.get("sid"))
    user = session_user(request)
    if user is None:
        # A session the server no longer knows, or a form posted without one: the person
        # was signed in and their session ran out (the form's own script keeps what they
        # typed, see static/app.js).
        raise _login_redirect(request, expired=had_session or request.method == "POST")
    request.state.user = user
    return user


def web_staff(user: Annotated[User, Depends(web_user)]) -> User:
    if not user.is_staff:
        raise HTTPException(403, "این صفحه فقط برای کارشناسان است.")
    return user


def web_admin(user: Annotated[User, Depends(web_user)]) -> User:
    if user.role != "admin":
        raise HTTPException(403, "این صفحه فقط برای مدیر سامانه است.")
    return user


def web_applicant(user: Annotated[User, Depends(web_user)]) -> User:
    if user.role != "applicant":
        raise HTTPException(403, "این صفحه فقط برای متقاضیان است.")
    return user


WebUserDep = Annotated[User, Depends(web_user)]
WebStaffDep = Annotated[User, Depends(web_staff)]
WebApplicantDep = Annotated[User, Depends(web_applicant)]
WebAdminDep = Annotated[User, Depends(web_admin)]


def web_network(user: Annotated[User, Depends(web_user)]) -> User:
    if user.role not in ("network", "admin"):
        raise HTTPException(403, "این صفحه فقط برای گردانندهٔ شبکه و مدیر سامانه است.")
    return user


WebNetworkDep = Annotated[User, Depends(web_network)]


async def form_data(request: Request) -> Any:
    """The posted form, after checking its CSRF token."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    return form


# ------------------------------------------------------------------------------ render
def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    context.setdefault("user", user)
    context["csrf_token"] = csrf_token(request)
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def render_application_page(
    request: Request,
    user: User,
    application: contracts.Application,
    template: str,
    extra: Callable[[MatchResponse | None], dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    """An application's page with its ranked programs (or the plain reason there are none).

    Used by the applicant's and the staff's page of an application alike; `extra` adds to
    the page's context from the ranked programs (e.g. the referral panel).
    """
    state = request.app.state
    result, problem = None, None
    try:
        result = run_match(
            state.recommender,
            state.metrics,
            "web",
            store=store_for(request, user),
            application=application,
            filters=ProgramFilter(),
            top=10,
        )
    except PeyvandError as exc:
        problem = persian(str(exc), 400)
    more = extra(result) if extra is not None else {}
    return render(
        request,
        template,
        status_code=status_code,
        user=user,
        application=application,
        result=result,
        problem=problem,
        **more,
    )


def render_error(
    request: Request,
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error as a Persian page (or a redirect for 3xx): every text in Persian (see
    messages.persian), field names as their Persian labels. The app's `errors.ErrorPage`."""
    if 300 <= status < 400 and headers and "Location" in headers:
        return RedirectResponse(headers["Location"], status_code=status)
    title = PERSIAN_TITLES.get(status, "خطا")
    shown = [
        {
            "row": e.get("row"),
            "field": FIELD_LABELS_FA.get(str(e.get("field", "")).split(".")[0], ""),
            "message": persian(e.get("message", ""), status),
        }
        for e in errors or []
    ]
    if getattr(request.state, "user", None) is None and "session" in request.scope:
        request.state.user = session_user(request)
    response = render(
        request,
        "error.html",
        status_code=status,
        title=title,
        detail=persian(detail, status),
        errors=shown,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


# ------------------------------------------------------------------------- sign in/out
router = APIRouter(tags=["web"], include_in_schema=False)


def _safe_next(target: str | None, user: User) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return ROLE_HOME.get(user.role, "/")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    user = session_user(request)
    return RedirectResponse(ROLE_HOME.get(user.role, "/login") if user else "/login", 303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, expired: str | None = None) -> Response:
    return render(
        request, "login.html", next=next or "", error=None, name="", expired=bool(expired)
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await form_data(request)
    name = str(form.get("name", "")).strip()[:100]
    password = str(form.get("password", ""))
    target = str(form.get("next", ""))
    check_rate(request, "login_address", client_key(request))
    check_rate(request, "login", f"{client_key(request)}|{name.lower()}")
    accounts = request.app.state.accounts
    user = await run_in_threadpool(accounts.authenticate, name, password)
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=target,
            name=name,
            expired=False,
            error="نام کاربری یا گذرواژه درست نیست.",
        )
    request.session.clear()
    request.session["sid"] = await run_in_threadpool(accounts.start_session, user.id)
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse(_safe_next(target, user), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await form_data(request)
    sid = request.session.get("sid")
    if sid:
        request.app.state.accounts.end_session(str(sid))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
