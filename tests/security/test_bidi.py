"""Bidi override/embedding/isolate controls (U+202A-U+202E, U+2066-U+2069) are removed from
user text on input (API bodies, web forms, imports) and from spreadsheet output."""

from __future__ import annotations

import re
from pathlib import Path

from recommender.io import writing as record_io
from recommender.text.safe_text import BIDI_CONTROLS
from tests.api.conftest import Env, application_body
from tests.recommender._round_fixtures import make_programs

RLO, PDF_, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"
BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def test_api_body_is_stored_without_bidi_controls(sqlite_env: Env):
    env = sqlite_env
    applicant = env.auth("applicant")
    created = env.client.post(
        "/v1/applications",
        json=application_body(startup_name=f"{RLO}gpj.exe{PDF_}", city=f"{LRI}تهران{PDI}"),
        headers=applicant,
    )
    assert created.status_code == 201, created.text
    stored = env.client.get(f"/v1/applications/{created.json()['id']}", headers=applicant).json()
    assert stored["startup_name"] == "gpj.exe"
    assert stored["city"] == "تهران"
    assert not BIDI.search(env.store.get_application(created.json()["id"]).startup_name)


def test_import_file_is_stored_without_bidi_controls(sqlite_env: Env):
    env = sqlite_env
    header = "id,name,kind,description,province\n"
    row = f"p-rlo,{RLO}برنامه{PDF_},accelerator,توضیح,تهران\n"
    response = env.client.post(
        "/v1/imports/programs",
        files={"file": ("p.csv", (header + row).encode())},
        headers=env.auth("staff"),
    )
    assert response.status_code == 200, response.text
    assert env.store.get_program("p-rlo").name == "برنامه"


def test_exports_drop_bidi_controls_of_rows_stored_before_the_rule(tmp_path: Path):
    # model_construct: a row as an older version may have stored it, without validation.
    program = make_programs()[0]
    legacy = type(program).model_construct(**{**dict(program), "name": f"a{RLO}b"})
    path = tmp_path / "programs.csv"
    record_io.write_records(path, "programs", [legacy])
    assert not BIDI.search(path.read_text(encoding="utf-8-sig"))
