"""The service on the real recommender glue (`api.services.load_recommender`: index, features,
unsupervised fallback, explanations) with the pipeline tests' bag-of-words embedder instead of
e5: matching, suggestions, a catalogue change picked up by a background reload, and the
default `round_score` job."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.accounts import Accounts
from api.main import create_app
from api.settings import Settings
from recommender.store import Store

from .conftest import PLAN, PROGRAMS, application_body

pytestmark = pytest.mark.slow


@pytest.fixture
def real_app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], object]]:
    services = pytest.importorskip("api.services")
    fakes = pytest.importorskip("tests.recommender._pipeline_fakes")
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    with Store(settings.db_url) as store:
        store.upgrade()
        store.upsert_programs(PROGRAMS)
        services.build_index(settings, store=store, embedder=fakes.FakeEmbedder())

    def loader():
        return services.load_recommender(settings, embedder=fakes.FakeEmbedder())

    app = create_app(settings, recommender_loader=loader, job_poll_interval=0.05)
    with TestClient(app) as client:
        assert app.state.recommender.wait(120), app.state.recommender.reason
        accounts = Accounts(app.state.store)
        tokens = {
            role: accounts.add_user(f"real-{role}", role)[1] for role in ("staff", "applicant")
        }
        headers = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
        yield client, headers, app


def test_match_suggest_reload_and_score_a_round(real_app):
    client, headers, app = real_app
    assert client.get("/readyz").status_code == 200
    match = client.post("/v1/staff/match", json={"text": PLAN, "top": 3}, headers=headers["staff"])
    assert match.status_code == 200, match.text
    body = match.json()
    assert body["ranker"] == "unsupervised" and body["notes"]
    assert 1 <= len(body["items"]) <= 3
    first = body["items"][0]
    assert first["reasons"] and all(isinstance(r, str) for r in first["reasons"])
    assert first["p_residency"] is None  # no trained model yet
    assert first["factors"]

    app_id = client.post(
        "/v1/applications", json=application_body(), headers=headers["applicant"]
    ).json()["id"]
    suggestions = client.get(f"/v1/applications/{app_id}/suggestions", headers=headers["applicant"])
    assert suggestions.status_code == 200 and suggestions.json()["items"]

    # Deactivating a program reaches matching after the background reload.
    target = first["program_id"]
    old = app.state.recommender.get()
    assert (
        client.post(f"/v1/programs/{target}/deactivate", headers=headers["staff"]).status_code
        == 200
    )
    deadline = time.monotonic() + 60
    while app.state.recommender.get() is old and time.monotonic() < deadline:
        time.sleep(0.1)
    again = client.post(
        "/v1/staff/match", json={"text": PLAN, "top": 3}, headers=headers["staff"]
    ).json()
    assert target not in {i["program_id"] for i in again["items"]}

    client.post(
        "/v1/rounds",
        json={
            "id": "r1",
            "name": "دوره",
            # Open today: applicants may only file into an open round.
            "opens_on": (dt.date.today() - dt.timedelta(days=30)).isoformat(),
            "closes_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            "programs": [{"program_id": p.id} for p in PROGRAMS if p.id != target],
        },
        headers=headers["staff"],
    )
    client.put(
        f"/v1/applications/{app_id}",
        json=application_body(round_id="r1"),
        headers=headers["applicant"],
    )
    job_id = client.post("/v1/rounds/r1/score", headers=headers["staff"]).json()["job_id"]
    deadline = time.monotonic() + 120
    while True:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers["staff"]).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert "scores.csv" in [f["name"] for f in job["files"]]
