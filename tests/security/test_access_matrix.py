"""The access matrix: every route of the service (the `/v1` API and the web pages) for every
actor, with the status each must get, on SQLite and on PostgreSQL; and on PostgreSQL the
row-level-security policies as a second wall (raw SELECTs under the tenant role).

Actors (tests/api/_houses.py): admin, the network operator, staff of house A, staff of house
B, the applicant who owns house A's application, another applicant, and nobody signed in.
The objects in the URLs belong to house A (and to the owning applicant). Another house's
object answers 404 exactly like a missing one; a role that may never use a route gets 403;
nobody signed in gets 401 from the API and a redirect (303) to the sign-in page from the web.

`ROUTES` must name every registered route: a new route without a row fails
`test_every_route_has_a_row`, and a row naming a route that is not registered fails it too.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.main import create_app
from api.settings import Settings
from recommender.store.tenancy import TENANT_ROLE, Scope
from tests._allocation import finished_allocation_run, pair
from tests.api._event_houses import EVENT_ID, add_event, scheduled
from tests.api._houses import (
    HOUSE_A,
    HOUSE_B,
    HOUSE_C,
    Houses,
    application,
    csrf_of,
    make_houses,
    sign_in,
)
from tests.api.conftest import PLAN
from tests.recommender.events._event_fixtures import payload as event_payload

ACTORS: tuple[str | None, ...] = ("admin", "network", "staff_a", "staff_b", "owner", "other", None)


def expect(
    admin: int, network: int, staff_a: int, staff_b: int, owner: int, other: int, anonymous: int
) -> dict[str | None, int]:
    statuses = (admin, network, staff_a, staff_b, owner, other, anonymous)
    return dict(zip(ACTORS, statuses, strict=True))


def everyone(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    return expect(ok, ok, ok, ok, ok, ok, anonymous)


def signed_in(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    return expect(ok, ok, ok, ok, ok, ok, anonymous)


def staff(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    """Staff of any house, the network operator and admin; applicants 403."""
    return expect(ok, ok, ok, ok, 403, 403, anonymous)


def house_a(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    """An object of house A: its staff, the network operator and admin; house B 404."""
    return expect(ok, ok, ok, 404, 403, 403, anonymous)


def admin_only(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    return expect(ok, 403, 403, 403, 403, 403, anonymous)


def network_view(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    return expect(ok, ok, 403, 403, 403, 403, anonymous)


def applicants(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    return expect(403, 403, 403, 403, ok, ok, anonymous)


def owned_a(ok: int, anonymous: int = 401) -> dict[str | None, int]:
    """House A's application through an applicant-only page: the owner; the other applicant
    404; staff roles 403."""
    return expect(403, 403, 403, 403, ok, 404, anonymous)


WEB_ANON = 303  # the web sends a signed-out person to the sign-in page


Body = Callable[[str, Houses], Any]


@dataclass(frozen=True)
class Row:
    """One route (as registered) called with a concrete URL and body, and the status per actor.

    `url` and string bodies are formatted with the object ids (`Houses.ids`), `{actor}` (for
    ids that must differ per actor) and what `setup` returns. `send` is how the body travels:
    "json", "form" (a web form; the actor's CSRF token is added) or "file" (an upload)."""

    method: str
    route: str
    url: str
    expected: dict[str | None, int]
    body: Body | None = None
    send: str = "json"
    fresh_session: bool = False
    setup: Callable[[Houses], dict[str, str]] | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.url}"


def _program_body(actor: str, h: Houses) -> dict[str, Any]:
    body = {
        "id": f"new-{actor}",
        "name": "برنامهٔ تازه",
        "kind": "accelerator",
        "description": "شتاب‌دهندهٔ تازه برای پرداخت.",
        "sectors": ["fintech"],
        "province": "تهران",
    }
    if actor in ("admin", "network"):
        body["org_id"] = HOUSE_A  # several houses: admin and the network operator name one
    return body


def _round_body(actor: str, h: Houses) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"round-{actor}",
        "name": "دورهٔ تازه",
        "opens_on": "2026-01-01",
        "closes_on": "2026-12-31",
    }
    if actor in ("admin", "network"):
        body["org_id"] = HOUSE_A
    return body


def _application_body(actor: str, h: Houses) -> dict[str, Any]:
    return {
        "startup_name": "کیف‌پول نو",
        "business_plan": PLAN,
        "sectors": ["fintech"],
        "stage": "mvp",
        "province": "تهران",
        "city": "تهران",
        "team_size": 3,
        "funding_ask": 2_000_000_000,
        "needs_residency": True,
        "round_id": "round-a",
    }


def _import_programs(actor: str, h: Houses) -> tuple[str, bytes, str]:
    program = _program_body(actor, h) | {"id": f"imported-{actor}"}
    return ("programs.json", json.dumps([program]).encode(), "application/json")


def _import_app_a(actor: str, h: Houses) -> tuple[str, bytes, str]:
    """House A's application again, as stored but with no house named (as a file of a
    single-house install has it): re-importing it changes nothing; staff of house B must get
    the same row error on SQLite and PostgreSQL (PostgreSQL once answered 409, its row-level
    security hiding the stored row until the INSERT failed)."""
    stored = h.store.get_application("app-a").model_dump(mode="json") | {"org_id": None}
    return ("applications.json", json.dumps([stored]).encode(), "application/json")


def _program_form(actor: str, h: Houses) -> dict[str, Any]:
    program = h.store.get_program("fin-teh")
    return {
        "id": program.id,
        "name": program.name,
        "kind": program.kind,
        "description": program.description,
        "sectors": program.sectors,
        "stages": program.stages,
        "province": program.province,
        "city": program.city,
        "residency_seats": str(program.residency_seats),
        "funding_min": str(program.funding_min),
        "funding_max": str(program.funding_max),
        "accepts_remote": "on" if program.accepts_remote else "",
        "active": "on" if program.active else "",
    }


def _new_program_form(actor: str, h: Houses) -> dict[str, Any]:
    body = _program_body(actor, h)
    form = {k: v for k, v in body.items() if k != "sectors"}
    form.update(id=f"web-{actor}", sectors=["fintech"], stages=["mvp"], active="on")
    return form


def _applicant_form(actor: str, h: Houses) -> dict[str, Any]:
    return {
        "startup_name": "کیف‌پول نو",
        "business_plan": PLAN,
        "stage": "mvp",
        "province": "تهران",
        "city": "تهران",
        "team_size": "3",
        "funding_ask": "2000000000",
        "needs_residency": "on",
    }


def _static(payload: Any) -> Body:
    return lambda actor, h: payload


_FRESH = itertools.count(1)


def _fresh_application(h: Houses, house: str = HOUSE_A) -> str:
    """A new application of `house` owned by `owner`. Referral rows work on these, not on
    app-a: an open or accepted referral lets the receiving house read its application, and a
    referral of app-a to house B would open app-a to staff B for every row after it."""
    application_id = f"referred-{next(_FRESH)}"
    round_id = "round-a" if house == HOUSE_A else "round-b"
    with h.store.session() as session:
        h.store.upsert_applications([application(application_id, house, round_id)], session=session)
        h.app.state.accounts.set_owner(application_id, h.user_ids["owner"], session=session)
    return application_id


def _fresh_app(h: Houses) -> dict[str, str]:
    return {"fresh_app": _fresh_application(h)}


def _applied_to_house_b(h: Houses) -> dict[str, str]:
    """A fresh application of house A that applied to house B's program (house B reads it;
    house A reads it too but may not decide at B's program)."""
    application_id = _fresh_application(h)
    h.store.add_applied(application_id, "health-fund", "round-b")
    return {"fresh_app": application_id}


def _allocation_of_round_a(h: Houses) -> dict[str, str]:
    """A finished run of round A that saved an allocation giving app-a a seat at fin-teh
    (no money: accepting it again and again fits any budget)."""
    job_id = finished_allocation_run(
        h.app.state.jobs,
        "round-a",
        [pair("app-a", "fin-teh", True, 0)],
        created_by="user:staff_a",
        org_id=HOUSE_A,
    )
    return {"allocation_job": job_id}


def _inactive_program(h: Houses, program_id: str = "old-a") -> dict[str, str]:
    """An inactive program of house A (made anew, the same, for each actor). No
    application ever applied to `old-a`."""
    program = h.store.get_program("fin-teh").model_copy(
        update={"id": program_id, "name": "برنامهٔ پیشین", "active": False}
    )
    h.store.upsert_programs([program])
    return {"old_program": program_id}


def _applied_to_inactive(h: Houses) -> dict[str, str]:
    """An inactive program named by a fresh application of `owner` that applied to it
    before it stopped: its owner still opens it; the other applicant does not."""
    ids = _inactive_program(h, "old-applied")
    h.store.add_applied(_fresh_application(h), ids["old_program"], None)
    return ids


def _new_referral(status: str, to: str = HOUSE_B) -> Callable[[Houses], dict[str, str]]:
    """A referral from house A to `to` in `status`, of a fresh application of house A
    (owned by `owner`), made anew for each actor."""

    def make(h: Houses) -> dict[str, str]:
        application_id = _fresh_application(h)
        made = h.store.add_referral(
            application_id,
            to,
            from_org=HOUSE_A,
            program_id=None,
            note="",
            status=status,
            created_by="user:staff_a",
        )
        return {"referral": made.id, "fresh_app": application_id}

    return make


def _event_a(h: Houses) -> dict[str, str]:
    """House A's event `demo-day`, stored anew (the same) for each actor."""
    return {"event_a": add_event(h)}


def _schedule_a(h: Houses) -> dict[str, str]:
    """House A's event with a finished schedule (run anew for each actor)."""
    job_id = scheduled(h)
    return {"event_a": EVENT_ID, "event_job": job_id}


def _event_body(actor: str, h: Houses) -> dict[str, Any]:
    body = event_payload(id=f"event-{actor}")
    if actor in ("admin", "network"):
        body["event"]["org_id"] = HOUSE_A
    return body


def _event_participants(actor: str, h: Houses) -> tuple[str, bytes, str]:
    people = event_payload()["participants"]
    return ("participants.json", json.dumps(people).encode(), "application/json")


def _agenda_link(h: Houses) -> dict[str, str]:
    """House A's event and the personal-link token of its participant `health`."""
    from api.event_jobs import agenda_token

    return {"event_a": add_event(h), "token": agenda_token(h.settings, EVENT_ID, "health")}


def _agenda_link_scheduled(h: Houses) -> dict[str, str]:
    return _schedule_a(h) | {"token": _agenda_link(h)["token"]}


def _web_event_file(actor: str, h: Houses) -> tuple[str, bytes, str]:
    body = _event_body(actor, h)
    body["event"]["id"] = f"web-event-{actor}"
    return ("event.json", json.dumps(body).encode(), "application/json")


ROUTES: list[Row] = [
    # ------------------------------------------------------------------ health
    Row("GET", "/healthz", "/healthz", everyone(200, 200)),
    # Not ready for anyone here: this test app runs no job worker.
    Row("GET", "/readyz", "/readyz", everyone(503, 503)),
    Row("GET", "/metrics", "/metrics", everyone(200, 200)),
    # ------------------------------------------------------------------ users
    Row("GET", "/v1/users/me", "/v1/users/me", signed_in(200)),
    Row("GET", "/v1/users", "/v1/users", admin_only(200)),
    Row(
        "POST",
        "/v1/users",
        "/v1/users",
        admin_only(201),
        body=lambda actor, h: {"name": f"made-by-{actor}", "role": "applicant"},
    ),
    Row(
        "PATCH",
        "/v1/users/{user_id}",
        "/v1/users/{spare}",
        admin_only(200),
        body=_static({"active": True}),
    ),
    Row("POST", "/v1/users/{user_id}/tokens", "/v1/users/{spare}/tokens", admin_only(201)),
    # ------------------------------------------------------------------ applications
    Row(
        "POST",
        "/v1/applications",
        "/v1/applications",
        expect(201, 201, 201, 422, 201, 201, 401),
        body=_application_body,
        name="POST /v1/applications into house A's round (staff B may not file into it)",
    ),
    Row("GET", "/v1/applications", "/v1/applications", signed_in(200)),
    Row(
        "GET",
        "/v1/applications/{application_id}",
        "/v1/applications/{app_a}",
        expect(200, 200, 200, 404, 200, 404, 401),
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}",
        "/v1/applications/missing",
        expect(404, 404, 404, 404, 404, 404, 401),
        name="GET a missing application",
    ),
    Row(
        "PUT",
        "/v1/applications/{application_id}",
        "/v1/applications/{app_a}",
        expect(200, 200, 200, 404, 200, 404, 401),
        body=_application_body,
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}/suggestions",
        "/v1/applications/{app_a}/suggestions",
        expect(200, 200, 200, 404, 200, 404, 401),
    ),
    Row("POST", "/v1/applications/embed", "/v1/applications/embed", staff(202)),
    Row(
        "POST",
        "/v1/applications/embed",
        "/v1/applications/embed?round_id=round-a",
        house_a(202),
        name="POST /v1/applications/embed for house A's round",
    ),
    # ------------------------------------------------------------------ matching
    Row(
        "POST",
        "/v1/staff/match",
        "/v1/staff/match",
        staff(200),
        body=_static({"text": PLAN, "top": 3}),
    ),
    Row(
        "POST",
        "/v1/staff/match",
        "/v1/staff/match",
        house_a(200),
        body=_static({"application_id": "app-a", "top": 3}),
        name="POST /v1/staff/match on house A's application",
    ),
    # ------------------------------------------------------------------ programs
    Row("GET", "/v1/programs", "/v1/programs", staff(200)),
    Row(
        "GET",
        "/v1/programs/{program_id}",
        "/v1/programs/{program_a}",
        signed_in(200),
        name="GET house A's program (active programs are read network-wide)",
    ),
    Row(
        "GET",
        "/v1/programs/{program_id}",
        "/v1/programs/{old_program}",
        expect(200, 200, 200, 200, 404, 404, 401),
        setup=_inactive_program,
        name="GET an inactive program (staff only: applicants are not suggested it)",
    ),
    Row(
        "GET",
        "/v1/programs/{program_id}",
        "/v1/programs/{old_program}",
        expect(200, 200, 200, 200, 200, 404, 401),
        setup=_applied_to_inactive,
        name="GET an inactive program the owner's application applied to",
    ),
    Row(
        "GET",
        "/v1/programs/{program_id}",
        "/v1/programs/missing",
        expect(404, 404, 404, 404, 404, 404, 401),
        name="GET a missing program",
    ),
    Row("POST", "/v1/programs", "/v1/programs", staff(201), body=_program_body),
    Row(
        "POST",
        "/v1/programs",
        "/v1/programs",
        expect(201, 201, 422, 422, 403, 403, 401),
        body=lambda actor, h: (
            _program_body(actor, h)
            | {"id": f"into-b-{actor}", "org_id": "nowhere" if actor == "staff_b" else HOUSE_B}
        ),
        name="POST /v1/programs naming another house (staff A) or an unknown one (staff B)",
    ),
    Row(
        "PATCH",
        "/v1/programs/{program_id}",
        "/v1/programs/{program_a}",
        house_a(200),
        body=_static({"city": "تهران"}),
    ),
    Row(
        "POST",
        "/v1/programs/{program_id}/deactivate",
        "/v1/programs/{program_a2}/deactivate",
        house_a(200),
    ),
    # ------------------------------------------------------------------ imports
    Row(
        "POST",
        "/v1/imports/{kind}",
        "/v1/imports/programs",
        staff(200),
        body=_import_programs,
        send="file",
    ),
    Row(
        "POST",
        "/v1/imports/{kind}",
        "/v1/imports/applications",
        expect(200, 200, 200, 422, 403, 403, 401),
        body=_import_app_a,
        send="file",
        name="POST /v1/imports/applications with house A's application id",
    ),
    # ------------------------------------------------------------------ rounds
    Row("GET", "/v1/rounds", "/v1/rounds", staff(200)),
    Row("POST", "/v1/rounds", "/v1/rounds", staff(201), body=_round_body),
    Row(
        "POST",
        "/v1/rounds",
        "/v1/rounds",
        expect(422, 422, 201, 422, 403, 403, 401),
        body=lambda actor, h: {
            "id": f"mixed-{actor}",
            "name": "دوره",
            "opens_on": "2026-01-01",
            "closes_on": "2026-12-31",
            "programs": [{"program_id": "fin-teh"}],
        },
        name="POST /v1/rounds with house A's program and no house named",
    ),
    Row("GET", "/v1/rounds/{round_id}", "/v1/rounds/{round_a}", house_a(200)),
    Row(
        "POST",
        "/v1/rounds/{round_id}/programs",
        "/v1/rounds/{round_a}/programs",
        house_a(200),
        body=_static({"programs": [{"program_id": "fin-teh", "seats": 3}]}),
    ),
    Row(
        "POST",
        "/v1/rounds/{round_id}/programs",
        "/v1/rounds/{round_a}/programs",
        expect(422, 422, 422, 404, 403, 403, 401),
        body=_static({"programs": [{"program_id": "health-fund"}]}),
        name="POST /v1/rounds/{round_a}/programs with house B's program",
    ),
    Row("POST", "/v1/rounds/{round_id}/score", "/v1/rounds/{round_a}/score", house_a(202)),
    Row("GET", "/v1/rounds/{round_id}/jobs", "/v1/rounds/{round_a}/jobs", house_a(200)),
    Row(
        "POST",
        "/v1/rounds/{round_id}/allocation/accept",
        "/v1/rounds/{round_a}/allocation/accept",
        house_a(200),
        setup=_allocation_of_round_a,
        name="POST accept house A's round allocation (a fresh run for each actor)",
    ),
    # ------------------------------------------------------------------ jobs
    Row("GET", "/v1/jobs", "/v1/jobs", staff(200)),
    Row("GET", "/v1/jobs/{job_id}", "/v1/jobs/{job_a}", house_a(200)),
    Row("GET", "/v1/jobs/{job_id}/files/{name}", "/v1/jobs/{job_a}/files/scores.csv", house_a(200)),
    Row("POST", "/v1/jobs/selftest", "/v1/jobs/selftest", admin_only(202), body=_static({})),
    # ------------------------------------------------------------------ models (ranker registry)
    Row("GET", "/v1/models", "/v1/models", admin_only(200)),
    Row("POST", "/v1/models/train", "/v1/models/train", admin_only(202), body=_static({})),
    # ------------------------------------------------------------------ outcomes
    Row(
        "POST",
        "/v1/outcomes",
        "/v1/outcomes",
        expect(200, 200, 200, 422, 403, 403, 401),
        body=_static(
            {
                "outcomes": [
                    {"application_id": "app-a", "program_id": "fin-teh", "residency_granted": True}
                ]
            }
        ),
        name="POST /v1/outcomes on house A's application and program",
    ),
    Row("GET", "/v1/outcomes", "/v1/outcomes", staff(200)),
    # ------------------------------------------------------------------ houses, network view
    Row("GET", "/v1/orgs", "/v1/orgs", signed_in(200)),
    Row("GET", "/v1/network/summary", "/v1/network/summary", network_view(200)),
    # ------------------------------------------------------------------ referrals
    # The rules are recommender/network/referrals.py's. Each row's referral (or application)
    # is made anew per actor from house A (`_new_referral`, `_fresh_app`). A referral the
    # caller cannot read (house B and a referral from A to C; the other applicant and any
    # referral of the owner's) answers 404 like a missing id; one the caller reads but may
    # not act on answers 403.
    # Refer: staff of the house that holds the application, the network operator, admin.
    Row(
        "POST",
        "/v1/applications/{application_id}/referrals",
        "/v1/applications/{fresh_app}/referrals",
        expect(201, 201, 201, 404, 403, 403, 401),
        body=_static({"to_org": HOUSE_B, "note": "برای برنامهٔ سلامت"}),
        setup=_fresh_app,
    ),
    Row(
        "POST",
        "/v1/applications/{application_id}/referrals",
        "/v1/applications/{fresh_app}/referrals",
        expect(201, 201, 201, 403, 403, 403, 401),
        body=_static({"to_org": HOUSE_C}),
        setup=_new_referral("open"),
        name="POST referrals of house A's application that house B reads (open referral to B)",
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}/referrals",
        "/v1/applications/{app_a}/referrals",
        expect(200, 200, 200, 404, 200, 404, 401),
    ),
    # Each house lists its own referrals (incoming or outgoing); network and admin all.
    Row("GET", "/v1/referrals", "/v1/referrals?direction=outgoing", staff(200)),
    # Consent and refuse: the owning applicant only. A referral waiting for consent is not
    # the receiving house's yet (migration 0005): house B gets 404 for it, as for A -> C.
    Row(
        "POST",
        "/v1/referrals/{referral_id}/consent",
        "/v1/referrals/{referral}/consent",
        expect(403, 403, 403, 404, 200, 404, 401),
        setup=_new_referral("pending_consent"),
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/consent",
        "/v1/referrals/{referral}/consent",
        expect(403, 403, 403, 404, 200, 404, 401),
        setup=_new_referral("pending_consent", to=HOUSE_C),
        name="POST consent to a referral from house A to house C",
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/refuse",
        "/v1/referrals/{referral}/refuse",
        expect(403, 403, 403, 404, 200, 404, 401),
        setup=_new_referral("pending_consent"),
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/refuse",
        "/v1/referrals/{referral}/refuse",
        expect(403, 403, 403, 404, 200, 404, 401),
        setup=_new_referral("pending_consent", to=HOUSE_C),
        name="POST refuse a referral from house A to house C",
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/consent",
        "/v1/referrals/missing/consent",
        expect(404, 404, 404, 404, 404, 404, 401),
        name="POST consent to a missing referral",
    ),
    # Accept and decline: staff of the receiving house only (network and admin 403).
    Row(
        "POST",
        "/v1/referrals/{referral_id}/accept",
        "/v1/referrals/{referral}/accept",
        expect(403, 403, 403, 200, 403, 404, 401),
        setup=_new_referral("open"),
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/accept",
        "/v1/referrals/{referral}/accept",
        expect(403, 403, 403, 404, 403, 404, 401),
        setup=_new_referral("open", to=HOUSE_C),
        name="POST accept a referral from house A to house C",
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/decline",
        "/v1/referrals/{referral}/decline",
        expect(403, 403, 403, 200, 403, 404, 401),
        setup=_new_referral("open"),
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/decline",
        "/v1/referrals/{referral}/decline",
        expect(403, 403, 403, 404, 403, 404, 401),
        setup=_new_referral("open", to=HOUSE_C),
        name="POST decline a referral from house A to house C",
    ),
    # Withdraw: the referring house (A), the network operator, admin.
    Row(
        "POST",
        "/v1/referrals/{referral_id}/withdraw",
        "/v1/referrals/{referral}/withdraw",
        expect(200, 200, 200, 403, 403, 404, 401),
        setup=_new_referral("open"),
    ),
    Row(
        "POST",
        "/v1/referrals/{referral_id}/withdraw",
        "/v1/referrals/{referral}/withdraw",
        expect(200, 200, 200, 404, 403, 404, 401),
        setup=_new_referral("open", to=HOUSE_C),
        name="POST withdraw a referral from house A to house C",
    ),
    # ------------------------------------------------------------------ workflow
    # The rules are recommender/workflow's. Applying: the owning applicant only, each actor on
    # a fresh application of house A (house B would read one that applied to its program).
    Row(
        "POST",
        "/v1/applications/{application_id}/programs",
        "/v1/applications/{fresh_app}/programs",
        expect(403, 403, 403, 404, 201, 404, 401),
        body=_static({"program_id": "fin-teh"}),
        setup=_fresh_app,
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}/programs",
        "/v1/applications/{app_a}/programs",
        expect(200, 200, 200, 404, 200, 404, 401),
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}/timeline",
        "/v1/applications/{app_a}/timeline",
        expect(200, 200, 200, 404, 200, 404, 401),
    ),
    # Shortlist, notes, decisions: staff of a house that reads the application (and, for
    # shortlists and decisions, runs the program), the network operator, admin.
    Row(
        "POST",
        "/v1/applications/{application_id}/shortlist",
        "/v1/applications/{fresh_app}/shortlist",
        house_a(201),
        body=_static({"program_id": "fin-teh"}),
        setup=_fresh_app,
    ),
    Row(
        "DELETE",
        "/v1/applications/{application_id}/shortlist/{program_id}",
        "/v1/applications/{app_a}/shortlist/fin-teh",
        house_a(204),
    ),
    Row(
        "POST",
        "/v1/applications/{application_id}/notes",
        "/v1/applications/{app_a}/notes",
        house_a(201),
        body=_static({"body": "یادداشت کارکنان"}),
    ),
    Row("GET", "/v1/applications/{application_id}/notes", "/v1/applications/{app_a}/notes",
        house_a(200)),
    Row(
        "POST",
        "/v1/applications/{application_id}/decisions",
        "/v1/applications/{app_a}/decisions",
        house_a(201),
        body=_static({"program_id": "fin-teh", "funded_amount": 0}),
    ),
    Row(
        "POST",
        "/v1/applications/{application_id}/decisions",
        "/v1/applications/{fresh_app}/decisions",
        expect(201, 201, 404, 201, 403, 403, 401),
        body=_static({"program_id": "health-fund", "funded_amount": 0}),
        setup=_applied_to_house_b,
        name="POST decisions on house A's application that applied to house B's program",
    ),
    Row(
        "GET",
        "/v1/applications/{application_id}/decisions",
        "/v1/applications/{app_a}/decisions",
        house_a(200),
    ),
    # ------------------------------------------------------------------ events
    # House A's event `demo-day` (tests/api/_event_houses.py); another house gets 404.
    Row("GET", "/v1/events", "/v1/events", staff(200)),
    Row("POST", "/v1/events", "/v1/events", staff(201), body=_event_body),
    Row("GET", "/v1/events/{event_id}", "/v1/events/{event_a}", house_a(200), setup=_event_a),
    Row(
        "GET",
        "/v1/events/{event_id}/participants",
        "/v1/events/{event_a}/participants",
        house_a(200),
        setup=_event_a,
    ),
    Row(
        "POST",
        "/v1/events/{event_id}/participants",
        "/v1/events/{event_a}/participants",
        house_a(200),
        setup=_event_a,
        body=_event_participants,
        send="file",
    ),
    Row(
        "GET",
        "/v1/events/{event_id}/export",
        "/v1/events/{event_a}/export?format=xlsx",
        house_a(200),
        setup=_event_a,
    ),
    Row(
        "GET",
        "/v1/events/{event_id}/suggestions",
        "/v1/events/{event_a}/suggestions",
        house_a(200),
        setup=_event_a,
    ),
    Row(
        "POST",
        "/v1/events/{event_id}/requests",
        "/v1/events/{event_a}/requests",
        house_a(201),
        setup=_event_a,
        body=_static({"from": "health", "to": "acc"}),
    ),
    Row(
        "POST",
        "/v1/events/{event_id}/schedule",
        "/v1/events/{event_a}/schedule",
        house_a(202),
        setup=_event_a,
    ),
    Row(
        "GET",
        "/v1/events/{event_id}/schedule",
        "/v1/events/{event_a}/schedule",
        house_a(200),
        setup=_schedule_a,
    ),
    Row(
        "GET",
        "/v1/events/{event_id}/schedule/files/{name:path}",
        "/v1/events/{event_a}/schedule/files/agendas/pay.ics",
        house_a(200),
        setup=_schedule_a,
    ),
    # ------------------------------------------------------------------ web: sign-in
    Row("GET", "/", "/", everyone(303, 303)),
    Row("GET", "/login", "/login", everyone(200, 200)),
    Row(
        "POST",
        "/login",
        "/login",
        everyone(401, 401),
        send="form",
        body=_static({"name": "admin", "password": "not-the-password"}),
        name="POST /login with a wrong password",
    ),
    Row("POST", "/logout", "/logout", everyone(303, 303), send="form", fresh_session=True),
    # ------------------------------------------------------------------ web: applicants
    Row("GET", "/me", "/me", applicants(200, WEB_ANON)),
    Row("GET", "/me/applications/new", "/me/applications/new", applicants(200, WEB_ANON)),
    Row(
        "POST",
        "/me/applications/new",
        "/me/applications/new",
        applicants(303, WEB_ANON),
        body=_applicant_form,
        send="form",
    ),
    Row(
        "GET",
        "/me/applications/{application_id}",
        "/me/applications/{app_a}",
        owned_a(200, WEB_ANON),
    ),
    Row(
        "GET",
        "/me/applications/{application_id}/edit",
        "/me/applications/{app_a}/edit",
        owned_a(200, WEB_ANON),
    ),
    Row(
        "POST",
        "/me/applications/{application_id}/edit",
        "/me/applications/{app_a}/edit",
        owned_a(303, WEB_ANON),
        body=_applicant_form,
        send="form",
    ),
    # Apply from a suggestion: the owning applicant, on a fresh application each time.
    Row(
        "POST",
        "/me/applications/{application_id}/programs",
        "/me/applications/{fresh_app}/programs",
        owned_a(303, WEB_ANON),
        body=_static({"program_id": "fin-teh"}),
        send="form",
        setup=_fresh_app,
    ),
    # ------------------------------------------------------------------ web: program pages
    # Everyone signed in; an inactive program only for staff roles and the applicant whose
    # application's records name it (the same rule as GET /v1/programs/{id}).
    Row("GET", "/programs/{program_id}", "/programs/{program_a}", signed_in(200, WEB_ANON)),
    Row(
        "GET",
        "/programs/{program_id}",
        "/programs/{program_b}",
        signed_in(200, WEB_ANON),
        name="GET the page of house B's program",
    ),
    Row(
        "GET",
        "/programs/{program_id}",
        "/programs/{old_program}",
        expect(200, 200, 200, 200, 404, 404, WEB_ANON),
        setup=_inactive_program,
        name="GET the page of an inactive program",
    ),
    Row(
        "GET",
        "/programs/{program_id}",
        "/programs/{old_program}",
        expect(200, 200, 200, 200, 200, 404, WEB_ANON),
        setup=_applied_to_inactive,
        name="GET the page of an inactive program the owner applied to",
    ),
    Row(
        "GET",
        "/programs/{program_id}",
        "/programs/missing",
        expect(404, 404, 404, 404, 404, 404, WEB_ANON),
        name="GET the page of a missing program",
    ),
    # ------------------------------------------------------------------ web: staff
    Row("GET", "/staff", "/staff", staff(200, WEB_ANON)),
    Row(
        "POST",
        "/staff",
        "/staff",
        staff(200, WEB_ANON),
        send="form",
        body=_static({"text": PLAN, "top": "3"}),
    ),
    Row("GET", "/staff/applications", "/staff/applications", staff(200, WEB_ANON)),
    Row(
        "GET",
        "/staff/applications/{application_id}",
        "/staff/applications/{app_a}",
        house_a(200, WEB_ANON),
    ),
    # The staff's workflow panel (api/web/staff_workflow.py): the rules are the API's.
    Row(
        "POST",
        "/staff/applications/{application_id}/shortlist",
        "/staff/applications/{fresh_app}/shortlist",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({"program_id": "fin-teh", "action": "add"}),
        setup=_fresh_app,
    ),
    Row(
        "POST",
        "/staff/applications/{application_id}/notes",
        "/staff/applications/{app_a}/notes",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({"body": "یادداشت کارکنان"}),
    ),
    Row(
        "POST",
        "/staff/applications/{application_id}/decisions",
        "/staff/applications/{app_a}/decisions",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({"program_id": "fin-teh", "funded_amount": "0", "residency_granted": "no"}),
    ),
    Row("GET", "/staff/programs", "/staff/programs", staff(200, WEB_ANON)),
    Row("GET", "/staff/programs/new", "/staff/programs/new", staff(200, WEB_ANON)),
    Row(
        "POST",
        "/staff/programs/new",
        "/staff/programs/new",
        staff(303, WEB_ANON),
        body=_new_program_form,
        send="form",
    ),
    Row(
        "GET",
        "/staff/programs/{program_id}",
        "/staff/programs/{program_a}",
        house_a(200, WEB_ANON),
        name="GET the edit page of house A's program",
    ),
    Row(
        "POST",
        "/staff/programs/{program_id}",
        "/staff/programs/{program_a}",
        house_a(303, WEB_ANON),
        body=_program_form,
        send="form",
    ),
    Row(
        "GET",
        "/staff/programs/{program_id}/deactivate",
        "/staff/programs/{program_a}/deactivate",
        house_a(200, WEB_ANON),
    ),
    Row(
        "POST",
        "/staff/programs/{program_id}/deactivate",
        "/staff/programs/{program_a2}/deactivate",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({}),
    ),
    Row(
        "POST",
        "/staff/programs/{program_id}/activate",
        "/staff/programs/{program_a2}/activate",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({}),
    ),
    Row("GET", "/staff/imports", "/staff/imports", staff(200, WEB_ANON)),
    Row(
        "POST",
        "/staff/imports",
        "/staff/imports",
        staff(200, WEB_ANON),
        send="file",
        body=_import_programs,
    ),
    Row(
        "POST",
        "/staff/applications/embed",
        "/staff/applications/embed",
        staff(303, WEB_ANON),
        send="form",
        body=_static({}),
    ),
    Row("GET", "/staff/rounds", "/staff/rounds", staff(200, WEB_ANON)),
    Row("GET", "/staff/rounds/{round_id}", "/staff/rounds/{round_a}", house_a(200, WEB_ANON)),
    Row(
        "GET",
        "/staff/rounds/{round_id}/allocation/accept",
        "/staff/rounds/{round_a}/allocation/accept",
        house_a(200, WEB_ANON),
    ),
    Row(
        "POST",
        "/staff/rounds/{round_id}/allocation/accept",
        "/staff/rounds/{round_a}/allocation/accept",
        house_a(303, WEB_ANON),
        send="form",
        body=lambda actor, h: {"confirm": "yes"},
        setup=_allocation_of_round_a,
    ),
    Row(
        "POST",
        "/staff/rounds/{round_id}/score",
        "/staff/rounds/{round_a}/score",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({}),
    ),
    Row(
        "GET",
        "/staff/rounds/{round_id}/what-if",
        "/staff/rounds/{round_a}/what-if",
        house_a(200, WEB_ANON),
    ),
    Row(
        "POST",
        "/staff/rounds/{round_id}/what-if",
        "/staff/rounds/{round_a}/what-if",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({"seats-fin-teh": "2"}),
    ),
    Row("GET", "/staff/jobs/{job_id}.json", "/staff/jobs/{job_a}.json", house_a(200, WEB_ANON)),
    Row(
        "GET",
        "/staff/jobs/{job_id}/files/{name}",
        "/staff/jobs/{job_a}/files/scores.csv",
        house_a(200, WEB_ANON),
    ),
    Row("GET", "/staff/jobs/{job_id}/report", "/staff/jobs/{job_a}/report", house_a(200, WEB_ANON)),
    Row(
        "GET",
        "/staff/jobs/{job_id}/report.css",
        "/staff/jobs/{job_a}/report.css",
        house_a(200, WEB_ANON),
    ),
    # ------------------------------------------------------------------ web: events
    Row("GET", "/staff/events", "/staff/events", staff(200, WEB_ANON)),
    Row(
        "POST",
        "/staff/events",
        "/staff/events",
        staff(303, WEB_ANON),
        send="file",
        body=_web_event_file,
    ),
    Row(
        "GET",
        "/staff/events/{event_id}",
        "/staff/events/{event_a}",
        house_a(200, WEB_ANON),
        setup=_event_a,
    ),
    Row(
        "POST",
        "/staff/events/{event_id}/participants",
        "/staff/events/{event_a}/participants",
        house_a(303, WEB_ANON),
        send="file",
        body=_event_participants,
        setup=_event_a,
    ),
    Row(
        "POST",
        "/staff/events/{event_id}/schedule",
        "/staff/events/{event_a}/schedule",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_event_a,
    ),
    Row(
        "GET",
        "/staff/events/{event_id}/files/{name:path}",
        "/staff/events/{event_a}/files/schedule.xlsx",
        house_a(200, WEB_ANON),
        setup=_schedule_a,
    ),
    Row(
        "GET",
        "/staff/events/{event_id}/export.{fmt}",
        "/staff/events/{event_a}/export.csv",
        house_a(200, WEB_ANON),
        setup=_event_a,
    ),
    Row(
        "GET",
        "/staff/events/{event_id}/agenda/{pid}",
        "/staff/events/{event_a}/agenda/pay",
        house_a(200, WEB_ANON),
        setup=_schedule_a,
    ),
    Row(
        "POST",
        "/staff/events/{event_id}/agenda/{pid}/requests",
        "/staff/events/{event_a}/agenda/health/requests",
        house_a(303, WEB_ANON),
        send="form",
        body=_static({"to": "acc"}),
        setup=_event_a,
    ),
    Row(
        "GET",
        "/staff/events/{event_id}/agenda/{pid}/calendar.ics",
        "/staff/events/{event_a}/agenda/pay/calendar.ics",
        house_a(200, WEB_ANON),
        setup=_schedule_a,
    ),
    # A participant's personal link needs no account: its signed token is the key, for
    # anyone who holds it; a wrong token is 404 for everyone.
    Row(
        "GET",
        "/events/{event_id}/agenda/{pid}",
        "/events/{event_a}/agenda/health?t={token}",
        everyone(200, 200),
        setup=_agenda_link_scheduled,
    ),
    Row(
        "GET",
        "/events/{event_id}/agenda/{pid}",
        "/events/{event_a}/agenda/pay?t={token}",
        everyone(404, 404),
        setup=_agenda_link,
        name="GET an agenda with another participant's token",
    ),
    Row(
        "POST",
        "/events/{event_id}/agenda/{pid}/requests",
        "/events/{event_a}/agenda/health/requests",
        everyone(303, 303),
        send="form",
        body=lambda actor, h: {"to": "acc", "t": _agenda_link(h)["token"]},
        setup=_agenda_link,
    ),
    Row(
        "POST",
        "/events/{event_id}/agenda/{pid}/requests",
        "/events/{event_a}/agenda/health/requests",
        everyone(404, 404),
        send="form",
        body=_static({"to": "acc", "t": "not-the-token"}),
        setup=_agenda_link,
        name="POST a meeting request with a wrong token",
    ),
    Row(
        "GET",
        "/events/{event_id}/agenda/{pid}/calendar.ics",
        "/events/{event_a}/agenda/health/calendar.ics?t={token}",
        everyone(200, 200),
        setup=_agenda_link_scheduled,
    ),
    # ------------------------------------------------------------------ web: admin
    Row("GET", "/admin", "/admin", admin_only(200, WEB_ANON)),
    Row(
        "POST",
        "/admin/users",
        "/admin/users",
        admin_only(200, WEB_ANON),
        send="form",
        body=lambda actor, h: {"name": f"web-made-{actor}", "role": "applicant"},
    ),
    Row(
        "POST",
        "/admin/users/{user_id}/active",
        "/admin/users/{spare}/active",
        admin_only(303, WEB_ANON),
        send="form",
        body=_static({"active": "1"}),
    ),
    Row(
        "POST",
        "/admin/users/{user_id}/house",
        "/admin/users/{spare}/house",
        admin_only(303, WEB_ANON),
        send="form",
        body=_static({"org_id": ""}),
    ),
    Row(
        "POST",
        "/admin/users/{user_id}/password",
        "/admin/users/{spare}/password",
        admin_only(200, WEB_ANON),
        send="form",
        body=_static({"password": "spare-password-2"}),
    ),
    Row(
        "POST",
        "/admin/users/{user_id}/token",
        "/admin/users/{spare}/token",
        admin_only(200, WEB_ANON),
        send="form",
        body=_static({}),
    ),
    Row(
        "POST",
        "/admin/models/train",
        "/admin/models/train",
        admin_only(303, WEB_ANON),
        send="form",
        body=_static({}),
    ),
    # ------------------------------------------------------------------ web: network
    Row("GET", "/network", "/network", network_view(200, WEB_ANON)),
    Row("GET", "/staff/referrals", "/staff/referrals", staff(200, WEB_ANON)),
    Row(
        "POST",
        "/staff/applications/{application_id}/referrals",
        "/staff/applications/{fresh_app}/referrals",
        expect(303, 303, 303, 404, 403, 403, WEB_ANON),
        send="form",
        body=_static({"to_org": HOUSE_B, "note": "برای برنامهٔ سلامت"}),
        setup=_fresh_app,
    ),
    Row(
        "POST",
        "/staff/referrals/{referral_id}/{step}",
        "/staff/referrals/{referral}/accept",
        expect(403, 403, 403, 303, 403, 403, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("open"),
    ),
    Row(
        "POST",
        "/staff/referrals/{referral_id}/{step}",
        "/staff/referrals/{referral}/decline",
        expect(403, 403, 403, 404, 403, 403, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("open", to=HOUSE_C),
        name="POST /staff/referrals/{referral}/decline from house A to house C",
    ),
    Row(
        "POST",
        "/staff/referrals/{referral_id}/{step}",
        "/staff/referrals/{referral}/withdraw",
        expect(303, 303, 303, 403, 403, 403, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("open"),
    ),
    Row(
        "POST",
        "/staff/referrals/{referral_id}/{step}",
        "/staff/referrals/{referral}/withdraw",
        expect(303, 303, 303, 404, 403, 403, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("open", to=HOUSE_C),
        name="POST /staff/referrals/{referral}/withdraw from house A to house C",
    ),
    Row(
        "POST",
        "/staff/referrals/{referral_id}/{step}",
        "/staff/referrals/{referral}/consent",
        expect(404, 404, 404, 404, 403, 403, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("pending_consent"),
        name="POST /staff/referrals/{referral}/consent (not a staff step)",
    ),
    Row(
        "POST",
        "/me/referrals/{referral_id}/{step}",
        "/me/referrals/{referral}/consent",
        expect(403, 403, 403, 403, 303, 404, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("pending_consent"),
    ),
    Row(
        "POST",
        "/me/referrals/{referral_id}/{step}",
        "/me/referrals/{referral}/refuse",
        expect(403, 403, 403, 403, 303, 404, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("pending_consent", to=HOUSE_C),
    ),
    Row(
        "POST",
        "/me/referrals/{referral_id}/{step}",
        "/me/referrals/{referral}/accept",
        expect(403, 403, 403, 403, 404, 404, WEB_ANON),
        send="form",
        body=_static({}),
        setup=_new_referral("open"),
        name="POST /me/referrals/{referral}/accept (not an applicant step)",
    ),
]

# Routes no actor's data is behind: the framework's own documentation pages.
NOT_IN_MATRIX = {
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
}


def registered_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route of `app` (HEAD left out), whichever way FastAPI keeps
    included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            candidates = getattr(route, "effective_candidates", None)
            if candidates is not None:
                walk(candidates() if callable(candidates) else candidates)
                continue
            path, methods = getattr(route, "path", None), getattr(route, "methods", None)
            if path is None or not methods:
                continue  # mounts (static files)
            found.update((m, path) for m in methods if m != "HEAD")

    walk(app.routes)
    return found


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home: Path = tmp_path_factory.mktemp("matrix-routes")
    return create_app(
        Settings(home=home, database_url=f"sqlite:///{home / 'p.db'}"), start_worker=False
    )


def test_every_route_has_a_row(plain_app: Any) -> None:
    routes = registered_routes(plain_app) - NOT_IN_MATRIX
    covered = {(row.method, row.route) for row in ROUTES}
    assert len(routes) > 60  # the walk found the included routers
    assert routes - covered == set(), "add a row to ROUTES for each of these routes"
    stale = {(r.method, r.route) for r in ROUTES} - routes
    assert stale == set(), "these rows name routes that are not registered"


@pytest.fixture
def houses(db_url: str, tmp_path: Path) -> Iterator[Houses]:
    yield from make_houses(db_url, tmp_path / "home")


def _call(h: Houses, row: Row, actor: str | None) -> int:
    ids = dict(h.ids, actor=actor or "anonymous")
    if row.setup is not None:
        ids.update(row.setup(h))
    url = row.url.format(**ids)
    payload = row.body(actor or "anonymous", h) if row.body is not None else None
    if row.route.startswith(("/v1", "/healthz", "/readyz", "/metrics")):
        client, headers = h.client, h.auth(actor)
    else:
        client, headers = h.web(actor), {}
        if row.fresh_session:
            client = type(h.client)(h.app)
            if actor is not None:
                sign_in(client, actor)
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if row.send == "json" and payload is not None:
        kwargs["json"] = payload
    elif row.send == "form":
        kwargs["data"] = dict(payload or {}, csrf_token=csrf_of(client))
    elif row.send == "file":
        name, content, media = payload
        files = {"file": (name, io.BytesIO(content), media)}
        kwargs["files"] = files
        if not row.route.startswith("/v1"):
            kwargs["data"] = {"csrf_token": csrf_of(client), "kind": "programs"}
    return client.request(row.method, url, **kwargs).status_code


def test_access_matrix(houses: Houses) -> None:
    registered = registered_routes(houses.app)
    wrong: list[str] = []
    for row in ROUTES:
        assert (row.method, row.route) in registered, f"{row.label}: not registered"
        for actor in ACTORS:
            got = _call(houses, row, actor)
            if got != row.expected[actor]:
                wrong.append(
                    f"{row.label} as {actor or 'anonymous'}: {got}, expected {row.expected[actor]}"
                )
    assert not wrong, "\n".join(wrong)


def test_job_lists_hold_only_the_callers_houses_jobs(houses: Houses) -> None:
    """`GET /v1/jobs`: house A's staff see job A, house B's staff none of it, the network
    operator every house's; `kind` and `subject` narrow the list; a bad limit is a 422."""
    job_a = houses.ids["job_a"]

    def listed(actor: str, query: str = "") -> set[str]:
        response = houses.client.get(f"/v1/jobs{query}", headers=houses.auth(actor))
        assert response.status_code == 200, response.text
        return {job["id"] for job in response.json()}

    assert job_a in listed("staff_a")
    assert job_a not in listed("staff_b")
    assert job_a in listed("network")
    assert job_a in listed("staff_a", "?kind=round_score&subject=rounds/round-a")
    assert job_a not in listed("staff_a", "?kind=plans_embed")
    bad = houses.client.get("/v1/jobs?limit=0", headers=houses.auth("staff_a"))
    assert bad.status_code == 422


# ---------------------------------------------------------------------- PostgreSQL RLS
TENANT_TABLES = ("applications", "intake_rounds", "outcomes", "referrals", "audit_log", "jobs")


def _raw_rows(h: Houses, scope: Scope) -> dict[str, set[str]]:
    """Every row id of the tenant tables a plain `SELECT` with no WHERE returns inside a
    transaction of `scope` (the tenant role with the scope's settings)."""
    store = h.store.scoped(scope)
    seen: dict[str, set[str]] = {}
    with store.session() as session:
        role = session.execute(sa.text("SELECT current_user")).scalar_one()
        assert role == TENANT_ROLE
        for table in TENANT_TABLES:
            key = "application_id || '/' || program_id" if table == "outcomes" else "id"
            found = session.execute(sa.text(f"SELECT {key} FROM {table}")).scalars()
            seen[table] = {str(v) for v in found}
    return seen


@pytest.mark.postgres
def test_row_level_security_is_a_second_wall(houses: Houses) -> None:
    if houses.store.dialect != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    everything = _raw_rows_unscoped(houses)
    ids = houses.ids
    a = _raw_rows(houses, Scope.house(HOUSE_A))
    assert a["applications"] == {"app-a"}
    assert a["intake_rounds"] == {"round-a"}
    assert a["outcomes"] == {"app-a/fin-teh"}
    assert a["referrals"] == {ids["ref_a"]}
    assert a["jobs"] == {ids["job_a"]}
    assert a["audit_log"] and a["audit_log"] < everything["audit_log"]
    b = _raw_rows(houses, Scope.house(HOUSE_B))
    assert b["applications"] == {"app-b"}
    assert b["referrals"] == {ids["ref_b"]}
    assert not a["audit_log"] & b["audit_log"]
    # House C sees app-a through the open referral to it, not app-b (waiting for consent).
    c = _raw_rows(houses, Scope.house(HOUSE_C))
    assert c["applications"] == {"app-a"}
    assert c["referrals"] == {ids["ref_a"]}  # not ref_b: it waits for consent (0005)
    assert c["jobs"] == set() and c["audit_log"] == set()
    owner = _raw_rows(houses, Scope.owner(houses.user_ids["owner"]))
    assert owner["applications"] == {"app-a"}
    assert owner["outcomes"] == {"app-a/fin-teh"}
    assert owner["referrals"] == {ids["ref_a"]}
    assert owner["intake_rounds"] == {"round-a", "round-b"}  # applicants choose a round
    assert owner["jobs"] == set()
    assert owner["audit_log"] == set()  # was every entry of every house before 0005


def _raw_rows_unscoped(h: Houses) -> dict[str, set[str]]:
    with h.store.session() as session:
        return {
            "audit_log": {
                str(v) for v in session.execute(sa.text("SELECT id FROM audit_log")).scalars()
            }
        }


@pytest.mark.postgres
def test_an_applicant_can_still_write_audit_entries_under_rls(houses: Houses) -> None:
    """Audit entries are written without reading them back (the owner-scope policy no
    longer shows any)."""
    if houses.store.dialect != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    applicant = houses.store.scoped(Scope.owner(houses.user_ids["owner"]))
    applicant.audit("user:owner", "consent", "referral", houses.ids["ref_a"])
    actions = [e.action for e in houses.store.list_audit(limit=5)]
    assert "consent" in actions
    assert applicant.list_audit() == []
