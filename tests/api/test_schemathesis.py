"""Property-based requests from the live OpenAPI schema (schemathesis): whatever it sends,
the API answers without a server error. Bounded: a few examples per operation, sent once as
an admin and once as an applicant."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.accounts import Accounts
from api.jobs import default_registry
from api.main import create_app
from api.round_jobs import register
from api.settings import Settings
from tests.recommender._round_fixtures import make_model

from .conftest import GENEROUS_LIMITS, PROGRAMS, FakeRecommender

pytestmark = pytest.mark.slow

HOME = Path(tempfile.gettempdir()) / f"peyvand-fuzz-{os.getpid()}"


class _FuzzSettings(Settings):
    session_secret: str = "fuzz-only-secret"  # nothing written at import time


def _app():
    registry = default_registry.copy()
    register(registry, model=make_model(programs=PROGRAMS))
    settings = _FuzzSettings(home=HOME / "home", database_url=f"sqlite:///{HOME / 'p.db'}")
    return create_app(
        settings,
        recommender=FakeRecommender(PROGRAMS),
        job_registry=registry,
        job_poll_interval=0.05,
        rate_rules=GENEROUS_LIMITS,
    )


APP = _app()
TOKENS: dict[str, str] = {}
# Disabling accounts could lock the fuzzing admin out and end the run early.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(
    method="PATCH", path="/v1/users/{user_id}"
)


@pytest.fixture(scope="module", autouse=True)
def running_app() -> Iterator[None]:
    HOME.mkdir(parents=True, exist_ok=True)
    try:
        with TestClient(APP):
            APP.state.store.upsert_programs(PROGRAMS)
            accounts = Accounts(APP.state.store)
            for name, role in (("fuzz-admin", "admin"), ("fuzz-applicant", "applicant")):
                TOKENS[role] = accounts.add_user(name, role)[1]
            yield
            schemathesis.python.asgi.shutdown_lifespans()  # the one schemathesis started
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_never_get_a_server_error(case: schemathesis.Case):
    for role in ("admin", "applicant"):
        headers = {"Authorization": f"Bearer {TOKENS[role]}"}
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        assert response.status_code < 500, (case.method, case.path, response.text[:300])
