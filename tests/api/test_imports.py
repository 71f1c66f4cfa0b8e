"""Imports by upload (API and web page): the same all-or-nothing rule and row-numbered errors
as the CLI; programs, rounds and outcomes through the API."""

from __future__ import annotations

import json

from .conftest import Env, application_body
from .test_web import csrf, sign_in

GOOD = [
    {
        "id": "new-1",
        "name": "برنامهٔ یک",
        "kind": "accelerator",
        "description": "توضیح",
        "province": "تهران",
    },
    {
        "id": "new-2",
        "name": "برنامهٔ دو",
        "kind": "grant_program",
        "description": "توضیح",
        "province": "قم",
    },
]
CSV_WITH_A_BAD_ROW = (
    "id,name,kind,description,province,residency_seats\n"
    "c-1,برنامه,incubator,توضیح,تهران,3\n"
    "c-2,برنامه,castle,توضیح,تهران,-1\n"
).encode()


def test_json_import_then_csv_with_bad_rows(env: Env):
    staff = env.auth("staff")
    ok = env.client.post(
        "/v1/imports/programs",
        files={"file": ("programs.json", json.dumps(GOOD).encode(), "application/json")},
        headers=staff,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"kind": "programs", "created": 2, "updated": 0, "skipped": [],
                         "embed_job_id": None}
    assert env.store.get_program("new-2").kind == "grant_program"

    bad = env.client.post(
        "/v1/imports/programs", files={"file": ("p.csv", CSV_WITH_A_BAD_ROW)}, headers=staff
    )
    assert bad.status_code == 422
    rows = bad.json()["errors"]
    assert {(e["row"], e["field"]) for e in rows} == {(3, "kind"), (3, "residency_seats")}
    assert not env.store.existing_ids("programs", ["c-1"])  # nothing imported

    skipped = env.client.post(
        "/v1/imports/programs?skip_invalid=true",
        files={"file": ("p.csv", CSV_WITH_A_BAD_ROW)},
        headers=staff,
    )
    assert skipped.status_code == 200
    assert skipped.json()["created"] == 1 and skipped.json()["skipped"][0]["row"] == 3

    wrong_type = env.client.post(
        "/v1/imports/programs", files={"file": ("p.txt", b"x")}, headers=staff
    )
    assert wrong_type.status_code == 422 and "unsupported file type" in wrong_type.text
    audit = env.store.list_audit(target_kind="programs")
    assert {e.target_id for e in audit} >= {"programs.json", "p.csv"}


def test_outcomes_must_name_known_ids(sqlite_env: Env):
    env = sqlite_env
    app_id = env.client.post(
        "/v1/applications", json=application_body(), headers=env.auth("applicant")
    ).json()["id"]
    outcomes = [
        {"application_id": app_id, "program_id": "fin-teh", "residency_granted": True},
        {"application_id": "ghost", "program_id": "fin-teh"},
    ]
    response = env.client.post(
        "/v1/imports/outcomes",
        files={"file": ("o.json", json.dumps(outcomes).encode())},
        headers=env.auth("staff"),
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": 2, "field": "application_id", "message": "unknown application id 'ghost'"}
    ]
    recorded = env.client.post(
        "/v1/outcomes", json={"outcomes": outcomes[:1]}, headers=env.auth("staff")
    )
    assert recorded.json() == {"created": 1, "updated": 0}
    listed = env.client.get("/v1/outcomes", headers=env.auth("staff")).json()
    assert listed[0]["residency_granted"] is True


def test_web_import_page(web_env: Env):
    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff/imports")
    bad = client.post(
        "/staff/imports",
        data={"kind": "programs", "csrf_token": token},
        files={"file": ("p.csv", CSV_WITH_A_BAD_ROW)},
    )
    assert bad.status_code == 422 and "ردیف ۳" in bad.text
    good = client.post(
        "/staff/imports",
        data={"kind": "programs", "csrf_token": token},
        files={"file": ("programs.json", json.dumps(GOOD).encode())},
    )
    assert good.status_code == 200
    assert "۲ ردیف تازه" in good.text
    assert web_env.store.get_program("new-1").name == "برنامهٔ یک"


def test_an_import_while_another_process_imports_the_same_kind_is_a_409(env: Env):
    """Another API process (here: another database session) is writing an import of programs
    for the same house: the request is refused with 409 in plain words, nothing stored; the
    same file goes through once that import has ended. (PostgreSQL; SQLite queues writers.)"""
    import pytest

    if env.store.dialect != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time: the second import waits")
    staff = env.auth("staff")
    from api.accounts import Accounts

    house = Accounts(env.store).get_user(env.user_ids["staff"]).org_id
    upload = {"file": ("programs.json", json.dumps(GOOD).encode(), "application/json")}
    with env.store.session() as other:
        assert env.store.try_exclusive(f"import:programs:{house}", other)
        refused = env.client.post("/v1/imports/programs", files=upload, headers=staff)
    assert refused.status_code == 409
    assert "ورود دیگری از برنامه‌ها" in refused.json()["detail"]
    assert not env.store.existing_ids("programs", ["new-1", "new-2"])
    ok = env.client.post("/v1/imports/programs", files=upload, headers=staff)
    assert ok.status_code == 200 and ok.json()["created"] == 2


def test_web_prepares_the_houses_plans_in_the_background(web_env: Env):
    """«آماده‌سازی طرح‌ها» on the imports page: the plans_embed job for the staff's house,
    its progress on the page, and how many plans are ready once it ends."""
    web_env.client.post("/v1/applications", json=application_body(), headers=web_env.auth("staff"))
    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff/imports")
    started = client.post(
        "/staff/applications/embed", data={"csrf_token": token}, follow_redirects=False
    )
    assert started.status_code == 303
    page_url = started.headers["location"]
    assert page_url.startswith("/staff/imports?embed_job=")
    job_id = page_url.rsplit("=", 1)[1]
    ended = web_env.wait_job(job_id, timeout=30)
    assert ended["status"] == "succeeded" and ended["result"]["n_plans"] >= 1, ended
    job = web_env.app.state.jobs.get(job_id)  # its params, which the API does not show
    from api.accounts import Accounts

    house = Accounts(web_env.store).get_user(web_env.user_ids["staff"]).org_id
    assert house and job.params["org_id"] == house  # the staff's own house's plans
    page = client.get(page_url)
    assert page.status_code == 200 and 'id="job-progress"' in page.text
    assert "طرح آماده است" in page.text and "/static/job.js" in page.text
    later = client.get("/staff/imports")  # coming back: the house's latest run is shown
    assert f'data-job-id="{job_id}"' in later.text and "طرح آماده است" in later.text
    refused = client.post("/staff/applications/embed", data={}, follow_redirects=False)
    assert refused.status_code in (400, 403)  # no CSRF token: nothing queued


def test_imported_applications_have_their_plans_prepared_in_the_background(web_env: Env):
    """An applications import (API or staff page) starts the house's plans_embed job and
    says so; a programs import, or one that changed nothing, starts none."""
    body = {k: v for k, v in application_body().items() if k != "round_id"}
    rows = [{**body, "id": "imp-1"}, {**body, "id": "imp-2", "startup_name": "دومی"}]
    staff = web_env.auth("staff")
    upload = {"file": ("a.json", json.dumps(rows, ensure_ascii=False).encode())}
    done = web_env.client.post("/v1/imports/applications", files=upload, headers=staff)
    assert done.status_code == 200 and done.json()["created"] == 2, done.text
    job_id = done.json()["embed_job_id"]
    job = web_env.wait_job(job_id, timeout=30)
    assert job["kind"] == "plans_embed" and job["status"] == "succeeded", job
    assert job["result"]["n_plans"] >= 2
    polled = web_env.client.get(f"/v1/jobs/{job_id}", headers=staff)
    assert polled.status_code == 200 and polled.json()["status"] == "succeeded"
    again = web_env.client.post("/v1/imports/applications", files=upload, headers=staff)
    assert again.status_code == 200 and again.json()["embed_job_id"] is None  # nothing new
    programs = web_env.client.post(
        "/v1/imports/programs", files={"file": ("p.json", json.dumps(GOOD).encode())},
        headers=staff,
    )
    assert programs.status_code == 200 and programs.json()["embed_job_id"] is None

    client = sign_in(web_env, "staff")
    token = csrf(client, "/staff/imports")
    rows[0]["startup_name"] = "نام تازه"
    page = client.post(
        "/staff/imports",
        data={"kind": "applications", "csrf_token": token},
        files={"file": ("a.json", json.dumps(rows, ensure_ascii=False).encode())},
    )
    assert page.status_code == 200 and "۱ ردیف به‌روز شد" in page.text
    assert "آماده‌سازی طرح‌های این درخواست‌ها در پس‌زمینه آغاز شد" in page.text
    assert 'id="job-progress"' in page.text and "/static/job.js" in page.text


def test_the_imports_page_shows_only_the_callers_houses_latest_preparation(tmp_path):
    from ._houses import make_houses

    for h in make_houses(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home"):
        started = h.client.post("/v1/applications/embed", headers=h.auth("staff_a"))
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        assert f'data-job-id="{job_id}"' in h.web("staff_a").get("/staff/imports").text
        other = h.web("staff_b").get("/staff/imports")
        assert other.status_code == 200 and job_id not in other.text
        asked = h.web("staff_b").get(f"/staff/imports?embed_job={job_id}")
        assert asked.status_code == 200 and job_id not in asked.text
