"""From suggestion to decision: applying, shortlists, private notes, decisions and the
timeline of an application (issue 12; DESIGN.md, API contract additions).

The one implementation of these rules: the API (`api/routes/workflow.py`) and the web pages
(`api/web/applicant.py`) call these functions with the caller's scoped store
(`Store.scoped`), so an application the caller may not see is a NotFoundError exactly like a
missing id (`tenancy.applications_visible`: the house of a program reads an application that
applied to it).

- apply: the owning applicant only; an active program; into the program's open round when
  there is one (or the round named, which must hold the program and be open today).
  Applying twice answers the first record (idempotent).
- shortlist / unshortlist: staff of the program's house, the network operator or admin.
- notes: staff of any house that reads the application (never the applicant).
- decide: staff of the program's house (another house's program is a NotFoundError), the
  network operator or admin. The funded amount may not pass the program's `funding_max` nor
  the round's remaining budget (`RoundProgram.budget` less what the round's other outcomes
  at the program already give). A decision on a program the application did not apply to
  is allowed and kept with `applied=False`. Every decision is kept; the outcome
  (`Store.upsert_outcomes`) becomes the latest one, with `decided_by` and `note`.
- timeline: submitted, applied, referred, shortlisted, decided (oldest first).
- program_page / open_rounds (`programs`): what a program's page shows, and the open rounds
  of a program (the round `apply` picks is the first of them).

Bad requests raise InvalidInputError (422) or PermissionDeniedError (403), in English and
Persian (`bilingual`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from recommender import schemas
from recommender.errors import InvalidInputError, NotFoundError, PermissionDeniedError, bilingual
from recommender.network.referrals import Actor
from recommender.store.database import Store
from recommender.store.tables import as_utc
from recommender.store.workflow import AppliedProgram, Decision, Note, ShortlistEntry
from recommender.text.persian import format_rial
from recommender.workflow.programs import ProgramPage, RoundOffer, open_rounds, program_page

__all__ = [
    "Actor",
    "AppliedProgram",
    "Decision",
    "Event",
    "Note",
    "ProgramPage",
    "RoundOffer",
    "ShortlistEntry",
    "add_note",
    "apply",
    "decide",
    "notes",
    "open_rounds",
    "program_page",
    "shortlist",
    "timeline",
]

#: The longest private note (characters).
NOTE_MAX = 5000
STAFF_ROLES = frozenset({"staff", "network", "admin"})


@dataclass(frozen=True)
class Event:
    """One step of an application's life: `kind` is submitted, applied, referred,
    shortlisted or decided; `detail` holds the step's own fields."""

    at: dt.datetime
    kind: str
    program_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _require_staff(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise PermissionDeniedError(
            bilingual("only staff can do this", "این کار فقط از کارکنان برمی‌آید.")
        )


# ----------------------------------------------------------------------------- apply
def apply(
    store: Store,
    actor: Actor,
    application_id: str,
    program_id: str,
    *,
    round_id: str | None = None,
    today: dt.date | None = None,
) -> tuple[AppliedProgram, bool]:
    """The owning applicant applies to a program; returns the record and whether it is new
    (applying again answers the first record and changes nothing).

    Raises:
        NotFoundError: the application is not the caller's (or missing).
        PermissionDeniedError: the caller is not an applicant.
        InvalidInputError: unknown or inactive program; a round that is unknown, does not
            hold the program or is not open today.
    """
    today = today or dt.date.today()
    with store.session() as s:
        store.get_application(application_id, session=s)
        if actor.role != "applicant":
            raise PermissionDeniedError(
                bilingual(
                    "only the applicant who owns the application can apply with it",
                    "فقط صاحب درخواست می‌تواند با آن برای برنامه‌ای درخواست دهد.",
                )
            )
        program = _program(store, s, program_id)
        store.lock_application(application_id, session=s)  # one apply at a time: no 409 race
        existing = store.get_applied(application_id, program_id, session=s)
        if existing is not None:
            return existing, False
        if not program.active:
            raise InvalidInputError(
                bilingual(
                    f"program_id: the program '{program_id}' is not active",
                    "این برنامه فعال نیست و درخواست نمی‌پذیرد.",
                )
            )
        chosen = _round_for(store, s, program_id, round_id, today)
        return store.add_applied(application_id, program_id, chosen, session=s), True


def _program(store: Store, s: Session, program_id: str) -> schemas.Program:
    try:
        return store.get_program(program_id, session=s)
    except NotFoundError:
        raise InvalidInputError(
            bilingual(f"program_id: no program with id '{program_id}'", "برنامه پیدا نشد.")
        ) from None


def _round_for(
    store: Store, s: Session, program_id: str, round_id: str | None, today: dt.date
) -> str | None:
    if round_id is None:
        found = open_rounds(store, program_id, today, session=s)
        return found[0].id if found else None
    try:
        intake = store.get_round(round_id, session=s)
    except NotFoundError:
        raise InvalidInputError(
            bilingual(f"round_id: no intake round with id '{round_id}'", "دوره پیدا نشد.")
        ) from None
    if program_id not in intake.program_ids:
        raise InvalidInputError(
            bilingual(
                f"round_id: the round '{round_id}' does not take applications for "
                f"the program '{program_id}'",
                "این برنامه در این دوره درخواست نمی‌پذیرد.",
            )
        )
    if not intake.opens_on <= today <= intake.closes_on:
        state = "closed" if today > intake.closes_on else "not open yet"
        raise InvalidInputError(
            bilingual(
                f"round_id: the intake round '{round_id}' is {state} (it takes applications "
                f"from {intake.opens_on.isoformat()} to {intake.closes_on.isoformat()})",
                "این دوره اکنون درخواست نمی‌پذیرد (بسته است یا هنوز باز نشده).",
            )
        )
    return round_id


# ------------------------------------------------------------------------ shortlist
def shortlist(
    store: Store, actor: Actor, application_id: str, program_id: str, *, on: bool = True
) -> tuple[ShortlistEntry | None, bool]:
    """Put the application on (or take it off) a program's shortlist; returns the entry
    (None once off) and whether anything changed.

    Raises:
        NotFoundError: an application the caller cannot read, or a program that is not the
            caller's house's.
        PermissionDeniedError: an applicant.
    """
    _require_staff(actor)
    with store.session() as s:
        store.get_application(application_id, session=s)
        program = store.own_program(program_id, session=s)
        entry, changed = store.set_shortlisted(
            application_id,
            program_id,
            on=on,
            org_id=program.org_id,
            added_by=actor.name,
            session=s,
        )
        if changed:
            action = "shortlist" if on else "unshortlist"
            store.audit(
                actor.name,
                action,
                "application",
                application_id,
                detail={"program_id": program_id},
                session=s,
            )
        return entry, changed


# ---------------------------------------------------------------------------- notes
def add_note(store: Store, actor: Actor, application_id: str, body: str) -> Note:
    """A private note on an application (staff of a house that reads it).

    Raises:
        NotFoundError, PermissionDeniedError, InvalidInputError (empty or too long).
    """
    _require_staff(actor)
    text = body.strip()
    if not text or len(text) > NOTE_MAX:
        raise InvalidInputError(
            bilingual(
                f"body: a note needs 1 to {NOTE_MAX} characters",
                f"متن یادداشت باید میان ۱ تا {NOTE_MAX:,} نویسه باشد.".replace(",", "٬"),
            )
        )
    with store.session() as s:
        store.get_application(application_id, session=s)
        return store.add_note(
            application_id, text, author=actor.name, org_id=actor.org_id, session=s
        )


def notes(store: Store, actor: Actor, application_id: str) -> list[Note]:
    """The notes the caller may read (staff only)."""
    _require_staff(actor)
    with store.session() as s:
        store.get_application(application_id, session=s)
        return store.list_notes(application_id, session=s)


# --------------------------------------------------------------------------- decide
def decide(
    store: Store,
    actor: Actor,
    application_id: str,
    program_id: str,
    *,
    residency_granted: bool,
    funded_amount: int,
    note: str = "",
    today: dt.date | None = None,
) -> Decision:
    """Record a decision; the outcome of (application, program) becomes this one.

    Raises:
        NotFoundError: an application the caller cannot read, or another house's program.
        PermissionDeniedError: an applicant.
        InvalidInputError: a negative amount, more than the program's `funding_max`, or more
            than the round's remaining budget (the figures are in the message).
    """
    _require_staff(actor)
    today = today or dt.date.today()
    with store.session() as s:
        return _record_decision(
            store,
            s,
            actor,
            application_id,
            program_id,
            residency_granted=residency_granted,
            funded_amount=funded_amount,
            note=note,
            today=today,
        )


def _record_decision(
    store: Store,
    s: Session,
    actor: Actor,
    application_id: str,
    program_id: str,
    *,
    residency_granted: bool,
    funded_amount: int,
    note: str,
    today: dt.date,
) -> Decision:
    """`decide`'s checks and writes inside the caller's transaction `s` (also the one step of
    `accept_allocation`). Raises as `decide` does, before writing anything."""
    if funded_amount < 0:
        raise InvalidInputError(
            bilingual("funded_amount: must be 0 or more", "مبلغ تأمین مالی نمی‌تواند منفی باشد.")
        )
    application = store.get_application(application_id, session=s)
    program = store.own_program(program_id, session=s)
    # The program's budget is shared by its applications: one decision at a time.
    store.lock_program(program_id, session=s)
    if funded_amount > program.funding_max:
        raise InvalidInputError(
            bilingual(
                f"funded_amount: {funded_amount:,} rials is more than the program's "
                f"funding_max of {program.funding_max:,} rials",
                f"مبلغ {format_rial(funded_amount)} از سقف تأمین مالی این برنامه "
                f"({format_rial(program.funding_max)}) بیشتر است.",
            )
        )
    applied = store.get_applied(application_id, program_id, session=s)
    round_id = _decision_round(store, s, application, program_id, applied)
    if round_id is not None:
        _check_budget(store, s, round_id, application_id, program_id, funded_amount)
    decision = store.add_decision(
        Decision(
            id=0,
            application_id=application_id,
            program_id=program_id,
            round_id=round_id,
            org_id=program.org_id,
            residency_granted=residency_granted,
            funded_amount=funded_amount,
            note=note.strip(),
            applied=applied is not None,
            decided_by=actor.name,
            decided_on=today,
            decided_at=dt.datetime.now(dt.UTC),
        ),
        session=s,
    )
    store.upsert_outcomes(
        [
            schemas.Outcome(
                application_id=application_id,
                program_id=program_id,
                round_id=round_id,
                residency_granted=residency_granted,
                funded_amount=funded_amount,
                decided_on=today,
                decided_by=actor.name,
                note=decision.note,
            )
        ],
        session=s,
    )
    store.audit(
        actor.name,
        "decide",
        "application",
        application_id,
        detail={"program_id": program_id, "decision": decision.id},
        session=s,
    )
    return decision


def _decision_round(
    store: Store,
    s: Session,
    application: schemas.Application,
    program_id: str,
    applied: AppliedProgram | None,
) -> str | None:
    """The round a decision counts in: the one the application applied into, else the
    application's own round when it holds the program."""
    if applied is not None and applied.round_id is not None:
        return applied.round_id
    if application.round_id is None:
        return None
    try:
        intake = store.get_round(application.round_id, session=s)
    except NotFoundError:
        return None
    return intake.id if program_id in intake.program_ids else None


def _check_budget(
    store: Store, s: Session, round_id: str, application_id: str, program_id: str, amount: int
) -> None:
    try:
        intake = store.get_round(round_id, session=s)
    except NotFoundError:  # another house's round: its budget is not ours to read
        return
    budget = next((p.budget for p in intake.programs if p.program_id == program_id), None)
    if budget is None:
        return
    given = store.funded_in_round(
        round_id, program_id, except_application=application_id, session=s
    )
    remaining = max(budget - given, 0)
    if amount > remaining:
        raise InvalidInputError(
            bilingual(
                f"funded_amount: {amount:,} rials is more than the {remaining:,} rials left "
                f"of the round's budget for this program ({budget:,} rials, {given:,} given)",
                f"مبلغ {format_rial(amount)} از بودجهٔ باقی‌ماندهٔ دوره برای این برنامه "
                f"({format_rial(remaining)} از {format_rial(budget)}) بیشتر است.",
            )
        )


# -------------------------------------------------------------------------- timeline
def timeline(store: Store, actor: Actor, application_id: str) -> list[Event]:
    """The application's steps the caller may see, oldest first. Decision notes are for
    staff: the applicant's timeline leaves them out.

    Raises:
        NotFoundError: an application the caller cannot read.
    """
    staff = actor.role in STAFF_ROLES
    with store.session() as s:
        events = [Event(store.application_submitted_at(application_id, session=s), "submitted")]
        for applied in store.list_applied(application_id, session=s):
            detail = {"round_id": applied.round_id}
            events.append(Event(applied.applied_at, "applied", applied.program_id, detail))
        for referral in store.list_referrals(application_id=application_id, session=s):
            detail = {"to_org": referral.to_org, "status": referral.status}
            at = as_utc(referral.created_at or dt.datetime.now(dt.UTC))
            events.append(Event(at, "referred", referral.program_id, detail))
        for entry in store.list_shortlist(application_id, session=s):
            events.append(Event(entry.added_at, "shortlisted", entry.program_id))
        seen: set[str] = set()
        for decision in store.list_decisions(application_id, session=s):
            decided: dict[str, Any] = {
                "residency_granted": decision.residency_granted,
                "funded_amount": decision.funded_amount,
                "decided_on": decision.decided_on.isoformat(),
                "applied": decision.applied,
                "correction": decision.program_id in seen,
            }
            if staff:
                decided |= {"decided_by": decision.decided_by, "note": decision.note}
            seen.add(decision.program_id)
            events.append(Event(decision.decided_at, "decided", decision.program_id, decided))
    order = {"submitted": 0, "applied": 1, "referred": 2, "shortlisted": 3, "decided": 4}
    return sorted(events, key=lambda e: (e.at, order[e.kind]))
