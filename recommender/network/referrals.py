"""Referrals of an application from one house to another: who may do what, in which state.

The one implementation of the referral rules; the API (`api/routes/referrals.py`) and the web
pages (`api/web/referrals.py`) both call these functions with the caller's scoped store
(`Store.scoped`), so a referral or application the caller may not see is a NotFoundError
exactly like a missing id. Each step checks, writes and audits in one transaction.

Life of a referral (`status`, DESIGN.md):

    refer ──► open                (the application is shared with the network)
          └─► pending_consent ──consent──► open
                              └──refuse───► withdrawn   (the applicant said no)
    open ──accept──► accepted     open ──decline──► declined
    pending_consent | open ──withdraw (referring side)──► withdrawn

Who: the house that holds the application (or the network operator / admin) refers and
withdraws; only the owning applicant consents or refuses; only staff of the receiving house
accept or decline, and only an open referral. The receiving house reads the application
while its referral is open or accepted (`tenancy._referred_to`).

Bad requests raise `InvalidInputError` (422: unknown or inactive house, the same house, a
program of another house), `PermissionDeniedError` (403: a caller who sees the referral but
is not the side that may act) or `ConflictError` (409: the wrong state, a second live
referral to the same house, a lost race). Messages are English and Persian (`bilingual`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from recommender import schemas
from recommender.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    bilingual,
)
from recommender.store.database import Store

#: States in which a referral is still alive (a second one to the same house is refused).
LIVE_STATES: tuple[str, ...] = ("pending_consent", "open", "accepted")
#: States the referring side may withdraw from.
WITHDRAWABLE_STATES: tuple[str, ...] = ("pending_consent", "open")
#: How many of the best-fitting programs `suggest_houses` looks at.
SUGGEST_TOP = 3
#: The roles that see every house (and may refer any application).
NETWORK_ROLES = frozenset({"network", "admin"})

Direction = Literal["incoming", "outgoing"]


@dataclass(frozen=True)
class Actor:
    """Who acts: `name` as the audit log writes it, the role, and the house of staff."""

    name: str
    role: str
    org_id: str | None = None

    @property
    def sees_every_house(self) -> bool:
        return self.role in NETWORK_ROLES


@dataclass(frozen=True)
class HouseSuggestion:
    """A house whose programs fit an application better than its own house's do."""

    org_id: str
    name: str
    program_ids: tuple[str, ...]


# ------------------------------------------------------------------------------ refer
def refer(
    store: Store,
    actor: Actor,
    application_id: str,
    to_org: str,
    *,
    program_id: str | None = None,
    note: str = "",
) -> schemas.Referral:
    """Refer an application to another house (optionally to one of its programs).

    Starts `open` when the applicant shares the application with the network, else
    `pending_consent`.

    Raises:
        NotFoundError: the application is not visible to `store`'s scope.
        PermissionDeniedError: the actor is neither staff of the house that holds the
            application nor the network operator or admin.
        InvalidInputError: unknown or inactive house, the application's own house, an
            unknown or inactive program, or a program of another house.
        ConflictError: a live referral of this application to that house exists.
    """
    program_id = program_id or None
    with store.session() as s:
        application = store.get_application(application_id, session=s)
        if not (actor.sees_every_house or _is_staff_of(actor, application.org_id)):
            raise PermissionDeniedError(
                bilingual(
                    "only the house that holds the application (or the network operator) "
                    "can refer it",
                    "فقط خانه‌ای که این درخواست را دارد (یا گردانندهٔ شبکه) می‌تواند آن را ارجاع دهد.",
                )
            )
        _check_target(store, s, application, to_org, program_id)
        store.lock_application(application_id, session=s)  # one refer at a time per application
        live = [
            r
            for r in store.list_referrals(application_id=application_id, to_org=to_org, session=s)
            if r.status in LIVE_STATES
        ]
        if live:
            raise ConflictError(
                bilingual(
                    f"the application is already referred to the house '{to_org}' "
                    f"(referral '{live[0].id}', {live[0].status})",
                    "این درخواست پیش‌تر به همین خانه ارجاع شده و آن ارجاع هنوز باز است.",
                )
            )
        status = "open" if application.share_with_network else "pending_consent"
        referral = store.add_referral(
            application_id,
            to_org,
            from_org=application.org_id,
            program_id=program_id,
            note=note.strip(),
            status=status,
            created_by=actor.name,
            session=s,
        )
        _audit(store, actor, "refer", referral, s)
        return referral


def _is_staff_of(actor: Actor, org_id: str | None) -> bool:
    return actor.role == "staff" and org_id is not None and actor.org_id == org_id


def _check_target(
    store: Store,
    s: Session,
    application: schemas.Application,
    to_org: str,
    program_id: str | None,
) -> None:
    try:
        house = store.get_organization(to_org, session=s)
    except NotFoundError:
        raise InvalidInputError(
            bilingual(f"to_org: no house with id '{to_org}'", "خانهٔ مقصد پیدا نشد.")
        ) from None
    if not house.active:
        raise InvalidInputError(
            bilingual(f"to_org: the house '{to_org}' is not active", "خانهٔ مقصد فعال نیست.")
        )
    if to_org == application.org_id:
        raise InvalidInputError(
            bilingual(
                "to_org: the application is already at this house; refer it to another one",
                "درخواست در همین خانه است؛ آن را به خانهٔ دیگری ارجاع دهید.",
            )
        )
    if program_id is None:
        return
    try:
        program = store.get_program(program_id, session=s)
    except NotFoundError:
        raise InvalidInputError(
            bilingual(f"program_id: no program with id '{program_id}'", "برنامه پیدا نشد.")
        ) from None
    if program.org_id != to_org:
        raise InvalidInputError(
            bilingual(
                f"program_id: the program '{program_id}' is not run by the house '{to_org}'",
                "برنامهٔ انتخاب‌شده از آنِ خانهٔ مقصد نیست.",
            )
        )
    if not program.active:
        raise InvalidInputError(
            bilingual(
                f"program_id: the program '{program_id}' is not active",
                "برنامهٔ انتخاب‌شده فعال نیست.",
            )
        )


# ---------------------------------------------------------------------- state changes
def consent(store: Store, actor: Actor, referral_id: str) -> schemas.Referral:
    """The owning applicant agrees: pending_consent -> open (the house may now read it)."""
    return _applicant_answers(store, actor, referral_id, "consent", "open")


def refuse(store: Store, actor: Actor, referral_id: str) -> schemas.Referral:
    """The owning applicant says no: pending_consent -> withdrawn (the receiving house never
    reads the application; `declined` stays the receiving house's answer)."""
    return _applicant_answers(store, actor, referral_id, "refuse", "withdrawn")


def accept(store: Store, actor: Actor, referral_id: str) -> schemas.Referral:
    """Staff of the receiving house take the application: open -> accepted."""
    return _house_answers(store, actor, referral_id, "accept", "accepted")


def decline(store: Store, actor: Actor, referral_id: str) -> schemas.Referral:
    """Staff of the receiving house say no: open -> declined."""
    return _house_answers(store, actor, referral_id, "decline", "declined")


def withdraw(store: Store, actor: Actor, referral_id: str) -> schemas.Referral:
    """The referring side takes the referral back: pending_consent | open -> withdrawn.

    Raises:
        PermissionDeniedError: not staff of the referring house, the network operator or
            admin.
        ConflictError: the referral was already answered.
    """
    with store.session() as s:
        referral = store.get_referral(referral_id, session=s)
        if not (actor.sees_every_house or _is_staff_of(actor, referral.from_org)):
            raise PermissionDeniedError(
                bilingual(
                    "only the referring house (or the network operator) can withdraw a referral",
                    "فقط خانهٔ ارجاع‌دهنده (یا گردانندهٔ شبکه) می‌تواند ارجاع را پس بگیرد.",
                )
            )
        return _move(store, actor, referral, "withdraw", "withdrawn", WITHDRAWABLE_STATES, s)


def _applicant_answers(
    store: Store, actor: Actor, referral_id: str, action: str, status: str
) -> schemas.Referral:
    with store.session() as s:
        # An applicant's store shows only the referrals of their own applications, so a
        # visible referral is the owner's; other applicants get a NotFoundError.
        referral = store.get_referral(referral_id, session=s)
        if actor.role != "applicant":
            raise PermissionDeniedError(
                bilingual(
                    "only the applicant who owns the application can consent to or refuse "
                    "a referral",
                    "فقط متقاضیِ صاحب درخواست می‌تواند با ارجاع موافقت کند یا آن را نپذیرد.",
                )
            )
        return _move(store, actor, referral, action, status, ("pending_consent",), s)


def _house_answers(
    store: Store, actor: Actor, referral_id: str, action: str, status: str
) -> schemas.Referral:
    with store.session() as s:
        referral = store.get_referral(referral_id, session=s)
        if not _is_staff_of(actor, referral.to_org):
            raise PermissionDeniedError(
                bilingual(
                    "only staff of the receiving house can accept or decline a referral",
                    "فقط کارشناسان خانهٔ مقصد می‌توانند ارجاع را بپذیرند یا رد کنند.",
                )
            )
        return _move(store, actor, referral, action, status, ("open",), s)


_STATE_FA = {
    "pending_consent": "هنوز در انتظار رضایت متقاضی است",
    "open": "باز است",
    "accepted": "پیش‌تر پذیرفته شده است",
    "declined": "پیش‌تر رد شده است",
    "withdrawn": "پس گرفته شده است",
}


def _move(
    store: Store,
    actor: Actor,
    referral: schemas.Referral,
    action: str,
    status: str,
    expected: Sequence[str],
    s: Session,
) -> schemas.Referral:
    if referral.status not in expected:
        raise ConflictError(
            bilingual(
                f"cannot {action} a referral that is '{referral.status}' "
                f"(only one that is {' or '.join(expected)})",
                f"این کار ممکن نیست: این ارجاع {_STATE_FA[referral.status]}.",
            )
        )
    moved = store.set_referral_status(referral.id, status, expected=expected, session=s)
    _audit(store, actor, action, moved, s)
    return moved


def _audit(store: Store, actor: Actor, action: str, referral: schemas.Referral, s: Session) -> None:
    detail = {
        "application_id": referral.application_id,
        "from_org": referral.from_org,
        "to_org": referral.to_org,
        "program_id": referral.program_id,
        "status": referral.status,
    }  # never the note or the plan
    store.audit(actor.name, action, "referral", referral.id, detail, session=s)


# ------------------------------------------------------------------------------ reads
def list_referrals(
    store: Store, actor: Actor, direction: Direction | None = None
) -> list[schemas.Referral]:
    """The referrals the actor's house sent (`outgoing`) or received (`incoming`), newest
    first; both without a direction. The network operator and admin get every referral
    (their store sees all; a direction means nothing without a house). A receiving house
    sees only referrals that were opened to it (`tenancy.referrals_visible`).
    """
    if actor.sees_every_house or not actor.org_id:
        return store.list_referrals()
    found: list[schemas.Referral] = []
    if direction in (None, "outgoing"):
        found += store.list_referrals(from_org=actor.org_id)
    if direction in (None, "incoming"):
        found += [
            r
            for r in store.list_referrals(to_org=actor.org_id)
            if r.from_org != actor.org_id
        ]
    found.sort(key=lambda r: (r.created_at is None, r.created_at), reverse=True)
    return found


def referrals_of(store: Store, application_id: str) -> list[schemas.Referral]:
    """The referrals of one application the store's scope may see, newest first.

    Raises:
        NotFoundError: the application is not visible to the scope.
    """
    store.get_application(application_id)
    return store.list_referrals(application_id=application_id)


def may_refer(actor: Actor, application: schemas.Application) -> bool:
    """Whether `refer` would let the actor refer this application (for pages' forms)."""
    return actor.sees_every_house or _is_staff_of(actor, application.org_id)


def suggest_houses(
    store: Store, application: schemas.Application, ranked_program_ids: Sequence[str]
) -> list[HouseSuggestion]:
    """The houses to suggest a referral to: among the `SUGGEST_TOP` best-fitting programs
    (`ranked_program_ids`, best first, e.g. the suggestions of `api.matching`), those ranked
    above every program of the application's own house and run by another active house,
    grouped by house in rank order. Empty when the own house's program fits best.
    """
    top = list(ranked_program_ids)[:SUGGEST_TOP]
    owners = store.program_orgs(top)
    houses = {o.id: o for o in store.list_organizations(active_only=True)}
    grouped: dict[str, list[str]] = {}
    for program_id in top:
        org = owners.get(program_id)
        if application.org_id is not None and org == application.org_id:
            break  # the own house's best program ranks here: nothing better below it
        if org is None or org not in houses:
            continue
        grouped.setdefault(org, []).append(program_id)
    return [
        HouseSuggestion(org_id=org, name=houses[org].name, program_ids=tuple(ids))
        for org, ids in grouped.items()
    ]
