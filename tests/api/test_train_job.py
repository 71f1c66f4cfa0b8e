"""The `train` job (api/train_jobs.py): started by the admin through `POST /v1/models/train` or
the button on /admin; it trains on every outcome in the store and leaves the live model
untouched when the new version is not better, or was trained on too few outcomes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.jobs import default_registry
from api.round_jobs import register as register_round_jobs
from api.train_jobs import register as register_train_jobs
from recommender.ranking.registry import MIN_TRAINING_OUTCOMES, ModelRegistry
from tests.recommender._round_fixtures import make_model

from .conftest import PROGRAMS, Env, make_env
from .test_web import csrf, sign_in

TRAIN = {"holdout_rounds": 1, "estimator": "logistic"}


@pytest.fixture(scope="module")
def history():
    from data.synthetic import generate_history

    return generate_history(n_rounds=3, applications_per_round=15)


def _env(tmp_path: Path, history, *, passwords: bool = False) -> Iterator[Env]:
    from data.catalog import seed_store
    from recommender.schemas import Application, IntakeRound, Outcome
    from training.bow_embedder import HashingEmbedder

    registry = default_registry.copy()
    register_round_jobs(registry, model=make_model(programs=PROGRAMS))
    register_train_jobs(registry, embedder=HashingEmbedder().fit())
    for env in make_env(
        f"sqlite:///{tmp_path / 'peyvand.db'}",
        tmp_path / "home",
        passwords=passwords,
        job_registry=registry,
    ):
        store = env.app.state.store
        seed_store(store)
        store.upsert_rounds([IntakeRound(**r) for r in history.rounds])
        store.upsert_applications([Application(**a) for a in history.applications])
        # every other outcome as staff record a decision (decided_by set): both kinds train
        store.upsert_outcomes(
            [
                Outcome(**o, **({"decided_by": "staff"} if i % 2 else {}))
                for i, o in enumerate(history.outcomes)
            ]
        )
        yield env


@pytest.fixture
def train_env(tmp_path: Path, history) -> Iterator[Env]:
    yield from _env(tmp_path, history)


def _train(env: Env, **params) -> dict:
    created = env.client.post(
        "/v1/models/train", json={**TRAIN, **params}, headers=env.auth("admin")
    )
    assert created.status_code == 202, created.text
    job = env.wait_job(created.json()["job_id"], who="admin", timeout=120)
    assert job["status"] == "succeeded", job
    assert job["kind"] == "train"
    return job


@pytest.mark.slow
def test_train_job_promotes_only_a_better_model_and_keeps_the_live_one(train_env: Env):
    registry = ModelRegistry(train_env.settings.registry_dir)
    outcomes = train_env.app.state.store.list_outcomes()
    n_outcomes = len(outcomes)
    assert 0 < sum(o.decided_by is not None for o in outcomes) < n_outcomes

    # too few outcomes for the measured threshold: registered, nothing goes live
    first = _train(train_env)["result"]
    assert first["trained_on_outcomes"] < MIN_TRAINING_OUTCOMES
    assert not first["promoted"] and first["live"] is None
    assert "fewer than" in first["reason"] and registry.live_version() is None

    # enough by the caller's threshold: no model was live, so it goes live
    live = _train(train_env, min_outcomes=0)["result"]
    assert live["promoted"] and registry.live_version() == live["version"]
    assert live["reason"] .startswith("no model was live")
    # it learnt from every outcome of the store, imported or decided, except the held-out
    # recent season
    assert 0 < live["trained_on_outcomes"] < n_outcomes
    assert live["trained_on_outcomes"] + live["held_out_outcomes"] == n_outcomes
    pointer = (train_env.settings.registry_dir / "live.json").read_bytes()

    # the same data again: not better on the same held-out decisions, the live one stays
    again = _train(train_env, min_outcomes=0)
    result = again["result"]
    assert not result["promoted"] and result["previous_live"] == live["version"]
    assert result["live"] == live["version"] == registry.live_version()
    assert result["ndcg@10"] == pytest.approx(result["previous_ndcg@10"], abs=1e-4)
    assert (train_env.settings.registry_dir / "live.json").read_bytes() == pointer
    assert {"metrics.json", "report.html"} <= set(result["files"])

    listed = train_env.client.get("/v1/models", headers=train_env.auth("admin"))
    assert listed.status_code == 200
    versions = {m["version"]: m for m in listed.json()}
    assert versions[live["version"]]["live"] is True
    assert versions[result["version"]]["live"] is False
    assert versions[live["version"]]["trained_on_outcomes"] == live["trained_on_outcomes"]
    assert versions[live["version"]]["metrics"]["models"]["ranker"]["ndcg@10"] > 0
    assert "fewer than" in versions[first["version"]]["decision"]


def test_train_route_is_for_the_admin_and_refuses_bad_params(train_env: Env):
    for who in ("staff", "applicant"):
        assert (
            train_env.client.post(
                "/v1/models/train", json={}, headers=train_env.auth(who)
            ).status_code
            == 403
        )
        assert train_env.client.get("/v1/models", headers=train_env.auth(who)).status_code == 403
    assert train_env.client.post("/v1/models/train", json={}).status_code == 401
    for bad in ({"estimator": "forest"}, {"holdout_rounds": 0}, {"min_outcomes": -1}, {"speed": 2}):
        response = train_env.client.post(
            "/v1/models/train", json=bad, headers=train_env.auth("admin")
        )
        assert response.status_code == 422, bad
    assert train_env.client.get("/v1/models", headers=train_env.auth("admin")).json() == []
    assert not (train_env.settings.registry_dir / "live.json").exists()


def test_train_job_with_too_little_history_fails_in_plain_words(tmp_path: Path):
    for env in make_env(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "home"):
        created = env.client.post("/v1/models/train", json={}, headers=env.auth("admin"))
        job = env.wait_job(created.json()["job_id"], who="admin", timeout=60)
        assert job["status"] == "failed"
        assert "intake rounds" in job["error"]  # "training needs outcomes from at least ..."


@pytest.mark.slow
def test_admin_page_button_starts_the_train_job(tmp_path: Path, history):
    for env in _env(tmp_path, history, passwords=True):
        client = sign_in(env, "admin")
        page = client.get("/admin")
        assert page.status_code == 200
        assert 'id="train-model"' in page.text and 'id="no-models"' in page.text
        response = client.post(
            "/admin/models/train",
            data={"csrf_token": csrf(client, "/admin")},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/admin?done=train"
        jobs = env.app.state.jobs.list(subject="models")
        assert [j.kind for j in jobs] == ["train"]
        job = env.wait_job(jobs[0].id, who="admin", timeout=120)
        assert job["status"] == "succeeded"
        # defaults: the measured threshold, so this small history registers without going live
        assert job["result"]["promoted"] is False
        page = client.get("/admin?done=train")
        assert 'id="model-versions"' in page.text and 'data-version="v0001"' in page.text
        assert "ثبت شد و مدل فعلی ماند" in page.text
        assert (
            json.loads(
                (env.settings.registry_dir / "v0001" / "meta.json").read_text(encoding="utf-8")
            )["min_outcomes"]
            == MIN_TRAINING_OUTCOMES
        )
        # without the form's CSRF token nothing is queued
        refused = client.post("/admin/models/train", data={}, follow_redirects=False)
        assert refused.status_code in (400, 403)
        assert len(env.app.state.jobs.list(subject="models")) == 1


@pytest.mark.slow
def test_the_service_reloads_its_model_only_when_a_version_goes_live(train_env: Env, tmp_path):
    from api.jobs import JobContext
    from api.train_jobs import train_job
    from recommender.errors import InvalidInputError
    from training.bow_embedder import HashingEmbedder

    reloads: list[int] = []
    embedder = HashingEmbedder().fit()

    def run(**params) -> dict:
        ctx = JobContext(
            job_id="t",
            params={**TRAIN, **params},
            store=train_env.app.state.store,
            output_dir=tmp_path,
            services={
                "settings": train_env.settings,
                "reload_recommender": lambda: reloads.append(1),
            },
        )
        return train_job(ctx, embedder=embedder)

    assert run(min_outcomes=0)["promoted"] and len(reloads) == 1
    assert not run(min_outcomes=0)["promoted"] and len(reloads) == 1  # not better: no reload
    assert not run()["promoted"] and len(reloads) == 1  # too few outcomes: no reload
    for bad in ({"estimator": "forest"}, {"holdout_rounds": "x"}, {"min_outcomes": -3}):
        with pytest.raises(InvalidInputError):
            run(**bad)
