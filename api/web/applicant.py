"""Applicant pages: my applications, submit or edit a plan (pasted or uploaded as
.txt/.docx/.pdf) with the house it goes to and the consent to be referred to other houses,
ranked suggestions with reasons and chances (each with a button to apply to the program),
the application's status per program and its timeline in Jalali dates
(`recommender.workflow`), and the referrals of the application (consent or refuse each,
api/web/referrals.applicant_panel)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from recommender import workflow
from recommender.errors import InvalidInputError, NotFoundError

from ..accounts import User
from ..deps import check_rate, store_for
from ..matching import visible_application
from ..messages import field_errors, persian
from ..routes.applications import check_house, create_application
from ..routes.referrals import actor_of
from ..schemas import ApplicationCreate
from ..uploads import MAX_PLAN_FILE_BYTES, extract_text
from .referrals import applicant_panel
from .views import FIELD_LABELS_FA, WebApplicantDep, form_data, render, render_application_page

router = APIRouter(prefix="/me", tags=["web"], include_in_schema=False)


def _state(request: Request) -> Any:
    return request.app.state


async def read_application_form(request: Request) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The posted application fields (the plan from the file when one is uploaded), and the
    problems found, as (values, errors)."""
    form = await form_data(request)
    values: dict[str, Any] = {
        "startup_name": str(form.get("startup_name", "")).strip(),
        "business_plan": str(form.get("business_plan", "")),
        "stage": str(form.get("stage", "idea")),
        "province": str(form.get("province", "")).strip(),
        "city": str(form.get("city", "")).strip(),
        "team_size": str(form.get("team_size", "1")).strip() or "1",
        "funding_ask": str(form.get("funding_ask", "0")).strip().replace(",", "") or "0",
        "founded_year": str(form.get("founded_year", "")).strip() or None,
        "needs_residency": form.get("needs_residency") == "on",
        "knowledge_based": form.get("knowledge_based") == "on",
        "sectors": [str(s) for s in form.getlist("sectors") if s],
        "org_id": str(form.get("org_id", "")).strip() or None,
        "share_with_network": form.get("share_with_network") == "on",
    }
    errors: list[dict[str, str]] = []
    upload = form.get("plan_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_PLAN_FILE_BYTES + 1)
        if data:
            try:
                values["business_plan"] = await run_in_threadpool(
                    extract_text, upload.filename, data
                )
            except InvalidInputError as exc:
                errors.append({"field": "plan_file", "message": persian(str(exc), 422)})
    return values, errors


def validate_application(
    values: dict[str, Any], errors: list[dict[str, str]]
) -> ApplicationCreate | None:
    digits = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
    cleaned = {
        k: (v.translate(digits) if isinstance(v, str) and k != "business_plan" else v)
        for k, v in values.items()
    }
    file_failed = any(e["field"] == "plan_file" for e in errors)
    try:
        body = ApplicationCreate.model_validate(cleaned)
    except ValidationError as exc:
        found = field_errors(exc.errors())
        if file_failed:  # the plan is empty because the file was refused: say that once
            found = [e for e in found if e["field"] != "business_plan" and e["field"]]
        errors.extend(found)
        return None
    return None if errors else body


def _labelled(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {"field": FIELD_LABELS_FA.get(e["field"].split(".")[0], ""), "message": e["message"]}
        for e in errors
    ]


def _form(
    request: Request,
    user: User,
    values: dict[str, Any],
    errors: list,
    action: str,
    status_code: int = 200,
) -> HTMLResponse:
    houses = store_for(request, user).list_organizations(active_only=True)
    return render(
        request,
        "applicant_form.html",
        status_code=status_code,
        user=user,
        values=values,
        errors=_labelled(errors),
        action=action,
        houses=houses if len(houses) > 1 else [],
    )


@router.get("", response_class=HTMLResponse)
def my_applications(request: Request, user: WebApplicantDep) -> Response:
    owned = _state(request).accounts.owned_ids(user.id)  # oldest first
    mine = {a.id: a for a in store_for(request, user).list_applications()}
    found = [mine[i] for i in owned if i in mine]
    return render(request, "applicant_home.html", user=user, applications=found)


@router.get("/applications/new", response_class=HTMLResponse)
def new_application(request: Request, user: WebApplicantDep) -> Response:
    return _form(
        request,
        user,
        {"stage": "idea", "team_size": 1, "funding_ask": 0},
        [],
        "/me/applications/new",
    )


@router.post("/applications/new", response_class=HTMLResponse)
async def submit_application(request: Request, user: WebApplicantDep) -> Response:
    check_rate(request, "applicant_write", f"user:{user.id}")
    values, errors = await read_application_form(request)
    body = validate_application(values, errors)
    if body is None:
        return _form(request, user, values, errors, "/me/applications/new", 422)
    state = _state(request)
    application_id = await run_in_threadpool(
        create_application, store_for(request, user), state.accounts, user, body
    )
    return RedirectResponse(f"/me/applications/{application_id}", status_code=303)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def show_application(request: Request, application_id: str, user: WebApplicantDep) -> Response:
    application = visible_application(store_for(request, user), user, application_id, "read")
    check_rate(request, "applicant_suggest", f"user:{user.id}")
    referral_panel = applicant_panel(request, user, application)
    store = store_for(request, user)

    def extra(result: Any) -> dict[str, Any]:
        return referral_panel(result) | workflow_panel(store, user, application_id)

    return render_application_page(
        request, user, application, "applicant_application.html", extra=extra
    )


#: How a step of the timeline reads on the applicant's page.
EVENT_LABELS_FA = {
    "submitted": "ثبت درخواست",
    "applied": "درخواست برای برنامه",
    "referred": "پیشنهاد ارجاع به خانه‌ای دیگر",
    "shortlisted": "راه‌یافتن به فهرست کوتاه",
    "decided": "اعلام تصمیم",
}
#: The status of the application at one program (the latest step there).
STATUS_LABELS_FA = {
    "applied": "درخواست ثبت شد؛ در انتظار بررسی",
    "shortlisted": "در فهرست کوتاه",
    "decided": "تصمیم گرفته شد",
}


def workflow_panel(store: Any, user: User, application_id: str) -> dict[str, Any]:
    """The application's timeline and its status per program, for the applicant's page."""
    events = workflow.timeline(store, actor_of(user), application_id)
    names: dict[str, str] = {}
    for program_id in {e.program_id for e in events if e.program_id}:
        try:
            names[program_id] = store.get_program(program_id).name
        except NotFoundError:
            names[program_id] = program_id
    statuses: dict[str, Any] = {}
    for event in events:  # oldest first: the latest step wins
        if event.program_id and event.kind in STATUS_LABELS_FA:
            statuses[event.program_id] = event
    return {
        "timeline": [
            {
                "at": e.at,
                "label": EVENT_LABELS_FA[e.kind],
                "kind": e.kind,
                "program_id": e.program_id,
                "program": names.get(e.program_id or "", ""),
                "detail": e.detail,
            }
            for e in events
        ],
        "program_statuses": [
            {
                "program_id": pid,
                "program": names[pid],
                "status": STATUS_LABELS_FA[e.kind],
                "detail": e.detail if e.kind == "decided" else {},
            }
            for pid, e in statuses.items()
        ],
        "applied_ids": {pid for pid in statuses},
        "apply_action": f"/me/applications/{application_id}/programs",
    }


@router.post("/applications/{application_id}/programs")
async def apply_to_program(
    request: Request, application_id: str, user: WebApplicantDep
) -> Response:
    """The «درخواست برای این برنامه» button of a suggestion (applying twice changes nothing)."""
    form = await form_data(request)
    check_rate(request, "applicant_write", f"user:{user.id}")
    program_id = str(form.get("program_id", "")).strip()
    await run_in_threadpool(
        workflow.apply, store_for(request, user), actor_of(user), application_id, program_id
    )
    return RedirectResponse(f"/me/applications/{application_id}#workflow", status_code=303)


@router.get("/applications/{application_id}/edit", response_class=HTMLResponse)
def edit_application(request: Request, application_id: str, user: WebApplicantDep) -> Response:
    application = visible_application(store_for(request, user), user, application_id, "read")
    return _form(
        request, user, application.model_dump(), [], f"/me/applications/{application_id}/edit"
    )


@router.post("/applications/{application_id}/edit", response_class=HTMLResponse)
async def save_application(
    request: Request, application_id: str, user: WebApplicantDep
) -> Response:
    current = await run_in_threadpool(
        visible_application, store_for(request, user), user, application_id, "read"
    )
    check_rate(request, "applicant_write", f"user:{user.id}")
    values, errors = await read_application_form(request)
    values["round_id"] = current.round_id
    body = validate_application(values, errors)
    action = f"/me/applications/{application_id}/edit"
    if body is None:
        return _form(request, user, values, errors, action, 422)
    await run_in_threadpool(check_house, store_for(request, user), body.org_id, current.org_id)
    await run_in_threadpool(
        store_for(request, user).upsert_applications, [body.to_contract(application_id)]
    )
    return RedirectResponse(f"/me/applications/{application_id}", status_code=303)
