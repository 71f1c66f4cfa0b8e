"""The decisions part of a round's page: per program of the round, the applications that are
shortlisted, decided or allocated there with their scores; and "accept the allocation" (a
confirmation page, then one all-or-nothing step, `recommender.workflow.allocation`).

The allocation is the round's latest (`api.routes.rounds.latest_allocation`, the same one the
API's `POST /v1/rounds/{id}/allocation/accept` accepts).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from recommender import schemas as contracts
from recommender.errors import ConflictError, PeyvandError
from recommender.rounds.stored import load_round_scores
from recommender.store.database import Store
from recommender.store.listing import list_applications
from recommender.workflow.allocation import AllocationRefused, accept_allocation

from ..accounts import User
from ..deps import jobs_for, store_for
from ..messages import persian
from ..routes.referrals import actor_of
from ..routes.rounds import RoundAllocation, allocation_to_accept, latest_allocation
from .views import WebStaffDep, form_data, render

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)


def _scores(store: Store, round_id: str) -> dict[tuple[str, str], float]:
    """The round's stored scores by (application, program); none when not scored yet."""
    try:
        scores = load_round_scores(store, round_id)
    except PeyvandError:
        return {}
    out = {}
    for i, application_id in enumerate(scores.application_ids):
        for j, program_id in enumerate(scores.program_ids):
            value = float(scores.score[i, j])
            if not math.isnan(value):
                out[(application_id, program_id)] = value
    return out


def round_board(
    store: Store, intake: contracts.IntakeRound, allocation: RoundAllocation | None
) -> dict[str, Any]:
    """Context of the round page's decisions part: `board` (per program: rows of startup,
    score, allocated seat/amount, shortlisted, current decision) and `allocation`."""
    listed = list_applications(store, round_id=intake.id, page_size=None).items
    startups = {a.id: a.startup_name for a in listed}
    names = {p.id: p.name for p in store.list_programs()}
    scores = _scores(store, intake.id)
    pairs = allocation.pairs if allocation is not None else []
    allocated = {(p.application_id, p.program_id): p for p in pairs}
    shortlisted = {
        (e.application_id, e.program_id)
        for e in store.list_program_shortlists(list(intake.program_ids))
    }
    decided = {(o.application_id, o.program_id): o for o in store.list_outcomes(intake.id)}
    board = []
    for program_id in intake.program_ids:
        keys = {k for k in (*allocated, *shortlisted, *decided) if k[1] == program_id}
        rows = [
            {
                "application_id": application_id,
                "startup": startups.get(application_id, application_id),
                "score": scores.get((application_id, program_id)),
                "allocated": allocated.get((application_id, program_id)),
                "shortlisted": (application_id, program_id) in shortlisted,
                "decision": decided.get((application_id, program_id)),
            }
            for application_id, _ in keys
        ]
        rows.sort(key=lambda r: (-(r["score"] or -math.inf), r["startup"]))
        board.append({"id": program_id, "name": names.get(program_id, program_id), "rows": rows})
    return {"board": board, "allocation": _allocation_rows(allocation, startups, names)}


def _allocation_rows(
    allocation: RoundAllocation | None, startups: dict[str, str], names: dict[str, str]
) -> dict[str, Any] | None:
    if allocation is None:
        return None
    return {
        "job": allocation.job,
        "pairs": [
            {
                "startup": startups.get(p.application_id, p.application_id),
                "application_id": p.application_id,
                "program": names.get(p.program_id, p.program_id),
                "residency": p.residency,
                "amount": p.funding_amount,
            }
            for p in allocation.pairs
        ],
        "seats": sum(1 for p in allocation.pairs if p.residency),
        "money": sum(p.funding_amount for p in allocation.pairs),
    }


def _confirm_page(
    request: Request,
    user: User,
    round_id: str,
    *,
    status_code: int = 200,
    problem: str = "",
    refusals: list[dict[str, str]] | None = None,
) -> Response:
    store = store_for(request, user)
    intake = store.get_round(round_id)
    found = latest_allocation(jobs_for(request, user), round_id)
    context = round_board(store, intake, found)
    return render(
        request,
        "staff_round_accept.html",
        status_code=status_code,
        user=user,
        round=intake,
        allocation=context["allocation"],
        problem=problem,
        refusals=refusals or [],
    )


@router.get("/rounds/{round_id}/allocation/accept", response_class=HTMLResponse)
def confirm_accept(request: Request, round_id: str, user: WebStaffDep) -> Response:
    """The confirmation step: what accepting the latest allocation will decide."""
    return _confirm_page(request, user, round_id)


@router.post("/rounds/{round_id}/allocation/accept", response_class=HTMLResponse)
async def accept(request: Request, round_id: str, user: WebStaffDep) -> Response:
    """Accept the allocation the person confirmed (`job_id`, `confirm=yes`), all or nothing;
    a failing pair shows the confirmation page again with every failure and why."""
    form = await form_data(request)
    job_id = str(form.get("job_id", ""))[:64] or None
    if form.get("confirm") != "yes":
        problem = "برای ثبت تصمیم‌ها، گزینهٔ تأیید را علامت بزنید."
        return await run_in_threadpool(
            lambda: _confirm_page(request, user, round_id, status_code=422, problem=problem)
        )
    store = store_for(request, user)

    def run() -> int:
        store.get_round(round_id)
        found = allocation_to_accept(jobs_for(request, user), round_id, job_id)
        return len(accept_allocation(store, actor_of(user), round_id, found.pairs))

    try:
        count = await run_in_threadpool(run)
    except ConflictError as exc:  # a newer allocation than the one confirmed: show it
        problem = persian(str(exc), 409)
        return await run_in_threadpool(
            lambda: _confirm_page(request, user, round_id, status_code=409, problem=problem)
        )
    except AllocationRefused as exc:
        names = {p.id: p.name for p in store.list_programs()}
        startups = {
            a.id: a.startup_name
            for a in list_applications(store, round_id=round_id, page_size=None).items
        }
        refusals = [
            {
                "startup": startups.get(r.application_id, r.application_id),
                "program": names.get(r.program_id, r.program_id),
                "reason": persian(r.reason, 422),
            }
            for r in exc.refusals
        ]
        problem = persian(str(exc), 422)
        return await run_in_threadpool(
            lambda: _confirm_page(
                request, user, round_id, status_code=422, problem=problem, refusals=refusals
            )
        )
    return RedirectResponse(f"/staff/rounds/{round_id}?accepted={count}#decisions", 303)
