"""Staff pages for the catalogue: programs (list, add, edit, deactivate and activate again)
and file imports (programs, applications, rounds, outcomes; all or nothing).

Every house's programs are listed; staff change only their own house's (another house's
program answers 404 on the edit and deactivate pages, `Store.own_program`), and add programs
to their own house. Admin and the network operator choose the house of a new program."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from recommender import schemas as contracts
from recommender.constants import MAX_IMPORT_BYTES, PROGRAM_KINDS, STAGES
from recommender.errors import (
    ConflictError,
    ImportValidationError,
    InvalidInputError,
    NotFoundError,
)

from ..accounts import User
from ..deps import jobs_for, store_for
from ..embed_tasks import JOB_KIND as PLANS_EMBED_KIND
from ..embed_tasks import submit as submit_plans_embed
from ..messages import persian
from ..routes.imports import after_import, import_uploaded_file
from ..routes.programs import patch_program
from .forms import labelled_errors, latin_digits
from .staff_rounds import JOB_STATES_FA, job_summary_fa
from .views import WebStaffDep, form_data, render

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)


@router.get("/programs", response_class=HTMLResponse)
def programs(
    request: Request,
    user: WebStaffDep,
    deactivated: str | None = None,
    activated: str | None = None,
) -> Response:
    store = store_for(request, user)
    found = store.list_programs()
    names = {p.id: p.name for p in found}
    return render(
        request,
        "staff_programs.html",
        user=user,
        programs=found,
        editable=store.own_program_ids(),
        houses=store.org_names(),
        deactivated=deactivated if deactivated in names else None,
        activated=activated if activated in names else None,
        names=names,
    )


def _program_form(
    request: Request,
    user: User,
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
        # Admin and the network operator choose the house of a new program; staff add to
        # their own.
        houses=store_for(request, user).list_organizations(active_only=True)
        if is_new and user.sees_every_house
        else [],
    )


async def _program_values(request: Request) -> dict[str, Any]:
    form = await form_data(request)
    equity = latin_digits(form.get("equity_percent", "")).replace("٫", ".")
    return {
        "id": str(form.get("id", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "kind": str(form.get("kind", "")),
        "description": str(form.get("description", "")).strip(),
        "sectors": [str(s) for s in form.getlist("sectors")],
        "stages": [str(s) for s in form.getlist("stages")],
        "province": str(form.get("province", "")).strip(),
        "city": str(form.get("city", "")).strip(),
        "residency_seats": latin_digits(form.get("residency_seats", "0")) or "0",
        "funding_min": latin_digits(form.get("funding_min", "0")) or "0",
        "funding_max": latin_digits(form.get("funding_max", "0")) or "0",
        "equity_percent": equity or None,
        "requires_knowledge_based": form.get("requires_knowledge_based") == "on",
        "accepts_remote": form.get("accepts_remote") == "on",
        "active": form.get("active") == "on",
        "org_id": str(form.get("org_id", "")).strip() or None,
    }


@router.get("/programs/new", response_class=HTMLResponse)
def new_program(request: Request, user: WebStaffDep) -> Response:
    values = {"kind": "accelerator", "stages": list(STAGES), "active": True}
    return _program_form(request, user, values, [], "/staff/programs/new", True)


@router.post("/programs/new", response_class=HTMLResponse)
async def create_program(request: Request, user: WebStaffDep) -> Response:
    values = await _program_values(request)
    if not user.sees_every_house:
        values["org_id"] = None  # staff add to their own house (the store fills it in)
    store = store_for(request, user)
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
    try:
        with store.session() as session:
            store.upsert_programs([program], session=session)
            store.audit(user.actor, "create", "program", program.id, session=session)
    except ImportValidationError as exc:
        errors = [{"field": "خانه", "message": persian(e.reason, 422)} for e in exc.errors]
        return _program_form(request, user, values, errors, "/staff/programs/new", True, 422)
    request.app.state.recommender.reload_in_background()
    return RedirectResponse("/staff/programs", status_code=303)


@router.get("/programs/{program_id}", response_class=HTMLResponse)
def edit_program(request: Request, program_id: str, user: WebStaffDep) -> Response:
    program = store_for(request, user).own_program(program_id)
    return _program_form(
        request, user, program.model_dump(), [], f"/staff/programs/{program_id}", False
    )


@router.post("/programs/{program_id}", response_class=HTMLResponse)
async def save_program(request: Request, program_id: str, user: WebStaffDep) -> Response:
    values = await _program_values(request)
    values["id"] = program_id
    values.pop("org_id", None)  # a program stays with its house
    store = store_for(request, user)
    store.own_program(program_id)
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
    program = store_for(request, user).own_program(program_id)
    return render(request, "staff_program_deactivate.html", user=user, program=program)


async def _set_program_active(
    request: Request, program_id: str, user: User, active: bool
) -> Response:
    await form_data(request)
    await run_in_threadpool(
        patch_program, store_for(request, user), user, program_id, {"active": active}
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


def _embed_card(request: Request, user: User, job_id: str | None) -> dict[str, Any]:
    """The plans_embed job shown on the imports page (the one asked for, else the house's
    latest) and its Persian summary; none when the house never ran one or the asked job is
    not the caller's."""
    jobs = jobs_for(request, user)
    job = None
    if job_id:
        try:
            job = jobs.get(job_id)
        except NotFoundError:
            job = None
    else:
        job = next(iter(jobs.list(kind=PLANS_EMBED_KIND, limit=1)), None)
    return {
        "embed_job": job,
        "embed_summary": job_summary_fa(job) if job is not None else "",
        "job_states": JOB_STATES_FA,
    }


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, user: WebStaffDep, embed_job: str | None = None) -> Response:
    return render(
        request, "staff_imports.html", user=user, kinds=IMPORT_KINDS, result=None, errors=[],
        **_embed_card(request, user, embed_job),
    )


@router.post("/applications/embed")
async def embed_plans(request: Request, user: WebStaffDep) -> Response:
    """Prepare the house's plans for matching in the background (the `plans_embed` job)."""
    await form_data(request)  # the CSRF check
    job = submit_plans_embed(
        store_for(request, user), jobs_for(request, user), actor=user.actor, org_id=user.org_id
    )
    request.app.state.worker.wake()
    return RedirectResponse(f"/staff/imports?embed_job={job.id}", status_code=303)


@router.post("/imports", response_class=HTMLResponse)
async def upload(request: Request, user: WebStaffDep) -> Response:
    """Import a .json/.csv/.xlsx file: all or nothing, every bad row listed."""
    form = await form_data(request)
    kind = str(form.get("kind", ""))
    upload_file = form.get("file")
    errors: list[dict[str, Any]] = []
    result = None
    status = 422
    if kind not in IMPORT_KINDS:
        errors.append({"field": "نوع", "message": "نوع داده را انتخاب کنید."})
    elif not isinstance(upload_file, StarletteUpload) or not upload_file.filename:
        errors.append({"field": "فایل", "message": "فایلی انتخاب نشده است."})
    else:
        data = await upload_file.read(MAX_IMPORT_BYTES + 1)
        try:
            result = await run_in_threadpool(
                import_uploaded_file,
                store_for(request, user),
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
        except ConflictError as exc:  # another import of this kind is being written now
            errors.append({"field": "فایل", "message": persian(str(exc), 409)})
            status = 409
        if result is not None:
            after_import(
                result,
                store=store_for(request, user),
                jobs=jobs_for(request, user),
                user=user,
                recommender=request.app.state.recommender,
                worker=request.app.state.worker,
            )
    return render(
        request,
        "staff_imports.html",
        status_code=status if errors else 200,
        user=user,
        kinds=IMPORT_KINDS,
        result=result,
        errors=errors,
        **_embed_card(request, user, result.embed_job_id if result else None),
    )
