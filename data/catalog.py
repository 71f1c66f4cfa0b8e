"""The sample catalogue shipped with Peyvand: programs and one business plan.

Everything here is FICTIONAL sample data (see data/README.md): the programs, names and
amounts are made up for demos and tests and describe no real organisation. The sector list
they are tagged with is the library's (`recommender.taxonomy`).
"""

from __future__ import annotations

import json
from pathlib import Path

from recommender.schemas import Program

DATA_DIR = Path(__file__).resolve().parent
PROGRAMS_PATH = DATA_DIR / "programs.json"
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
