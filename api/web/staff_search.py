"""Staff search: a business plan as free text, with filters and corrections of the facts read
from it, against every program (ranked programs with reasons)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from recommender.constants import FUNDING_KIND_LABELS_FA, PROGRAM_KINDS, STAGE_LABELS_FA, STAGES
from recommender.errors import PeyvandError
from recommender.text.facts import FACT_NAMES

from ..accounts import User
from ..deps import store_for
from ..matching import run_match
from ..messages import field_errors, persian
from ..schemas import FactCorrections, MatchFilters, MatchResponse
from .forms import int_or_none, labelled_errors
from .views import SECTOR_LABELS, WebStaffDep, form_data, render

router = APIRouter(prefix="/staff", tags=["web"], include_in_schema=False)


def _search_page(request: Request, user: User, **context: Any) -> HTMLResponse:
    context.setdefault("values", {"top": 10})
    context.setdefault("result", None)
    context.setdefault("errors", [])
    context.setdefault("problem", None)
    # Every house may be searched, whoever asks: a network's staff look across it.
    houses = store_for(request, user).list_organizations()
    return render(
        request,
        "staff_search.html",
        user=user,
        kinds=PROGRAM_KINDS,
        stages=STAGES,
        houses=houses,
        **context,
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
        "org_id": str(form.get("org_id", "")).strip(),
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
            min_open_seats=int_or_none(values["min_open_seats"]),
            funding_ask=int_or_none(values["funding_ask"]),
            accepts_remote=True if values["accepts_remote"] else None,
            org_id=values["org_id"] or None,
        )
    except ValidationError as exc:
        errors.extend(labelled_errors(exc.errors()))
        filters = None
    top = min(max(int_or_none(values["top"]) or 10, 1), 50)
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
                store=store_for(request, user),
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
            number = int_or_none(text)
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

