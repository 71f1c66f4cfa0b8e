"""The sample catalogue shipped with Peyvand: the houses of the network, their programs and
one business plan.

Everything here is FICTIONAL sample data (see data/README.md): the houses, programs, names and
amounts are made up for demos and tests and describe no real organisation. The sector list
they are tagged with is the library's (`recommender.taxonomy`).

Every program names the house that runs it (`org_id`), so a store takes the houses first
(`seed_store` does both in that order).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recommender.schemas import Organization, Program

DATA_DIR = Path(__file__).resolve().parent
PROGRAMS_PATH = DATA_DIR / "programs.json"
ORGANIZATIONS_PATH = DATA_DIR / "organizations.json"
SAMPLE_PLAN_PATH = DATA_DIR / "samples" / "plan_fa.txt"


def load_program_dicts() -> list[dict]:
    """Return the raw program rows of ``programs.json`` (the import/export column set)."""
    return json.loads(PROGRAMS_PATH.read_text(encoding="utf-8"))


def load_programs() -> list[Program]:
    """Return the sample programs, validated against `recommender.schemas.Program`.

    Raises:
        pydantic.ValidationError: if the shipped file was edited into an invalid state.
    """
    return [Program.model_validate(row) for row in load_program_dicts()]


def sample_plan() -> str:
    """Return a realistic ~2,000-character Persian business plan (fictional)."""
    return SAMPLE_PLAN_PATH.read_text(encoding="utf-8")


def load_organization_dicts() -> list[dict]:
    """Return the raw rows of ``organizations.json`` (the Organization contract's columns)."""
    return json.loads(ORGANIZATIONS_PATH.read_text(encoding="utf-8"))


def load_organizations() -> list[Organization]:
    """Return the sample houses, validated against `recommender.schemas.Organization`."""
    return [Organization.model_validate(row) for row in load_organization_dicts()]


def seed_store(store: Any) -> tuple[int, int]:
    """Put the sample houses and then their programs into `store` (a migrated
    `recommender.store.database.Store`). Returns (programs created, programs updated)."""
    store.upsert_organizations(load_organizations())
    return store.upsert_programs(load_programs())
