"""Referral pages: staff refer an application to another house, see incoming and outgoing
referrals and accept, decline or withdraw them; applicants consent or refuse on their page.

Every rule is `recommender.network.referrals`'s (the API uses the same functions); these
handlers read the form (with its CSRF token), call the rule with the caller's scoped store
and go back to the page they came from. A refused step is the Persian error page (4xx).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from recommender import schemas as contracts
from recommender.constants import REFERRAL_STATE_LABELS_FA
from recommender.network import referrals as rules
from recommender.store.database import Store

from ..accounts import User
from ..deps import store_for
from ..routes.referrals import actor_of
from ..schemas import MatchResponse, ReferralCreate
from .views import WebApplicantDep, WebStaffDep, form_data, render

router = APIRouter(tags=["web"], include_in_schema=False)

#: The steps a form may ask for, by who takes them.
STAFF_STEPS = {"accept": rules.accept, "decline": rules.decline, "withdraw": rules.withdraw}
APPLICANT_STEPS = {"consent": rules.consent, "refuse": rules.refuse}
SECTION_TITLES: dict[Any, str] = {
    "incoming": "ارجاع‌های رسیده به خانهٔ شما",
    "outgoing": "ارجاع‌های خانهٔ شما به خانه‌های دیگر",
    "all": "همهٔ ارجاع‌های شبکه",
}


def _rows(store: Store, found: list[contracts.Referral]) -> list[dict[str, Any]]:
    """Referrals as table rows: house, program and application names resolved (an
    application the caller may not read shows no name and no link)."""
    houses = {o.id: o.name for o in store.list_organizations()}
    wanted = {r.program_id for r in found if r.program_id}
    programs = {p.id: p.name for p in store.list_programs() if p.id in wanted} if wanted else {}
    names = store.application_names([r.application_id for r in found])
    return [
        {
            "referral": r,
            "from_name": houses.get(r.from_org or "", "شبکه"),
            "to_name": houses.get(r.to_org, r.to_org),
            "program_name": programs.get(r.program_id or ""),
            "application_name": names.get(r.application_id),
            "state": REFERRAL_STATE_LABELS_FA.get(r.status, r.status),
        }
        for r in found
    ]


# ----------------------------------------------------------------------- staff pages
@router.get("/staff/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, user: WebStaffDep) -> Response:
    store = store_for(request, user)
    actor = actor_of(user)
    if actor.sees_every_house:
        sections = [("all", SECTION_TITLES["all"], rules.list_referrals(store, actor))]
    else:
        sections = [
            (key, SECTION_TITLES[key], rules.list_referrals(store, actor, key))
            for key in ("incoming", "outgoing")
        ]
    store.audit(user.actor, "list", "referral", "*")
    return render(
        request,
        "staff_referrals.html",
        user=user,
        sections=[(key, title, _rows(store, found)) for key, title, found in sections],
    )


@router.post("/staff/referrals/{referral_id}/{step}")
async def staff_step(request: Request, referral_id: str, step: str, user: WebStaffDep) -> Response:
    await form_data(request)  # the CSRF check
    action = STAFF_STEPS.get(step)
    if action is None:
        raise HTTPException(404, "no such page")
    await run_in_threadpool(action, store_for(request, user), actor_of(user), referral_id)
    return RedirectResponse("/staff/referrals", status_code=303)


@router.post("/staff/applications/{application_id}/referrals")
async def refer_application(request: Request, application_id: str, user: WebStaffDep) -> Response:
    form = await form_data(request)
    body = ReferralCreate.model_validate(
        {
            "to_org": str(form.get("to_org", "")).strip(),
            "program_id": str(form.get("program_id", "")).strip() or None,
            "note": str(form.get("note", "")).strip(),
        }
    )
    await run_in_threadpool(
        rules.refer,
        store_for(request, user),
        actor_of(user),
        application_id,
        body.to_org,
        program_id=body.program_id,
        note=body.note,
    )
    return RedirectResponse(f"/staff/applications/{application_id}#referrals", status_code=303)


def staff_panel(request: Request, user: User, application: contracts.Application) -> Any:
    """The referral part of the staff page of an application, built from its ranked
    programs: the houses whose programs fit better (`rules.suggest_houses`), its referrals,
    and what the refer form offers (other active houses, the ranked programs there)."""
    store = store_for(request, user)

    def build(result: MatchResponse | None) -> dict[str, Any]:
        items = result.items if result is not None else []
        names = {i.program_id: i.name for i in items}
        suggested = rules.suggest_houses(store, application, [i.program_id for i in items])
        houses = [
            o for o in store.list_organizations(active_only=True) if o.id != application.org_id
        ]
        house_names = {o.id: o.name for o in houses}
        owners = store.program_orgs([i.program_id for i in items])
        program_choices = [
            {"id": i.program_id, "name": i.name, "house": house_names[org]}
            for i in items
            if (org := owners.get(i.program_id)) is not None and org in house_names
        ]
        return {
            "suggested_houses": [
                {"name": h.name, "programs": [names.get(p, p) for p in h.program_ids]}
                for h in suggested
            ],
            "referrals": _rows(store, store.list_referrals(application_id=application.id)),
            "may_refer": rules.may_refer(actor_of(user), application) and bool(houses),
            "refer_houses": houses,
            "refer_programs": program_choices,
            "first_house": suggested[0].org_id if suggested else "",
        }

    return build


# ------------------------------------------------------------------- applicant pages
def applicant_panel(request: Request, user: User, application: contracts.Application) -> Any:
    """The referrals of an applicant's application, for their page (consent or refuse)."""
    store = store_for(request, user)

    def build(result: MatchResponse | None) -> dict[str, Any]:
        return {"referrals": _rows(store, store.list_referrals(application_id=application.id))}

    return build


@router.post("/me/referrals/{referral_id}/{step}")
async def applicant_step(
    request: Request, referral_id: str, step: str, user: WebApplicantDep
) -> Response:
    await form_data(request)  # the CSRF check
    action = APPLICANT_STEPS.get(step)
    if action is None:
        raise HTTPException(404, "no such page")
    referral = await run_in_threadpool(
        action, store_for(request, user), actor_of(user), referral_id
    )
    return RedirectResponse(
        f"/me/applications/{referral.application_id}#referrals", status_code=303
    )
