"""Programs: list (staff of any house: the network's catalogue is shared), read one (staff any;
an applicant an active one or one their applications' records name, `Store.readable_program`,
as the program's web page), create, change, deactivate (staff of the program's house; admin
and the network operator any).
Another house's program answers 404 to a write, like a missing one. Every change is audited.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import ValidationError

from recommender import schemas as contracts
from recommender.errors import InvalidInputError

from ..deps import CurrentUserDep, RecommenderDep, StaffDep, StoreDep
from ..errors import readable_errors, summary
from ..schemas import ProgramCreate, ProgramPatch, ProgramPublic

router = APIRouter(prefix="/v1/programs", tags=["programs"])


def _public(program: contracts.Program) -> ProgramPublic:
    return ProgramPublic.model_validate(program.model_dump())


@router.get("", response_model=list[ProgramPublic])
def list_programs(
    store: StoreDep, user: StaffDep, active_only: bool = False
) -> list[ProgramPublic]:
    """Every program, ordered by id."""
    return [_public(p) for p in store.list_programs(active_only=active_only)]


@router.get("/{program_id}", response_model=ProgramPublic)
def get_program(program_id: str, store: StoreDep, user: CurrentUserDep) -> ProgramPublic:
    """One program (404 for one the caller may not read, like a missing id)."""
    return _public(store.readable_program(program_id))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProgramPublic)
def create_program(
    body: ProgramCreate, store: StoreDep, user: StaffDep, recommender: RecommenderDep
) -> ProgramPublic:
    """Add a program (409 when the id is taken). Staff add to their own house (`org_id` may
    be left out); admin and the network operator name the house when there are several.
    Matching picks it up after a background reload of the recommender (the index embeds
    only new or changed programs)."""
    program = contracts.Program.model_validate(body.model_dump())
    with store.session() as session:
        if store.existing_ids("programs", [program.id], session=session):
            raise HTTPException(409, f"a program with id '{program.id}' already exists")
        store.upsert_programs([program], session=session)
        store.audit(user.actor, "create", "program", program.id, session=session)
        program = store.get_program(program.id, session=session)
    recommender.reload_in_background()
    return _public(program)


def patch_program(store: StoreDep, user: StaffDep, program_id: str, changes: dict) -> ProgramPublic:
    """Apply `changes` to a stored program of the caller's house (validated as a whole) and
    audit it. Its house stays.

    Raises:
        NotFoundError: unknown id, or another house's program.
    """
    changes = {k: v for k, v in changes.items() if k != "org_id"}
    with store.session() as session:
        current = store.own_program(program_id, session=session)
        try:
            program = contracts.Program.model_validate({**current.model_dump(), **changes})
        except ValidationError as exc:
            raise InvalidInputError(summary(readable_errors(list(exc.errors())))) from None
        store.upsert_programs([program], session=session)
        store.audit(
            user.actor,
            "update",
            "program",
            program_id,
            {"fields": sorted(changes)},
            session=session,
        )
    return _public(program)


@router.patch("/{program_id}", response_model=ProgramPublic)
def update_program(
    program_id: str,
    body: ProgramPatch,
    store: StoreDep,
    user: StaffDep,
    recommender: RecommenderDep,
) -> ProgramPublic:
    """Change some fields of a program."""
    program = patch_program(store, user, program_id, body.model_dump(exclude_unset=True))
    recommender.reload_in_background()
    return program


@router.post("/{program_id}/deactivate", response_model=ProgramPublic)
def deactivate_program(
    program_id: str, store: StoreDep, user: StaffDep, recommender: RecommenderDep
) -> ProgramPublic:
    """Stop offering a program (kept for history; matching skips inactive programs)."""
    program = patch_program(store, user, program_id, {"active": False})
    recommender.reload_in_background()
    return program
