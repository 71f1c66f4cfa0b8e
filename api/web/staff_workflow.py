"""The staff's decision workflow on an application's page: the programs it applied to (and
the ranked programs of the caller's house) with shortlist add/remove, the decision form per
program with its history (corrections kept, the latest marked current), and private notes.

Every rule is `recommender.workflow`'s (the API's `api/routes/workflow.py` calls the same
functions); these handlers read the form, call the rule with the caller's scoped store and
redirect back, or show the page again with the rule's Persian message (422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from recommender import workflow
from recommender.errors import InvalidInputError, NotFoundError
from recommender.store.listing import application_status

from ..accounts import User
from ..deps import store_for
from ..matching import visible_application
from ..messages import persian
from ..routes.referrals import actor_of
from ..schemas import MatchResponse
from .forms import latin_digits
from .referrals import staff_panel
from .views import WebStaffDep, form_data, render_application_page

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)

#: `store.listing.APPLICATION_STATUSES` on an application's page.
APPLICATION_STATUS_FA = {
    "new": "تازه؛ هنوز برای برنامه‌ای درخواست نداده",
    "applied": "برای برنامه درخواست داده؛ در انتظار بررسی",
    "shortlisted": "در فهرست کوتاه",
    "decided": "تصمیم ثبت شده",
}


def _author(name: str) -> str:
    return name.removeprefix("user:")


def _program_rows(
    store: Any, user: User, application_id: str, ranked: list[str]
) -> list[dict[str, Any]]:
    """One row per program the application is linked to (applied, shortlisted, decided) or
    that ranks for it at the caller's house, with what the caller may do there."""
    applied = {a.program_id: a for a in store.list_applied(application_id)}
    listed = {e.program_id: e for e in store.list_shortlist(application_id)}
    history: dict[str, list[Any]] = {}
    for decision in store.list_decisions(application_id):
        history.setdefault(decision.program_id, []).append(decision)
    programs = {p.id: p for p in store.list_programs()}
    own = {pid for pid, p in programs.items() if user.org_id in (None, p.org_id)}
    order = [*applied, *listed, *history, *(p for p in ranked if p in own)]
    rows = []
    for program_id in dict.fromkeys(order):
        program = programs.get(program_id)
        decisions = history.get(program_id, [])
        rows.append(
            {
                "id": program_id,
                "name": program.name if program else program_id,
                "funding_max": program.funding_max if program else None,
                "applied": applied.get(program_id),
                "shortlisted": listed.get(program_id),
                "history": [
                    {"decision": d, "current": i == len(decisions) - 1, "by": _author(d.decided_by)}
                    for i, d in enumerate(decisions)
                ],
                "may_act": program_id in own,
                "ranked": program_id in ranked,
            }
        )
    return rows


def workflow_panel(
    request: Request, user: User, application_id: str, error: dict[str, str] | None = None
) -> Callable[[MatchResponse | None], dict[str, Any]]:
    """The workflow part of the staff page (context for `_staff_workflow.html`)."""
    store = store_for(request, user)

    def build(result: MatchResponse | None) -> dict[str, Any]:
        ranked = [i.program_id for i in result.items] if result is not None else []
        rows = _program_rows(store, user, application_id, ranked)
        shown = {r["id"] for r in rows}
        failed = dict(error or {})
        if failed.get("form", "").startswith("decide-") and failed["form"][7:] not in shown:
            failed["form"] = "decide-"  # the form for another program shows it
        return {
            "wf_status": APPLICATION_STATUS_FA[application_status(store, application_id)],
            "wf_programs": rows,
            "wf_other_programs": [
                p
                for p in store.list_programs()
                if user.org_id in (None, p.org_id) and p.id not in shown
            ],
            "wf_notes": [
                {"note": n, "by": _author(n.author)}
                for n in workflow.notes(store, actor_of(user), application_id)
            ],
            "wf_error": failed,
        }

    return build


def _page(
    request: Request,
    user: User,
    application_id: str,
    error: dict[str, str] | None = None,
) -> Response:
    application = visible_application(store_for(request, user), user, application_id, "read")
    referral = staff_panel(request, user, application)
    panel = workflow_panel(request, user, application_id, error)
    return render_application_page(
        request,
        user,
        application,
        "staff_application.html",
        extra=lambda result: referral(result) | panel(result),
        status_code=422 if error else 200,
    )


def staff_application_page(request: Request, user: User, application_id: str) -> Response:
    """The staff page of an application with its workflow panel (GET)."""
    return _page(request, user, application_id)


def _back(application_id: str, anchor: str = "workflow") -> Response:
    return RedirectResponse(f"/staff/applications/{application_id}#{anchor}", status_code=303)


@router.post("/applications/{application_id}/shortlist")
async def shortlist(request: Request, application_id: str, user: WebStaffDep) -> Response:
    """Add to (`action=add`) or take off (`action=remove`) a program's shortlist."""
    form = await form_data(request)
    program_id = str(form.get("program_id", "")).strip()[:64]
    on = str(form.get("action", "add")) != "remove"
    await run_in_threadpool(
        workflow.shortlist,
        store_for(request, user),
        actor_of(user),
        application_id,
        program_id,
        on=on,
    )
    return _back(application_id)


@router.post("/applications/{application_id}/notes")
async def add_note(request: Request, application_id: str, user: WebStaffDep) -> Response:
    """A private note (never shown to the applicant)."""
    form = await form_data(request)
    body = str(form.get("body", ""))[: workflow.NOTE_MAX + 1]
    try:
        await run_in_threadpool(
            workflow.add_note, store_for(request, user), actor_of(user), application_id, body
        )
    except InvalidInputError as exc:
        error = {"form": "note", "message": persian(str(exc), 422), "body": body}
        return await run_in_threadpool(_page, request, user, application_id, error)
    return _back(application_id, "notes")


def _amount(raw: Any) -> int | None:
    text = latin_digits(str(raw or "")).replace(",", "").replace("٬", "").strip()
    return int(text) if text.isdigit() else None


@router.post("/applications/{application_id}/decisions")
async def decide(request: Request, application_id: str, user: WebStaffDep) -> Response:
    """A decision at one program: residency yes/no, funded amount in rial, a note. A
    decision at a program the application did not apply to is allowed (kept as such)."""
    form = await form_data(request)
    program_id = str(form.get("program_id", "")).strip()[:64]
    raw_amount = str(form.get("funded_amount", "") or "0")[:40]
    note = str(form.get("note", ""))[:2000]
    error = {"form": f"decide-{program_id}", "amount": raw_amount, "note": note}
    amount = _amount(raw_amount)
    if amount is None:
        error["message"] = "مبلغ تأمین مالی را به ریال و با رقم بنویسید (۰ یعنی بدون سرمایه)."
        return await run_in_threadpool(_page, request, user, application_id, error)
    try:
        await run_in_threadpool(
            lambda: workflow.decide(
                store_for(request, user),
                actor_of(user),
                application_id,
                program_id,
                residency_granted=form.get("residency_granted") == "yes",
                funded_amount=amount,
                note=note,
            )
        )
    except InvalidInputError as exc:
        error["message"] = persian(str(exc), 422)
        return await run_in_threadpool(_page, request, user, application_id, error)
    except NotFoundError:
        if not program_id:
            error["message"] = "برنامه‌ای برای تصمیم انتخاب کنید."
            return await run_in_threadpool(_page, request, user, application_id, error)
        raise
    return _back(application_id, "decisions")
