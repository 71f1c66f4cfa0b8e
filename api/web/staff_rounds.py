"""Staff pages for intake rounds: the list, a round's page (run the scoring job, watch its
progress, download its files; shortlists, decisions and the allocation per program, from
api/web/staff_round_decisions), the what-if comparison of capacities, and a run's report."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from recommender import schemas as contracts
from recommender.errors import PeyvandError
from recommender.store.database import Store
from recommender.text.persian import format_number

from ..accounts import User
from ..deps import jobs_for, store_for
from ..embed_tasks import JOB_KIND as PLANS_EMBED_KIND
from ..messages import persian
from ..routes.jobs import job_file as api_job_file
from ..routes.jobs import job_public
from ..routes.rounds import ROUND_SCORE_KIND, latest_allocation
from ..schemas import JobPublic
from .forms import int_or_none, latin_digits
from .staff_round_decisions import round_board
from .views import WebStaffDep, form_data, render

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)

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
    "schedule.xlsx": (
        "برنامهٔ جلسه‌ها (Excel)",
        "یک برگه برای هر بازه و برای برنامهٔ هر شرکت‌کننده.",
    ),
    "schedule.csv": (
        "جدول جلسه‌ها (CSV)",
        "بازه، میز، دو طرف، نوع و امتیاز هر جلسه.",
    ),
    "agendas.zip": (
        "تقویم همه (ZIP)",
        "یک پروندهٔ .ics برای هر شرکت‌کننده.",
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


def job_summary_fa(job: Any) -> str:
    """One Persian line on what a succeeded job made, where its kind has one ("" otherwise):
    the same words on the page and in the polled status. `job`: a `Job` or `JobPublic`."""
    if job.status == "succeeded" and job.kind == PLANS_EMBED_KIND and job.result:
        return f"{format_number(int(job.result.get('n_plans', 0)))} طرح آماده است"
    return ""


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


def round_state(intake: contracts.IntakeRound, today: dt.date | None = None) -> str:
    """'open', 'upcoming' or 'closed' on `today` (UTC date by default)."""
    day = today or dt.datetime.now(dt.UTC).date()
    if day < intake.opens_on:
        return "upcoming"
    return "open" if day <= intake.closes_on else "closed"


ROUND_STATES_FA = {"open": "باز", "upcoming": "هنوز باز نشده", "closed": "بسته"}


@router.get("/rounds", response_class=HTMLResponse)
def rounds(request: Request, user: WebStaffDep) -> Response:
    found = sorted(
        store_for(request, user).list_rounds(), key=lambda r: (r.opens_on, r.id), reverse=True
    )
    listed = [{"round": r, "state": round_state(r)} for r in found]
    return render(request, "staff_rounds.html", user=user, rounds=listed, states=ROUND_STATES_FA)


@router.get("/rounds/{round_id}", response_class=HTMLResponse)
def round_page(
    request: Request, round_id: str, user: WebStaffDep, accepted: str | None = None
) -> Response:
    store = store_for(request, user)
    intake = store.get_round(round_id)
    board = round_board(store, intake, latest_allocation(jobs_for(request, user), round_id))
    names = {p.id: p.name for p in store.list_programs()}
    found = jobs_for(request, user).list(subject=f"rounds/{round_id}", limit=10)
    jobs = [job_public(j) for j in found]
    files = {j.id: file_links(j.id, [f.name for f in j.files]) for j in jobs}
    busy = any(j.status in ("queued", "running") for j in jobs)
    return render(
        request,
        "staff_round.html",
        user=user,
        round=intake,
        round_state=ROUND_STATES_FA[round_state(intake)],
        program_names=names,
        n_applications=len(store_for(request, user).list_applications(round_id=round_id)),
        jobs=jobs,
        files=files,
        busy=busy,
        job_states=JOB_STATES_FA,
        accepted=int_or_none(accepted),
        **board,
    )


@router.post("/rounds/{round_id}/score")
async def score_round(request: Request, round_id: str, user: WebStaffDep) -> Response:
    form = await form_data(request)
    state = request.app.state
    intake = store_for(request, user).get_round(round_id)
    running = [
        j
        for j in jobs_for(request, user).list(subject=f"rounds/{round_id}", limit=10)
        if j.status in ("queued", "running")
    ]
    if running:  # one run at a time: show the one under way
        return RedirectResponse(f"/staff/rounds/{round_id}?job={running[0].id}", status_code=303)
    job = jobs_for(request, user).submit(
        ROUND_SCORE_KIND,
        {"round_id": round_id, "top": 10, "allocate": form.get("allocate") == "on"},
        created_by=user.actor,
        subject=f"rounds/{round_id}",
        org_id=intake.org_id,
    )
    store_for(request, user).audit(user.actor, "score", "round", round_id, {"job_id": job.id})
    state.worker.wake()
    return RedirectResponse(f"/staff/rounds/{round_id}?job={job.id}", status_code=303)


# ------------------------------------------------------------------------------ what-if
def _round_capacity(store: Store, intake: contracts.IntakeRound) -> list[dict[str, Any]]:
    programs = {p.id: p for p in store.list_programs()}
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


def _what_if_result(
    state: Any, store: Store, job: JobPublic, intake: contracts.IntakeRound
) -> dict[str, Any] | None:
    """The what-if comparison saved by a finished job, with names instead of ids."""
    path = state.jobs.output_dir(job.id) / "what_if.json"
    if job.status != "succeeded" or not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    diff = data.get("diff", {})
    names = {p.id: p.name for p in store.list_programs()}
    ids = {
        x["application_id"]
        for key in ("residency_gained", "residency_lost", "funding_changes")
        for x in diff.get(key, [])
    }
    startups = {}
    for application_id in ids:
        try:
            startups[application_id] = store.get_application(application_id).startup_name
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
    intake = store_for(request, user).get_round(round_id)
    found = None
    if job:
        try:
            found = job_public(jobs_for(request, user).get(job))
        except PeyvandError:
            found = None
        if found is not None and found.subject != f"rounds/{round_id}":
            found = None
    return render(
        request,
        "staff_what_if.html",
        user=user,
        round=intake,
        capacity=_round_capacity(store_for(request, user), intake),
        job=found,
        result=_what_if_result(state, store_for(request, user), found, intake) if found else None,
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
    intake = store_for(request, user).get_round(round_id)
    capacity = _round_capacity(store_for(request, user), intake)
    items, errors, values = [], [], {}
    for row in capacity:
        settings = []
        for key, label in (("seats", "صندلی"), ("budget", "بودجه")):
            raw = str(form.get(f"{key}-{row['id']}", ""))
            values[f"{key}-{row['id']}"] = raw
            text = latin_digits(raw)
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
    job = jobs_for(request, user).submit(
        ROUND_SCORE_KIND,
        {"round_id": round_id, "top": 10, "allocate": True, "what_if": what_if},
        created_by=user.actor,
        subject=f"rounds/{round_id}",
        org_id=intake.org_id,
    )
    store_for(request, user).audit(user.actor, "what_if", "round", round_id, {"job_id": job.id})
    state.worker.wake()
    return RedirectResponse(f"/staff/rounds/{round_id}/what-if?job={job.id}", status_code=303)


@router.get("/jobs/{job_id}.json")
def job_status(request: Request, job_id: str, user: WebStaffDep) -> Response:
    """The job's status for the round page's progress bar (polled)."""
    try:
        job = job_public(jobs_for(request, user).get(job_id))
    except PeyvandError:
        raise HTTPException(404, "کار خواسته‌شده پیدا نشد.") from None
    data = job.model_dump(mode="json")
    data["files"] = file_links(job_id, [f["name"] for f in data["files"]])
    data["status_fa"] = JOB_STATES_FA.get(job.status, job.status)
    data["summary_fa"] = job_summary_fa(job)
    if job.error:
        data["error"] = persian(job.error, 500)
    return JSONResponse(data)


@router.get("/jobs/{job_id}/files/{name}")
def job_file(request: Request, job_id: str, name: str, user: WebStaffDep) -> FileResponse:
    return api_job_file(job_id, name, jobs_for(request, user), user)


_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def _report_text(request: Request, job_id: str, user: User) -> str:
    response = api_job_file(job_id, "report.html", jobs_for(request, user), user)
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
