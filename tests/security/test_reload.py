"""The loaded model and index across start and reloads: a round job started right after a
program import waits for the rebuilt index; a 503 while loading says when to retry; a fresh
recommender is warmed up before /readyz says ready; the replaced one is released."""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.accounts import Accounts
from api.engine import RecommenderHolder
from api.main import create_app
from api.settings import Settings
from recommender.scoring.pipeline import RecommendationList
from tests.api.conftest import PLAN, PROGRAMS, application_body, run_real_app

TODAY = dt.date.today()
NEW_PROGRAM = {
    "id": "new-isf",
    "name": "شتاب‌دهندهٔ تازهٔ پرداخت",
    "kind": "accelerator",
    "description": "شتاب‌دهنده برای کیف پول و پرداخت خرد در اصفهان.",
    "sectors": ["fintech"],
    "province": "اصفهان",
    "residency_seats": 3,
}


@pytest.fixture
def slow_real_app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], object]]:
    """The real pipeline (fake embedder) whose every load takes at least 1.5 s."""
    yield from run_real_app(tmp_path, user_prefix="r", load_delay=1.5)


def test_round_job_right_after_an_import_uses_the_new_index(slow_real_app):
    client, headers, app = slow_real_app
    imported = client.post(
        "/v1/imports/programs",
        files={"file": ("p.json", json.dumps([NEW_PROGRAM]).encode())},
        headers=headers["staff"],
    )
    assert imported.status_code == 200, imported.text
    created = client.post(
        "/v1/rounds",
        json={
            "id": "r-now",
            "name": "دوره",
            "opens_on": (TODAY - dt.timedelta(days=3)).isoformat(),
            "closes_on": (TODAY + dt.timedelta(days=30)).isoformat(),
            "programs": [{"program_id": "new-isf"}, {"program_id": PROGRAMS[0].id}],
        },
        headers=headers["staff"],
    )
    assert created.status_code == 201, created.text
    filed = client.post(
        "/v1/applications", json=application_body(round_id="r-now"), headers=headers["applicant"]
    )
    assert filed.status_code == 201, filed.text
    # Started while the index is still being rebuilt in the background.
    assert app.state.recommender._reloading
    job_id = client.post("/v1/rounds/r-now/score", headers=headers["staff"]).json()["job_id"]
    deadline = time.monotonic() + 120
    while True:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers["staff"]).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job.get("error")


def test_match_while_loading_is_503_with_retry_after(tmp_path: Path):
    release = threading.Event()

    def loader(previous):
        release.wait(30)
        raise RuntimeError("never loads in this test")

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    app = create_app(settings, recommender_loader=loader, start_worker=False)
    try:
        with TestClient(app) as client:
            _, token = Accounts(app.state.store).add_user("sara", "staff")
            response = client.post(
                "/v1/staff/match", json={"text": PLAN}, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 503
            assert int(response.headers["retry-after"]) >= 1
            ready = client.get("/readyz")
            assert ready.status_code == 503 and int(ready.headers["retry-after"]) >= 1
    finally:
        release.set()


class _Counting:
    """Counts recommend calls by kind (text or application)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def recommend(self, text=None, application=None, filters=None, top=None, facts=None):
        self.calls.append("text" if text is not None else "application")
        return RecommendationList(items=[])


def test_fresh_recommender_is_warmed_before_it_is_ready():
    made: list[_Counting] = []

    def loader(previous):
        made.append(_Counting())
        return made[-1]

    holder = RecommenderHolder(loader=loader)
    holder.load_in_background()
    assert holder.wait(30)
    # Both first-request paths ran before the state turned ready.
    assert made[0].calls == ["text", "application"]


def test_replaced_recommender_is_released_and_its_embedder_reused():
    class Heavy:
        def __init__(self, embedder: object) -> None:
            self.embedder = embedder
            self.me = self  # a reference cycle, as real model objects have

        def recommend(self, **kwargs):
            return RecommendationList(items=[])

    shared = object()
    seen: list[object] = []

    def loader(previous):
        seen.append(previous.embedder if previous is not None else None)
        return Heavy(previous.embedder if previous is not None else shared)

    holder = RecommenderHolder(loader=loader)
    gc.disable()  # only the holder's own collection may free the replaced cycles
    try:
        holder.load()
        first = weakref.ref(holder.get())
        for _ in range(3):
            holder.reload_in_background()
            deadline = time.monotonic() + 30
            while holder._reloading and time.monotonic() < deadline:
                time.sleep(0.01)
        assert first() is None
    finally:
        gc.enable()
    assert seen[0] is None and all(e is shared for e in seen[1:])
