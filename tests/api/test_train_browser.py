"""The admin retrains the ranker from /admin in a real browser, on a phone and a desktop
screen: the button queues the `train` job, and after it the models section lists the new
version (registered, not live: the small history is below the measured threshold)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.jobs import default_registry
from api.round_jobs import register as register_round_jobs
from api.train_jobs import register as register_train_jobs
from tests.recommender._round_fixtures import make_model

from .conftest import PROGRAMS, Env
from .test_browser import _sign_in, _watch_console, serve
from .test_browser import browser as browser  # noqa: F401  (the fixture)
from .test_browser_ux import WIDTHS, _axe, _page, _shot, _width

pytestmark = pytest.mark.browser


@pytest.fixture
def train_server(tmp_path: Path) -> Iterator[tuple[str, Env]]:
    from data.catalog import seed_store
    from data.synthetic import generate_history
    from recommender.schemas import Application, IntakeRound, Outcome
    from training.bow_embedder import HashingEmbedder

    registry = default_registry.copy()
    register_round_jobs(registry, model=make_model(programs=PROGRAMS))
    register_train_jobs(registry, embedder=HashingEmbedder().fit())
    history = generate_history(n_rounds=3, applications_per_round=15)
    for base, env in serve(tmp_path, job_registry=registry):
        store = env.app.state.store
        seed_store(store)
        store.upsert_rounds([IntakeRound(**r) for r in history.rounds])
        store.upsert_applications([Application(**a) for a in history.applications])
        store.upsert_outcomes([Outcome(**o) for o in history.outcomes])
        yield base, env


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_admin_retrains_from_the_admin_page(train_server, browser, size):  # noqa: F811
    base, env = train_server
    page = _page(browser, WIDTHS[size], axe=True)
    problems = _watch_console(page)
    _sign_in(page, base, "admin", env.passwords["admin"])
    page.goto(f"{base}/admin")
    assert page.is_visible("#no-models")
    page.click("#train-model button[type=submit]")
    page.wait_for_selector("#admin-notice")
    jobs = env.app.state.jobs.list(subject="models")
    assert [j.kind for j in jobs] == ["train"]
    job = env.wait_job(jobs[0].id, who="admin", timeout=120)
    assert job["status"] == "succeeded" and job["result"]["promoted"] is False
    page.goto(f"{base}/admin")
    page.wait_for_selector("#model-versions tr[data-version='v0001']")
    assert "ثبت شد و مدل فعلی ماند" in page.inner_text("#train-jobs")
    assert _width(page) <= WIDTHS[size]["width"]
    _axe(page, f"admin models ({size})")
    _shot(page, f"admin_models_{size}")
    assert problems == []
