"""A program's own page, read-only, for everyone signed in: what it offers, its kind, sectors,
stages, seats, funding range, place, the house that runs it and its open rounds
(`recommender.workflow.program_page`). Suggestions, search results and lists link program
names here.

Who reads which program is the store's rule (`Store.readable_program`): staff, the network
operator and admin every program, inactive ones too (marked as such); an applicant the active
programs (what their suggestions show) and those their own applications' records name. Any
other id is a Persian 404 page, like a missing one. An applicant sees a button per own
application to apply with it (the form posts to `/me/applications/{id}/programs`); staff
who may change the program see a link to its edit form (`/staff/programs/{id}`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from recommender import workflow

from ..deps import store_for
from .views import WebUserDep, render

router = APIRouter(prefix="/programs", tags=["web"], include_in_schema=False)


@router.get("/{program_id}", response_class=HTMLResponse)
def program_page(request: Request, program_id: str, user: WebUserDep) -> Response:
    store = store_for(request, user)
    applications = []
    if user.role == "applicant":
        owned = request.app.state.accounts.owned_ids(user.id)  # oldest first
        mine = {a.id: a for a in store.list_applications()}
        applications = [mine[i] for i in owned if i in mine]
    page = workflow.program_page(store, program_id, application_ids=[a.id for a in applications])
    return render(
        request,
        "program.html",
        user=user,
        page=page,
        program=page.program,
        applications=applications,
        editable=user.is_staff and program_id in store.own_program_ids(),
    )
