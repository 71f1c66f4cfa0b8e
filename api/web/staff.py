"""Staff pages: search (free text + filters → ranked programs with reasons), applications,
programs (list, add, edit, deactivate), rounds (run scoring, watch progress, download)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from recommender import schemas as contracts
from recommender.constants import PROGRAM_KINDS, STAGE_LABELS_FA, STAGES
from recommender.errors import InvalidInputError, PeyvandError

from ..errors import readable_errors
from ..matching import run_match, visible_application
from ..routes.jobs import job_file as api_job_file
from ..routes.jobs import job_public
from ..routes.programs import patch_program
from ..routes.rounds import ROUND_SCORE_KIND
from ..schemas import FactCorrections, MatchFilters, MatchResponse
from .views import WebStaffDep, form_data, render, render_application_page

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٬,", "01234567890123456789  ")


def _latin(value: Any) -> str:
    return str(value or "").translate(_DIGITS).replace(" ", "").strip()


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
        errors.extend(readable_errors(list(exc.errors())))
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
        problem = str(exc)
    return _search_page(request, user, values=values, result=result, problem=problem)


_FACT_FIELDS = ("stage", "province", "city", "needs_residency", "funding_ask", "funding_kind",
                "knowledge_based", "team_size", "sectors")
_STAGE_BY_LABEL = {label: stage for stage, label in STAGE_LABELS_FA.items()}
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
            raw[name] = _int_or_none(text) if _int_or_none(text) is not None else text
        elif name == "sectors":
            raw[name] = [s.strip() for s in text.replace("،", ",").split(",") if s.strip()]
        elif name == "stage":
            raw[name] = _STAGE_BY_LABEL.get(text, text)
        else:
            raw[name] = text
    try:
        return FactCorrections(**raw).corrections()
    except ValidationError as exc:
        errors.extend(readable_errors(list(exc.errors())))
        return {}


# ------------------------------------------------------------------------ applications
@router.get("/applications", response_class=HTMLResponse)
def applications(request: Request, user: WebStaffDep, round_id: str | None = None) -> Response:
    store = request.app.state.store
    found = store.list_applications(round_id=round_id or None)
    store.audit(user.actor, "list", "application", round_id or "*")
    return render(
        request,
        "staff_applications.html",
        user=user,
        applications=found,
        rounds=store.list_rounds(),
        round_id=round_id or "",
    )


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: str, user: WebStaffDep) -> Response:
    state = request.app.state
    application = visible_application(state.store, state.accounts, user, application_id, "read")
    return render_application_page(request, user, application, "staff_application.html")


# ---------------------------------------------------------------------------- programs
@router.get("/programs", response_class=HTMLResponse)
def programs(request: Request, user: WebStaffDep) -> Response:
    return render(
        request, "staff_programs.html", user=user, programs=request.app.state.store.list_programs()
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
            readable_errors(list(exc.errors())),
            "/staff/programs/new",
            True,
            422,
        )
    if store.existing_ids("programs", [program.id]):
        errors = [{"field": "id", "message": "برنامه‌ای با این شناسه هست."}]
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
            readable_errors(list(exc.errors())),
            f"/staff/programs/{program_id}",
            False,
            422,
        )
    except InvalidInputError as exc:
        return _program_form(
            request,
            user,
            values,
            [{"field": "", "message": str(exc)}],
            f"/staff/programs/{program_id}",
            False,
            422,
        )
    request.app.state.recommender.reload_in_background()
    return RedirectResponse("/staff/programs", status_code=303)


@router.post("/programs/{program_id}/deactivate")
async def deactivate_program(request: Request, program_id: str, user: WebStaffDep) -> Response:
    await form_data(request)
    await run_in_threadpool(
        patch_program, request.app.state.store, user, program_id, {"active": False}
    )
    request.app.state.recommender.reload_in_background()
    return RedirectResponse("/staff/programs", status_code=303)


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
            errors = [{"row": e.row, "field": e.field, "message": e.reason} for e in exc.errors]
        except InvalidInputError as exc:
            errors.append({"field": "فایل", "message": str(exc)})
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
@router.get("/rounds", response_class=HTMLResponse)
def rounds(request: Request, user: WebStaffDep) -> Response:
    return render(
        request, "staff_rounds.html", user=user, rounds=request.app.state.store.list_rounds()
    )


@router.get("/rounds/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, round_id: str, user: WebStaffDep) -> Response:
    state = request.app.state
    intake = state.store.get_round(round_id)
    names = {p.id: p.name for p in state.store.list_programs()}
    jobs = [job_public(j) for j in state.jobs.list(subject=f"rounds/{round_id}", limit=10)]
    return render(
        request,
        "staff_round.html",
        user=user,
        round=intake,
        program_names=names,
        n_applications=len(state.store.list_applications(round_id=round_id)),
        jobs=jobs,
    )


@router.post("/rounds/{round_id}/score")
async def score_round(request: Request, round_id: str, user: WebStaffDep) -> Response:
    form = await form_data(request)
    state = request.app.state
    state.store.get_round(round_id)
    job = state.jobs.submit(
        ROUND_SCORE_KIND,
        {"round_id": round_id, "top": 10, "allocate": form.get("allocate") == "on"},
        created_by=user.actor,
        subject=f"rounds/{round_id}",
    )
    state.store.audit(user.actor, "score", "round", round_id, {"job_id": job.id})
    state.worker.wake()
    return RedirectResponse(f"/staff/rounds/{round_id}?job={job.id}", status_code=303)


@router.get("/jobs/{job_id}.json")
def job_status(request: Request, job_id: str, user: WebStaffDep) -> Response:
    """The job's status for the round page's progress bar (polled)."""
    from fastapi.responses import JSONResponse

    try:
        job = job_public(request.app.state.jobs.get(job_id))
    except PeyvandError:
        raise HTTPException(404, "not found") from None
    data = job.model_dump(mode="json")
    for f in data["files"]:
        f["url"] = f"/staff/jobs/{job_id}/files/{f['name']}"
    return JSONResponse(data)


@router.get("/jobs/{job_id}/files/{name}")
def job_file(request: Request, job_id: str, name: str, user: WebStaffDep) -> FileResponse:
    return api_job_file(job_id, name, request.app.state.jobs, user)
