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

from .conftest import PLAN, PROGRAMS, application_body, run_real_app

pytestmark = pytest.mark.slow


@pytest.fixture
def real_app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], object]]:
    yield from run_real_app(tmp_path, user_prefix="real")


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
