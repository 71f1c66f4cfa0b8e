"""Staff pages: search (free text + filters → ranked programs with reasons), applications,
programs (list, add, edit, deactivate), rounds (run scoring, watch progress, download)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from recommender import schemas as contracts
from recommender.constants import (
    FUNDING_KIND_LABELS_FA,
    PROGRAM_KINDS,
    STAGE_LABELS_FA,
    STAGES,
)
from recommender.errors import InvalidInputError, PeyvandError
from recommender.text.facts import FACT_NAMES

from ..matching import run_match, visible_application
from ..routes.jobs import job_file as api_job_file
from ..routes.jobs import job_public
from ..routes.programs import patch_program
from ..routes.rounds import ROUND_SCORE_KIND
from ..schemas import FactCorrections, MatchFilters, MatchResponse
from .messages import field_errors, persian
from .views import (
    FIELD_LABELS_FA,
    SECTOR_LABELS,
    WebStaffDep,
    form_data,
    render,
    render_application_page,
)

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٬,", "01234567890123456789  ")


def _latin(value: Any) -> str:
    return str(value or "").translate(_DIGITS).replace(" ", "").strip()


def labelled_errors(raw: Any) -> list[dict[str, str]]:
    """Pydantic errors in Persian, each under its field's Persian label."""
    return [
        {"field": FIELD_LABELS_FA.get(e["field"], ""), "message": e["message"]}
        for e in field_errors(raw)
    ]


def _int_or_none(value: Any) -> int | None:
    text = _latin(value)
    return int(text) if text.isdigit() else None


# ------------------------------------------------------------------------------ search
def _search_page(request: Request, user: Any, **context: Any) -> HTMLResponse:
    context.setdefault("values", {"top": 10})
    context.setdefault("result", None)
    context.setdefault("errors", [])
    context.setdefault("problem", None)
    return render(
        request, "staff_search.html", user=user, kinds=PROGRAM_KINDS, stages=STAGES, **context
    )


@router.get("", response_class=HTMLResponse)
def search_page(request: Request, user: WebStaffDep) -> Response:
    return _search_page(request, user)


@router.post("", response_class=HTMLResponse)
async def search(request: Request, user: WebStaffDep) -> Response:
    """Free-text matching. A POST, so the plan never lands in a URL or an access log."""
    form = await form_data(request)
    values = {
        "text": str(form.get("text", "")),
        "provinces": str(form.get("provinces", "")),
        "kinds": [str(k) for k in form.getlist("kinds")],
        "sectors": [str(s) for s in form.getlist("sectors")],
        "stage": str(form.get("stage", "")),
        "min_open_seats": str(form.get("min_open_seats", "")),
        "funding_ask": str(form.get("funding_ask", "")),
        "accepts_remote": form.get("accepts_remote") == "on",
        "top": str(form.get("top", "10")),
        **{f"fact_{name}": str(form.get(f"fact_{name}", "")).strip() for name in _FACT_FIELDS},
    }
    errors: list[dict[str, str]] = []
    corrections = _fact_corrections(values, errors)
    if not values["text"].strip():
        errors.append({"field": "متن طرح", "message": "متن طرح را وارد کنید."})
    try:
        filters = MatchFilters(
            provinces=[
                p.strip() for p in values["provinces"].replace("،", ",").split(",") if p.strip()
            ]
            or None,
            kinds=values["kinds"] or None,
            sectors=values["sectors"] or None,
            stage=values["stage"] or None,
            min_open_seats=_int_or_none(values["min_open_seats"]),
            funding_ask=_int_or_none(values["funding_ask"]),
            accepts_remote=True if values["accepts_remote"] else None,
        )
    except ValidationError as exc:
        errors.extend(labelled_errors(exc.errors()))
        filters = None
    top = min(max(_int_or_none(values["top"]) or 10, 1), 50)
    if errors or filters is None:
        return _search_page(request, user, values=values, errors=errors, status_code=422)
    state = request.app.state
    result: MatchResponse | None = None
    problem = None
    try:
        result = await run_in_threadpool(
            lambda: run_match(
                state.recommender,
                state.metrics,
                "web",
                text=values["text"],
                filters=filters.to_program_filter(),
                top=top,
                facts=corrections,
            )
        )
    except PeyvandError as exc:
        problem = persian(str(exc), 400)
    return _search_page(request, user, values=values, result=result, problem=problem)


# The facts a person can correct on the search page: every fact the reader returns except the
# sectors a plan says it is not in, which the form does not ask for.
_FACT_FIELDS = tuple(name for name in FACT_NAMES if name != "not_sectors")
_STAGE_BY_LABEL = {label: stage for stage, label in STAGE_LABELS_FA.items()}
_SECTOR_BY_LABEL = {label: slug for slug, label in SECTOR_LABELS.items()}
_FUNDING_KIND_BY_LABEL = {label: kind for kind, label in FUNDING_KIND_LABELS_FA.items()}
_YES_NO = {"بله": True, "آری": True, "true": True, "yes": True, "خیر": False, "نه": False,
           "false": False, "no": False}


def _fact_corrections(values: dict[str, Any], errors: list[dict[str, str]]) -> dict[str, Any]:
    """The fact_<name> fields a person filled in, checked by `FactCorrections`."""
    raw: dict[str, Any] = {}
    for name in _FACT_FIELDS:
        text = values.get(f"fact_{name}", "")
        if not text:
            continue
        if name in ("needs_residency", "knowledge_based"):
            raw[name] = _YES_NO.get(text.lower(), text)
        elif name in ("funding_ask", "team_size"):
            number = _int_or_none(text)
            raw[name] = number if number is not None else text
        elif name == "sectors":
            raw[name] = [
                _SECTOR_BY_LABEL.get(s.strip(), s.strip())
                for s in text.replace("،", ",").split(",")
                if s.strip()
            ]
        elif name == "stage":
            raw[name] = _STAGE_BY_LABEL.get(text, text)
        elif name == "funding_kind":
            raw[name] = _FUNDING_KIND_BY_LABEL.get(text.strip(), text.strip())
        else:
            raw[name] = text
    try:
        return FactCorrections(**raw).corrections()
    except ValidationError as exc:
        errors.extend(field_errors(exc.errors()))
        return {}


# ------------------------------------------------------------------------ applications
APPLICATION_SORTS = {
    "newest": "تازه‌ترین",
    "oldest": "قدیمی‌ترین",
    "name": "نام استارتاپ",
    "funding": "سرمایهٔ درخواستی (بیشترین)",
}
PAGE_SIZE = 50


def application_page_rows(
    store: Any, *, q: str, round_id: str, sort: str, page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of applications (without their plans) for the staff list, and the total.

    Searches the startup name, province, city and id; each row carries its submission date
    and whether a decision (an outcome) is recorded for it.
    """
    import sqlalchemy as sa

    from recommender.store.tables import ApplicationRow, OutcomeRow

    query = sa.select(ApplicationRow)
    if round_id:
        query = query.where(ApplicationRow.round_id == round_id)
    if q:
        like = "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"
        query = query.where(
            sa.or_(
                ApplicationRow.startup_name.ilike(like),
                ApplicationRow.province.ilike(like),
                ApplicationRow.city.ilike(like),
                ApplicationRow.id.ilike(like),
            )
        )
    order = {
        "newest": (ApplicationRow.created_at.desc(), ApplicationRow.id),
        "oldest": (ApplicationRow.created_at, ApplicationRow.id),
        "name": (ApplicationRow.startup_name, ApplicationRow.id),
        "funding": (ApplicationRow.funding_ask.desc(), ApplicationRow.id),
    }[sort]
    columns = (
        ApplicationRow.id,
        ApplicationRow.startup_name,
        ApplicationRow.stage,
        ApplicationRow.province,
        ApplicationRow.funding_ask,
        ApplicationRow.round_id,
        ApplicationRow.created_at,
    )
    with store.session() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.with_only_columns(*columns)
            .order_by(*order)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        ids = [r.id for r in rows]
        decided = (
            set(
                session.scalars(
                    sa.select(OutcomeRow.application_id).where(OutcomeRow.application_id.in_(ids))
                )
            )
            if ids
            else set()
        )
    found = [{**r._asdict(), "decided": r.id in decided} for r in rows]
    return found, int(total)


@router.get("/applications", response_class=HTMLResponse)
def applications(
    request: Request,
    user: WebStaffDep,
    round_id: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    page: str | None = None,
) -> Response:
    store = request.app.state.store
    query = (q or "").strip()[:100]
    order = sort if sort in APPLICATION_SORTS else "newest"
    number = max(_int_or_none(page) or 1, 1)
    found, total = application_page_rows(
        store, q=query, round_id=round_id or "", sort=order, page=number
    )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    store.audit(user.actor, "list", "application", round_id or "*")
    return render(
        request,
        "staff_applications.html",
        user=user,
        applications=found,
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
    state = request.app.state
    application = visible_application(state.store, state.accounts, user, application_id, "read")
    return render_application_page(request, user, application, "staff_application.html")


# ---------------------------------------------------------------------------- programs
@router.get("/programs", response_class=HTMLResponse)
def programs(
    request: Request,
    user: WebStaffDep,
    deactivated: str | None = None,
    activated: str | None = None,
) -> Response:
    found = request.app.state.store.list_programs()
    names = {p.id: p.name for p in found}
    return render(
        request,
        "staff_programs.html",
        user=user,
        programs=found,
        deactivated=deactivated if deactivated in names else None,
        activated=activated if activated in names else None,
        names=names,
    )


def _program_form(
    request: Request,
    user: Any,
    values: dict[str, Any],
    errors: list,
    action: str,
    is_new: bool,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "staff_program_form.html",
        status_code=status_code,
        user=user,
        values=values,
        errors=errors,
        action=action,
        is_new=is_new,
        kinds=PROGRAM_KINDS,
        stages=STAGES,
    )


async def _program_values(request: Request) -> dict[str, Any]:
    form = await form_data(request)
    equity = _latin(form.get("equity_percent", "")).replace("٫", ".")
    return {
        "id": str(form.get("id", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "kind": str(form.get("kind", "")),
        "description": str(form.get("description", "")).strip(),
        "sectors": [str(s) for s in form.getlist("sectors")],
        "stages": [str(s) for s in form.getlist("stages")],
        "province": str(form.get("province", "")).strip(),
        "city": str(form.get("city", "")).strip(),
        "residency_seats": _latin(form.get("residency_seats", "0")) or "0",
        "funding_min": _latin(form.get("funding_min", "0")) or "0",
        "funding_max": _latin(form.get("funding_max", "0")) or "0",
        "equity_percent": equity or None,
        "requires_knowledge_based": form.get("requires_knowledge_based") == "on",
        "accepts_remote": form.get("accepts_remote") == "on",
        "active": form.get("active") == "on",
    }


@router.get("/programs/new", response_class=HTMLResponse)
def new_program(request: Request, user: WebStaffDep) -> Response:
    values = {"kind": "accelerator", "stages": list(STAGES), "active": True}
    return _program_form(request, user, values, [], "/staff/programs/new", True)


@router.post("/programs/new", response_class=HTMLResponse)
async def create_program(request: Request, user: WebStaffDep) -> Response:
    values = await _program_values(request)
    store = request.app.state.store
    try:
        program = contracts.Program.model_validate(values)
    except ValidationError as exc:
        return _program_form(
            request,
            user,
            values,
            labelled_errors(exc.errors()),
            "/staff/programs/new",
            True,
            422,
        )
    if store.existing_ids("programs", [program.id]):
        errors = [{"field": "شناسه", "message": "برنامه‌ای با این شناسه هست."}]
        return _program_form(request, user, values, errors, "/staff/programs/new", True, 409)
    with store.session() as session:
        store.upsert_programs([program], session=session)
        store.audit(user.actor, "create", "program", program.id, session=session)
    request.app.state.recommender.reload_in_background()
    return RedirectResponse("/staff/programs", status_code=303)


@router.get("/programs/{program_id}", response_class=HTMLResponse)
def edit_program(request: Request, program_id: str, user: WebStaffDep) -> Response:
    program = request.app.state.store.get_program(program_id)
    return _program_form(
        request, user, program.model_dump(), [], f"/staff/programs/{program_id}", False
    )


@router.post("/programs/{program_id}", response_class=HTMLResponse)
async def save_program(request: Request, program_id: str, user: WebStaffDep) -> Response:
    values = await _program_values(request)
    values["id"] = program_id
    store = request.app.state.store
    store.get_program(program_id)
    try:
        changes = contracts.Program.model_validate(values).model_dump()
        await run_in_threadpool(patch_program, store, user, program_id, changes)
    except ValidationError as exc:
        return _program_form(
            request,
            user,
            values,
            labelled_errors(exc.errors()),
            f"/staff/programs/{program_id}",
            False,
            422,
        )
    except InvalidInputError as exc:
        return _program_form(
            request,
            user,
            values,
            [{"field": "", "message": persian(str(exc), 422)}],
            f"/staff/programs/{program_id}",
            False,
            422,
        )
    request.app.state.recommender.reload_in_background()
    return RedirectResponse("/staff/programs", status_code=303)


@router.get("/programs/{program_id}/deactivate", response_class=HTMLResponse)
def confirm_deactivate(request: Request, program_id: str, user: WebStaffDep) -> Response:
    """Asks before a program stops being suggested (deactivating is one click otherwise)."""
    program = request.app.state.store.get_program(program_id)
    return render(request, "staff_program_deactivate.html", user=user, program=program)


async def _set_program_active(
    request: Request, program_id: str, user: Any, active: bool
) -> Response:
    await form_data(request)
    await run_in_threadpool(
        patch_program, request.app.state.store, user, program_id, {"active": active}
    )
    request.app.state.recommender.reload_in_background()
    flag = "activated" if active else "deactivated"
    return RedirectResponse(f"/staff/programs?{flag}={quote(program_id)}", status_code=303)


@router.post("/programs/{program_id}/deactivate")
async def deactivate_program(request: Request, program_id: str, user: WebStaffDep) -> Response:
    return await _set_program_active(request, program_id, user, False)


@router.post("/programs/{program_id}/activate")
async def activate_program(request: Request, program_id: str, user: WebStaffDep) -> Response:
    """Undo a deactivation (or turn a program back on)."""
    return await _set_program_active(request, program_id, user, True)


# ----------------------------------------------------------------------------- imports
IMPORT_KINDS = {
    "programs": "برنامه‌ها",
    "applications": "درخواست‌ها",
    "rounds": "دوره‌های پذیرش",
    "outcomes": "نتیجه‌ها (تصمیم‌ها)",
}


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, user: WebStaffDep) -> Response:
    return render(
        request, "staff_imports.html", user=user, kinds=IMPORT_KINDS, result=None, errors=[]
    )


@router.post("/imports", response_class=HTMLResponse)
async def upload(request: Request, user: WebStaffDep) -> Response:
    """Import a .json/.csv/.xlsx file: all or nothing, every bad row listed."""
    from starlette.datastructures import UploadFile as StarletteUpload

    from recommender.constants import MAX_IMPORT_BYTES
    from recommender.errors import ImportValidationError

    from ..routes.imports import import_file

    form = await form_data(request)
    kind = str(form.get("kind", ""))
    upload_file = form.get("file")
    errors: list[dict[str, Any]] = []
    result = None
    if kind not in IMPORT_KINDS:
        errors.append({"field": "نوع", "message": "نوع داده را انتخاب کنید."})
    elif not isinstance(upload_file, StarletteUpload) or not upload_file.filename:
        errors.append({"field": "فایل", "message": "فایلی انتخاب نشده است."})
    else:
        data = await upload_file.read(MAX_IMPORT_BYTES + 1)
        try:
            result = await run_in_threadpool(
                import_file,
                request.app.state.store,
                user,
                kind,
                upload_file.filename,
                data,
                form.get("skip_invalid") == "on",
            )
        except ImportValidationError as exc:
            errors = [
                {"row": e.row, "field": e.field, "message": persian(e.reason, 422)}
                for e in exc.errors
            ]
        except InvalidInputError as exc:
            errors.append({"field": "فایل", "message": persian(str(exc), 422)})
        if result is not None and kind == "programs":
            request.app.state.recommender.reload_in_background()
    return render(
        request,
        "staff_imports.html",
        status_code=422 if errors else 200,
        user=user,
        kinds=IMPORT_KINDS,
        result=result,
        errors=errors,
    )


# ------------------------------------------------------------------------------ rounds
# Each output file of a round run, as a committee member reads it: (name, what it is for).
FILE_LABELS: dict[str, tuple[str, str]] = {
    "report.html": (
        "گزارش دوره (برای کمیته)",
        "خلاصه، نمودارها و فهرست‌ها؛ در مرورگر باز و چاپ می‌شود.",
    ),
    "report.xlsx": (
        "کارنامهٔ Excel",
        "همهٔ جدول‌ها با فیلتر، برای مرتب‌کردن و بررسی.",
    ),
    "scores.csv": (
        "امتیاز همهٔ جفت‌ها (CSV)",
        "امتیاز و شانس هر درخواست برای هر برنامه.",
    ),
    "shortlists.csv": (
        "فهرست کوتاه هر برنامه (CSV)",
        "بهترین درخواست‌ها برای هر برنامه، به ترتیب.",
    ),
    "top_programs.csv": (
        "برنامه‌های برتر هر درخواست (CSV)",
        "بهترین برنامه‌ها برای هر استارتاپ.",
    ),
    "allocation.csv": (
        "تخصیص صندلی و بودجه (CSV)",
        "کدام درخواست در کدام برنامه و با چه سرمایه‌ای.",
    ),
    "what_if.json": (
        "مقایسهٔ سناریو (JSON)",
        "تفاوت تخصیص با ظرفیت تغییرداده‌شده؛ برای سامانه‌ها.",
    ),
    "what_if_allocation.csv": (
        "تخصیص در سناریو (CSV)",
        "تخصیص با ظرفیت‌های سناریوی «اگر…».",
    ),
    "scores.json": (
        "امتیازها برای سامانه‌های دیگر (JSON)",
        "همان امتیازهای CSV در قالبی که برنامه‌ها می‌خوانند.",
    ),
    "summary.json": (
        "خلاصهٔ ماشینی (JSON)",
        "همان خلاصهٔ گزارش برای سامانه‌های دیگر.",
    ),
    "allocation.json": (
        "وضعیت ذخیرهٔ تخصیص (JSON)",
        "برای اجرای دوبارهٔ تخصیص؛ نیازی به باز کردن نیست.",
    ),
}
JOB_STATES_FA = {
    "queued": "در صف",
    "running": "در حال اجرا",
    "succeeded": "پایان یافت",
    "failed": "ناموفق",
}


def file_links(job_id: str, names: list[str]) -> list[dict[str, str]]:
    """A job's files in the order a committee needs them, each with a Persian name and use."""
    order = list(FILE_LABELS)
    ranked = sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))
    links = []
    for name in ranked:
        label, about = FILE_LABELS.get(name, (name, ""))
        url = f"/staff/jobs/{job_id}/files/{name}"
        if name == "report.html":
            url = f"/staff/jobs/{job_id}/report"
        links.append({"name": name, "label": label, "about": about, "url": url})
    return links


def round_state(intake: Any, today: Any = None) -> str:
    """'open', 'upcoming' or 'closed' on `today` (UTC date by default)."""
    import datetime as dt

    day = today or dt.datetime.now(dt.UTC).date()
    if day < intake.opens_on:
        return "upcoming"
    return "open" if day <= intake.closes_on else "closed"


ROUND_STATES_FA = {"open": "باز", "upcoming": "هنوز باز نشده", "closed": "بسته"}


@router.get("/rounds", response_class=HTMLResponse)
def rounds(request: Request, user: WebStaffDep) -> Response:
    found = sorted(
        request.app.state.store.list_rounds(), key=lambda r: (r.opens_on, r.id), reverse=True
    )
    listed = [{"round": r, "state": round_state(r)} for r in found]
    return render(request, "staff_rounds.html", user=user, rounds=listed, states=ROUND_STATES_FA)


@router.get("/rounds/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, round_id: str, user: WebStaffDep) -> Response:
    state = request.app.state
    intake = state.store.get_round(round_id)
    names = {p.id: p.name for p in state.store.list_programs()}
    jobs = [job_public(j) for j in state.jobs.list(subject=f"rounds/{round_id}", limit=10)]
    files = {j.id: file_links(j.id, [f.name for f in j.files]) for j in jobs}
    busy = any(j.status in ("queued", "running") for j in jobs)
    return render(
        request,
        "staff_round.html",
        user=user,
        round=intake,
        round_state=ROUND_STATES_FA[round_state(intake)],
        program_names=names,
        n_applications=len(state.store.list_applications(round_id=round_id)),
        jobs=jobs,
        files=files,
        busy=busy,
        job_states=JOB_STATES_FA,
    )


@router.post("/rounds/{round_id}/score")
async def score_round(request: Request, round_id: str, user: WebStaffDep) -> Response:
    form = await form_data(request)
    state = request.app.state
    state.store.get_round(round_id)
    running = [
        j
        for j in state.jobs.list(subject=f"rounds/{round_id}", limit=10)
        if j.status in ("queued", "running")
    ]
    if running:  # one run at a time: show the one under way
        return RedirectResponse(f"/staff/rounds/{round_id}?job={running[0].id}", status_code=303)
    job = state.jobs.submit(
        ROUND_SCORE_KIND,
        {"round_id": round_id, "top": 10, "allocate": form.get("allocate") == "on"},
        created_by=user.actor,
        subject=f"rounds/{round_id}",
    )
    state.store.audit(user.actor, "score", "round", round_id, {"job_id": job.id})
    state.worker.wake()
    return RedirectResponse(f"/staff/rounds/{round_id}?job={job.id}", status_code=303)


# ------------------------------------------------------------------------------ what-if
def _round_capacity(state: Any, intake: Any) -> list[dict[str, Any]]:
    programs = {p.id: p for p in state.store.list_programs()}
    rows = []
    for item in intake.programs:
        program = programs.get(item.program_id)
        rows.append(
            {
                "id": item.program_id,
                "name": program.name if program else item.program_id,
                "seats": item.seats
                if item.seats is not None
                else (program.residency_seats if program else None),
                "budget": item.budget,
            }
        )
    return rows


def _what_if_result(state: Any, job: Any, intake: Any) -> dict[str, Any] | None:
    """The what-if comparison saved by a finished job, with names instead of ids."""
    import json

    path = state.jobs.output_dir(job.id) / "what_if.json"
    if job.status != "succeeded" or not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    diff = data.get("diff", {})
    names = {p.id: p.name for p in state.store.list_programs()}
    ids = {
        x["application_id"]
        for key in ("residency_gained", "residency_lost", "funding_changes")
        for x in diff.get(key, [])
    }
    startups = {}
    for application_id in ids:
        try:
            startups[application_id] = state.store.get_application(application_id).startup_name
        except PeyvandError:
            startups[application_id] = application_id

    def named(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                **x,
                "startup": startups.get(x["application_id"], x["application_id"]),
                "program": names.get(x["program_id"], x["program_id"]),
            }
            for x in items
        ]

    return {
        "programs": [
            {**p, "name": names.get(p["program_id"], p["program_id"])}
            for p in diff.get("programs", [])
        ],
        "gained": named(diff.get("residency_gained", [])),
        "lost": named(diff.get("residency_lost", [])),
        "funding": named(diff.get("funding_changes", [])),
        "objective_before": diff.get("objective_before"),
        "objective_after": diff.get("objective_after"),
        "stale": data.get("baseline_stale", False),
    }


@router.get("/rounds/{round_id}/what-if", response_class=HTMLResponse)
def what_if_page(
    request: Request, round_id: str, user: WebStaffDep, job: str | None = None
) -> Response:
    """Change seats or budgets of the round's programs and compare the allocation (the same
    `round_score` job as the CLI's `round score --what-if` and the API's `what_if`)."""
    state = request.app.state
    intake = state.store.get_round(round_id)
    found = None
    if job:
        try:
            found = job_public(state.jobs.get(job))
        except PeyvandError:
            found = None
        if found is not None and found.subject != f"rounds/{round_id}":
            found = None
    return render(
        request,
        "staff_what_if.html",
        user=user,
        round=intake,
        capacity=_round_capacity(state, intake),
        job=found,
        result=_what_if_result(state, found, intake) if found else None,
        files=file_links(found.id, [f.name for f in found.files]) if found else [],
        job_states=JOB_STATES_FA,
        errors=[],
        values={},
    )


@router.post("/rounds/{round_id}/what-if", response_class=HTMLResponse)
async def run_what_if(request: Request, round_id: str, user: WebStaffDep) -> Response:
    from recommender.rounds.staff_files import parse_what_if

    form = await form_data(request)
    state = request.app.state
    intake = state.store.get_round(round_id)
    capacity = _round_capacity(state, intake)
    items, errors, values = [], [], {}
    for row in capacity:
        settings = []
        for key, label in (("seats", "صندلی"), ("budget", "بودجه")):
            raw = str(form.get(f"{key}-{row['id']}", ""))
            values[f"{key}-{row['id']}"] = raw
            text = _latin(raw)
            if not text:
                continue
            if not text.isdigit():
                message = "یک عدد درست و نامنفی بنویسید."
                errors.append({"field": f"{label} «{row['name']}»", "message": message})
                continue
            settings.append(f"{key}={int(text)}")
        if settings:
            items.append(f"{row['id']}:{','.join(settings)}")
    if not items and not errors:
        errors.append({"field": "", "message": "دست‌کم ظرفیت یا بودجهٔ یک برنامه را تغییر دهید."})
    if errors:
        return render(
            request,
            "staff_what_if.html",
            status_code=422,
            user=user,
            round=intake,
            capacity=capacity,
            job=None,
            result=None,
            files=[],
            job_states=JOB_STATES_FA,
            errors=errors,
            values=values,
        )
    what_if = ";".join(items)
    parse_what_if(what_if)  # the one reader of the what-if form (the job reads it again)
    job = state.jobs.submit(
        ROUND_SCORE_KIND,
        {"round_id": round_id, "top": 10, "allocate": True, "what_if": what_if},
        created_by=user.actor,
        subject=f"rounds/{round_id}",
    )
    state.store.audit(user.actor, "what_if", "round", round_id, {"job_id": job.id})
    state.worker.wake()
    return RedirectResponse(f"/staff/rounds/{round_id}/what-if?job={job.id}", status_code=303)


@router.get("/jobs/{job_id}.json")
def job_status(request: Request, job_id: str, user: WebStaffDep) -> Response:
    """The job's status for the round page's progress bar (polled)."""
    from fastapi.responses import JSONResponse

    try:
        job = job_public(request.app.state.jobs.get(job_id))
    except PeyvandError:
        raise HTTPException(404, "کار خواسته‌شده پیدا نشد.") from None
    data = job.model_dump(mode="json")
    data["files"] = file_links(job_id, [f["name"] for f in data["files"]])
    data["status_fa"] = JOB_STATES_FA.get(job.status, job.status)
    if job.error:
        data["error"] = persian(job.error, 500)
    return JSONResponse(data)


@router.get("/jobs/{job_id}/files/{name}")
def job_file(request: Request, job_id: str, name: str, user: WebStaffDep) -> FileResponse:
    return api_job_file(job_id, name, request.app.state.jobs, user)


_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def _report_text(request: Request, job_id: str, user: Any) -> str:
    response = api_job_file(job_id, "report.html", request.app.state.jobs, user)
    return Path(response.path).read_text(encoding="utf-8")


@router.get("/jobs/{job_id}/report", response_class=HTMLResponse)
def job_report(request: Request, job_id: str, user: WebStaffDep) -> Response:
    """A round's report.html opened in the browser (inline, not a download).

    The file is self-contained (its styles inline) so it also works when saved; the site's
    CSP allows no inline styles, so here its style block is served from the next route.
    """
    text = _report_text(request, job_id, user)
    link = f'<link rel="stylesheet" href="/staff/jobs/{job_id}/report.css">'
    text = _STYLE_BLOCK.sub(lambda m: link, text, count=1)
    return HTMLResponse(text, headers={"Cache-Control": "private, no-store"})


@router.get("/jobs/{job_id}/report.css")
def job_report_css(request: Request, job_id: str, user: WebStaffDep) -> Response:
    """The style block of a round's report.html (see `job_report`)."""
    found = _STYLE_BLOCK.search(_report_text(request, job_id, user))
    return Response(found.group(1) if found else "", media_type="text/css; charset=utf-8")
