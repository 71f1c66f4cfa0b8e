"""The sample catalogue shipped with Peyvand: sectors, programs and one business plan.

Everything here is FICTIONAL sample data (see data/README.md): the programs, names and
amounts are made up for demos and tests and describe no real organisation.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from recommender.schemas import Program

DATA_DIR = Path(__file__).resolve().parent
SECTORS_PATH = DATA_DIR / "sectors.json"
PROGRAMS_PATH = DATA_DIR / "programs.json"
SAMPLE_PLAN_PATH = DATA_DIR / "samples" / "plan_fa.txt"


@lru_cache(maxsize=1)
def _sectors_json() -> str:
    return SECTORS_PATH.read_text(encoding="utf-8")


def load_sectors() -> list[dict]:
    """Return the sector list: dicts with `slug, name_fa, name_en, keywords_fa, keywords_en`.

    Returns:
        A fresh list (callers may modify it) in file order.
    """
    return json.loads(_sectors_json())


def sector_slugs() -> set[str]:
    """Return the set of known sector slugs (e.g. ``{"fintech", "health", ...}``)."""
    return {sector["slug"] for sector in load_sectors()}


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
