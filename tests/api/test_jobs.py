"""Background jobs: the self-test and round-scoring kinds through the API, failures in plain
words, and what happens to jobs left behind by a stopped server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import socket
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.jobs import INTERRUPTED_REASON, JobRegistry, JobStore, JobWorker, default_registry
from api.main import create_app
from api.settings import Settings
from recommender.errors import InvalidInputError
from recommender.store.database import Store
from recommender.store.tables import JobRow

from .conftest import PROGRAMS, Env, FakeRecommender, application_body


def test_selftest_job_runs_and_its_file_downloads(env: Env):
    created = env.client.post("/v1/jobs/selftest", json={"steps": 4}, headers=env.auth("admin"))
    assert created.status_code == 202
    job_id = created.json()["job_id"]
    assert created.json()["status_url"] == f"/v1/jobs/{job_id}"
    job = env.wait_job(job_id, who="admin")
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0
    assert job["result"]["steps"] == 4
    assert job["files"] == [
        {"name": "selftest.txt", "url": f"/v1/jobs/{job_id}/files/selftest.txt"}
    ]
    download = env.client.get(job["files"][0]["url"], headers=env.auth("admin"))
    assert download.status_code == 200 and download.text == "4 steps\n"
    # The admin's job belongs to no house: a house's staff cannot see it, like a missing one.
    assert env.client.get(f"/v1/jobs/{job_id}", headers=env.auth("staff")).status_code == 404
    assert (
        env.client.get(
            f"/v1/jobs/{job_id}/files/../peyvand.db", headers=env.auth("admin")
        ).status_code
        == 404
    )
    assert env.client.get("/v1/jobs/nope", headers=env.auth("staff")).status_code == 404


def test_failed_job_says_why_in_plain_words(sqlite_env: Env):
    job_id = sqlite_env.client.post(
        "/v1/jobs/selftest", json={"fail": True}, headers=sqlite_env.auth("admin")
    ).json()["job_id"]
    job = sqlite_env.wait_job(job_id, who="admin")
    assert job["status"] == "failed"
    assert job["error"] == "the self-test job was asked to fail"
    # The counter is bumped by the worker just after it stores the job's end (and stops the
    # job's heartbeat), so a client that saw "failed" may read /metrics a moment before it.
    counted = 'peyvand_jobs_finished_total{kind="selftest",status="failed"} 1.0'
    deadline = time.monotonic() + 5.0
    while counted not in (text := sqlite_env.client.get("/metrics").text):
        assert time.monotonic() < deadline, text
        time.sleep(0.05)


def test_round_scoring_job_writes_outputs_with_progress(env: Env):
    client, staff = env.client, env.auth("staff")
    created = client.post(
        "/v1/rounds",
        json={
            "id": "r-1405",
            "name": "دوره پاییز",
            # Open today: applicants may only file into an open round.
            "opens_on": (dt.date.today() - dt.timedelta(days=30)).isoformat(),
            "closes_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            "programs": [{"program_id": "fin-teh", "seats": 2}],
        },
        headers=staff,
    )
    assert created.status_code == 201
    attached = client.post(
        "/v1/rounds/r-1405/programs",
        json={"programs": [{"program_id": "agri-isf", "budget": 5_000_000_000}]},
        headers=staff,
    )
    assert attached.status_code == 200
    assert [p["program_id"] for p in attached.json()["programs"]] == ["fin-teh", "agri-isf"]
    unknown = client.post(
        "/v1/rounds/r-1405/programs", json={"programs": [{"program_id": "ghost"}]}, headers=staff
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "programs"
    for name in ("الف", "ب", "ج"):
        client.post(
            "/v1/applications",
            json=application_body(startup_name=name, round_id="r-1405"),
            headers=env.auth("applicant"),
        )
    assert client.get("/v1/rounds/r-1405", headers=staff).json()["n_applications"] == 3

    started = client.post("/v1/rounds/r-1405/score", json={"top": 5}, headers=staff)
    assert started.status_code == 202
    job = env.wait_job(started.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["subject"] == "rounds/r-1405"
    # The real round scoring (`api.round_jobs`): every application x every round program.
    scoring = job["result"]["scoring"]
    assert (scoring["n_applications"], scoring["n_programs"], scoring["n_scored"]) == (3, 2, 3)
    names = {f["name"] for f in job["files"]}
    assert {"scores.csv", "shortlists.csv", "top_programs.csv", "summary.json", "report.xlsx",
            "report.html"} <= names
    assert "allocation.csv" not in names  # not asked to allocate
    url = next(f["url"] for f in job["files"] if f["name"] == "scores.csv")
    scores = client.get(url, headers=staff)
    rows = list(csv.DictReader(io.StringIO(scores.content.decode("utf-8-sig"))))
    assert len(rows) == 6
    assert {r["program_id"] for r in rows} == {"fin-teh", "agri-isf"}  # only the round's
    assert len({r["application_id"] for r in rows}) == 3
    listed = client.get("/v1/rounds/r-1405/jobs", headers=staff).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert client.post("/v1/rounds/none/score", headers=staff).status_code == 404


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _seed_jobs(store: Store, root: Path) -> dict[str, str]:
    jobs = JobStore(store, root)
    host = socket.gethostname()
    now = dt.datetime.now(dt.UTC)
    cases = {
        "dead_pid": (f"{host}:{_dead_pid()}:aaaa", now),
        "same_process": (f"{host}:{os.getpid()}:bbbb", now),
        "other_host_fresh": ("elsewhere:1:cccc", now),
        "other_host_stale": ("elsewhere:1:dddd", now - dt.timedelta(hours=1)),
    }
    ids = {}
    for case, (worker, beat) in cases.items():
        job = jobs.submit("selftest", {"steps": 1}, created_by="test")
        with store.session() as s:
            s.execute(
                sa.update(JobRow)
                .where(JobRow.id == job.id)
                .values(status="running", worker=worker, heartbeat_at=beat, started_at=beat)
            )
        ids[case] = job.id
    ids["queued"] = jobs.submit("selftest", {"steps": 2}, created_by="test").id
    return ids


def test_jobs_left_running_by_a_stopped_server_are_failed_or_resumed(db_url: str, tmp_path: Path):
    home = tmp_path / "home"
    with Store(db_url) as store:
        store.upgrade()
        ids = _seed_jobs(store, home / "jobs")
    settings = Settings(home=home, database_url=db_url)
    app = create_app(settings, recommender=FakeRecommender(PROGRAMS), job_poll_interval=0.05)
    with TestClient(app):
        jobs = app.state.jobs
        deadline = time.monotonic() + 20
        while jobs.get(ids["queued"]).status != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.05)
        state = {case: jobs.get(job_id) for case, job_id in ids.items()}
    for case in ("dead_pid", "same_process", "other_host_stale"):
        assert state[case].status == "failed", case
        assert state[case].error == INTERRUPTED_REASON
        assert state[case].finished_at is not None
    # Another machine's job with a fresh heartbeat may still be running there.
    assert state["other_host_fresh"].status == "running"
    # Queued jobs simply wait for the next worker: this one ran after the restart.
    assert state["queued"].status == "succeeded"


def test_worker_fails_stale_jobs_while_running_and_unknown_kinds(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        store.upgrade()
        jobs = JobStore(store, tmp_path / "jobs")
        registry = default_registry.copy()

        @registry.kind("boom")
        def boom(ctx):
            raise KeyError("secret plan text")

        @registry.kind("plain")
        def plain(ctx):
            raise InvalidInputError("round 'x' has no programs; attach programs first")

        worker = JobWorker(jobs, registry, stale_after=dt.timedelta(seconds=0))
        for kind, expected in (
            ("nope", "unknown job kind 'nope'"),
            ("boom", "the job failed: KeyError"),
            ("plain", "round 'x' has no programs; attach programs first"),
        ):
            job = jobs.submit(kind, created_by="test")
            claimed = jobs.claim_next(worker.identity)
            assert claimed is not None and claimed.id == job.id
            done = worker.run_one(claimed)
            assert done.status == "failed" and expected in (done.error or "")
            assert "secret plan text" not in (done.error or "")
        # A running job whose heartbeat stopped (another host) is failed by recover().
        job = jobs.submit("selftest", created_by="test")
        jobs.claim_next("elsewhere:1:eeee")
        assert worker.recover() == [job.id]
        assert jobs.get(job.id).status == "failed"


def test_registry_replaces_a_kind_and_copies_are_independent():
    registry = JobRegistry()
    registry.register("round_score", lambda ctx: {"v": 1})
    copy = registry.copy()
    copy.register("round_score", lambda ctx: {"v": 2})
    assert registry.get("round_score").function(None) == {"v": 1}
    assert copy.get("round_score").function(None) == {"v": 2}
    assert registry.names() == ["round_score"]
