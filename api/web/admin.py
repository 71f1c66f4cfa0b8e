"""The admin's pages under `/admin`: the list of accounts with each one's role and house,
adding one (role, and the house of a staff account), moving a staff account to another house,
disabling and enabling, resetting a password and issuing an API token. A new password or token
is shown once, on the page that answers the form, and never stored in clear (only its hash is
kept).

A "models" section lists the registered ranker versions (live one marked, how many outcomes
each was trained on, its held-out nDCG@10 and the promotion decision) and the recent training
jobs; its button (`POST /admin/models/train`) queues the `train` job (api/train_jobs.py), which
keeps the live model unless the new one is better and trained on enough decisions.

Houses come from the store (`peyvand orgs import`); staff belong to one (in a single-house
install the only one when none is picked), the other roles to none. A bad choice (no house for
staff in a network of several, a house for another role, an unknown or inactive house) answers
422 with a Persian message and changes nothing.
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from recommender.errors import InvalidInputError
from recommender.store.tables import ROLES

from ..accounts import User
from ..deps import jobs_for, store_for
from ..messages import persian
from .views import WebAdminDep, form_data, render

router = APIRouter(prefix="/admin", tags=["web"], include_in_schema=False)


def _page(
    request: Request,
    user: User,
    *,
    status_code: int = 200,
    secret: dict[str, str] | None = None,
    notice: str | None = None,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    from recommender.ranking.registry import MIN_TRAINING_OUTCOMES, ModelRegistry

    from ..train_jobs import JOB_KIND as TRAIN_KIND
    from .staff_rounds import JOB_STATES_FA

    orgs = store_for(request, user).list_organizations()
    models = ModelRegistry(request.app.state.settings.registry_dir).describe()
    train_jobs = [j for j in jobs_for(request, user).list(subject="models", limit=5)
                  if j.kind == TRAIN_KIND]
    response = render(
        request,
        "admin_users.html",
        status_code=status_code,
        user=user,
        users=request.app.state.accounts.list_users(),
        roles=ROLES,
        orgs=orgs,
        secret=secret,
        notice=notice,
        errors=errors or [],
        values=values or {"role": "staff"},
        models=list(reversed(models)),
        train_jobs=train_jobs,
        min_outcomes=MIN_TRAINING_OUTCOMES,
        job_states=JOB_STATES_FA,
    )
    if secret:  # a password or token shown once: never from a cache
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("", response_class=HTMLResponse)
def users_page(request: Request, user: WebAdminDep, done: str | None = None) -> Response:
    notices = {
        "disabled": "حساب غیرفعال شد؛ نشست‌ها و توکن‌های آن باطل شد.",
        "enabled": "حساب دوباره فعال شد.",
        "house": "خانهٔ حساب تغییر کرد.",
        "train": "آموزش مدل در پس‌زمینه آغاز شد؛ نتیجه در جدول کارهای آموزش می‌آید.",
    }
    return _page(request, user, notice=notices.get(done or ""))


@router.post("/users", response_class=HTMLResponse)
async def add_user(request: Request, user: WebAdminDep) -> Response:
    form = await form_data(request)
    name = str(form.get("name", "")).strip()
    role = str(form.get("role", ""))
    password = str(form.get("password", ""))
    org_id = str(form.get("org_id", "")).strip() or None
    values = {"name": name, "role": role, "org_id": org_id or ""}
    accounts = request.app.state.accounts
    try:
        created, token = await run_in_threadpool(
            partial(accounts.add_user, name, role, password or None, org_id=org_id)
        )
    except InvalidInputError as exc:
        errors = [{"field": "", "message": persian(str(exc), 422)}]
        return _page(request, user, status_code=422, errors=errors, values=values)
    store_for(request, user).audit(
        user.actor, "create", "user", created.name, {"role": role, "org_id": created.org_id}
    )
    secret = {"who": created.name, "kind": "token", "value": token}
    return _page(request, user, secret=secret, notice="حساب ساخته شد.")


def _target(request: Request, user_id: str) -> User:
    from recommender.errors import NotFoundError

    if not user_id.isdigit():
        raise NotFoundError(f"no user with id {user_id}")
    return request.app.state.accounts.get_user(int(user_id))


@router.post("/users/{user_id}/active")
async def set_active(request: Request, user_id: str, user: WebAdminDep) -> Response:
    form = await form_data(request)
    target = _target(request, user_id)
    active = form.get("active") == "1"
    if target.id == user.id and not active:
        errors = [{"field": "", "message": "حساب خودتان را نمی‌توانید غیرفعال کنید."}]
        return _page(request, user, status_code=409, errors=errors)
    await run_in_threadpool(request.app.state.accounts.set_active, target.id, active)
    store_for(request, user).audit(
        user.actor, "enable" if active else "disable", "user", target.name
    )
    return RedirectResponse(f"/admin?done={'enabled' if active else 'disabled'}", 303)


@router.post("/users/{user_id}/house", response_class=HTMLResponse)
async def set_house(request: Request, user_id: str, user: WebAdminDep) -> Response:
    """Move a staff account to another house (its next request sees the new house)."""
    form = await form_data(request)
    target = _target(request, user_id)
    org_id = str(form.get("org_id", "")).strip() or None
    try:
        await run_in_threadpool(request.app.state.accounts.set_house, target.id, org_id)
    except InvalidInputError as exc:
        errors = [{"field": "", "message": persian(str(exc), 422)}]
        return _page(request, user, status_code=422, errors=errors)
    store_for(request, user).audit(
        user.actor, "set_house", "user", target.name, {"from": target.org_id, "to": org_id}
    )
    return RedirectResponse("/admin?done=house", 303)


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
async def reset_password(request: Request, user_id: str, user: WebAdminDep) -> Response:
    await form_data(request)
    target = _target(request, user_id)
    password = secrets.token_urlsafe(12)
    await run_in_threadpool(request.app.state.accounts.set_password, target.id, password)
    store_for(request, user).audit(user.actor, "reset_password", "user", target.name)
    secret = {"who": target.name, "kind": "password", "value": password}
    return _page(request, user, secret=secret, notice="گذرواژهٔ تازه ساخته شد.")


@router.post("/users/{user_id}/token", response_class=HTMLResponse)
async def new_token(request: Request, user_id: str, user: WebAdminDep) -> Response:
    await form_data(request)
    target = _target(request, user_id)
    token = await run_in_threadpool(request.app.state.accounts.issue_token, target.id, "web:admin")
    store_for(request, user).audit(user.actor, "issue_token", "user", target.name)
    secret = {"who": target.name, "kind": "token", "value": token}
    return _page(request, user, secret=secret, notice="توکن تازه ساخته شد.")


@router.post("/models/train")
async def train_model(request: Request, user: WebAdminDep) -> Response:
    """Queue the `train` job (the live model stays unless the new one is better)."""
    from ..train_jobs import JOB_KIND as TRAIN_KIND

    await form_data(request)
    job = jobs_for(request, user).submit(TRAIN_KIND, {}, created_by=user.actor, subject="models")
    store_for(request, user).audit(user.actor, "train", "model", "ranker", {"job_id": job.id})
    request.app.state.worker.wake()
    return RedirectResponse("/admin?done=train", 303)
