"""Health, readiness and metrics; body-size limit (413); rate limits (429); and business-plan
text never reaching the logs, the audit log or the job table."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.ratelimit import RateLimiter, Rule
from tests.conftest import free_port

from .conftest import PLAN, Env, application_body, make_env

SECRET = "رمز-محرمانه-۴۲۷۱"  # a marker inside PLAN


def test_health_ready_and_metrics(sqlite_env: Env):
    client = sqlite_env.client
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {"store": "ok", "recommender": "ok", "jobs": "ok"},
    }
    app_id = client.post(
        "/v1/applications", json=application_body(), headers=sqlite_env.auth("applicant")
    ).json()["id"]
    client.get(f"/v1/applications/{app_id}", headers=sqlite_env.auth("applicant"))
    client.post("/v1/staff/match", json={"text": PLAN}, headers=sqlite_env.auth("staff"))
    text = client.get("/metrics").text
    assert (
        'peyvand_http_requests_total{method="GET",route="/v1/applications/{application_id}",'
        'status="200"} 1.0'
    ) in text
    assert app_id not in text  # route templates, never raw paths
    assert 'peyvand_recommend_duration_seconds_count{source="match"} 1.0' in text
    assert "peyvand_recommender_ready 1.0" in text


def test_oversized_bodies_get_413(sqlite_env: Env):
    env = sqlite_env
    big = b'{"text": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    declared = env.client.post(
        "/v1/staff/match",
        content=big,
        headers={**env.auth("staff"), "Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert "too large" in declared.json()["detail"]

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(40):
            yield b"x" * 32_768

    streamed = env.client.post(
        "/v1/staff/match",
        content=chunks(),
        headers={**env.auth("staff"), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    # Uploads have a larger allowance than JSON bodies.
    upload = env.client.post(
        "/v1/imports/programs",
        files={"file": ("p.json", b"[]" + b" " * (2 * 1024 * 1024), "application/json")},
        headers=env.auth("staff"),
    )
    assert upload.status_code == 200


def test_rate_limits_answer_429_with_retry_after(db_url: str, tmp_path: Path):
    rules = {"applicant_write": Rule(2, 60.0), "login": Rule(2, 60.0)}
    for env in make_env(db_url, tmp_path / "home", passwords=True, rate_rules=rules):
        codes = [
            env.client.post(
                "/v1/applications", json=application_body(), headers=env.auth("applicant")
            ).status_code
            for _ in range(3)
        ]
        assert codes == [201, 201, 429]
        refused = env.client.post(
            "/v1/applications", json=application_body(), headers=env.auth("applicant")
        )
        assert int(refused.headers["retry-after"]) >= 1
        # Staff are not limited by the applicant rule.
        staff = [
            env.client.post(
                "/v1/applications", json=application_body(), headers=env.auth("staff")
            ).status_code
            for _ in range(3)
        ]
        assert staff == [201, 201, 201]
        csrf = _csrf(env.client)
        login = [
            env.client.post(
                "/login",
                data={"name": "staff", "password": "wrong-password", "csrf_token": csrf},
                follow_redirects=False,
            ).status_code
            for _ in range(3)
        ]
        assert login == [401, 401, 429]
        assert 'peyvand_rate_limited_total{rule="login"} 1.0' in env.client.get("/metrics").text


def test_rate_limiter_window_slides():
    import time

    limiter = RateLimiter({"r": Rule(2, 1.0)})
    assert limiter.hit("r", "k") is None
    assert limiter.hit("r", "k") is None
    wait = limiter.hit("r", "k")
    assert wait is not None and 0.0 < wait <= 1.0
    assert limiter.hit("r", "other") is None  # counted per key
    time.sleep(wait + 0.05)
    assert limiter.hit("r", "k") is None  # the first hits left the window
    assert limiter.hit("unknown-rule", "k") is None


REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis at 127.0.0.1:6379 is not running")


_COUNT_IN_ANOTHER_PROCESS = """
import sys
from api.ratelimit import RateLimiter, Rule
limiter = RateLimiter({"login": Rule(3, 60.0)}, sys.argv[1])
print(limiter.hit("login", sys.argv[2]))
"""


def test_a_limit_in_redis_holds_across_processes():
    import subprocess
    import sys
    import uuid

    _redis_or_skip()
    key = f"test-{uuid.uuid4()}"
    here = RateLimiter({"login": Rule(3, 60.0)}, REDIS_URL)
    assert here.hit("login", key) is None
    assert here.hit("login", key) is None
    other = subprocess.run(
        [sys.executable, "-c", _COUNT_IN_ANOTHER_PROCESS, REDIS_URL, key],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    )
    assert other.stdout.strip() == "None"  # the third try, counted by the other process
    assert here.hit("login", key) is not None  # the fourth is refused here
    # memory:// is not shared
    assert RateLimiter({"login": Rule(3, 60.0)}).hit("login", key) is None


def test_two_services_on_one_redis_share_the_login_limit(tmp_path: Path):
    """Two services (each its own app, store and worker; all they share is Redis) count one
    password guesser's tries together."""
    from contextlib import ExitStack

    _redis_or_skip()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    rules = {"login": Rule(4, 60.0)}
    with ExitStack() as stack:
        envs = [
            stack.enter_context(
                contextmanager(make_env)(
                    f"sqlite:///{tmp_path / name}.db", tmp_path / name,
                    passwords=True, rate_rules=rules, ratelimit_url=REDIS_URL,
                )
            )
            for name in ("a", "b")
        ]
        codes = []
        for i in range(5):
            client = envs[i % 2].client
            codes.append(
                client.post(
                    "/login",
                    data={"name": "staff", "password": "wrong-password",
                          "csrf_token": _csrf(client)},
                    follow_redirects=False,
                ).status_code
            )
    assert codes == [401, 401, 401, 401, 429]


def test_the_login_limit_holds_across_two_api_processes(tmp_path: Path):
    """Two `peyvand serve` processes of one service (one home, one Redis for the counters):
    a password guesser alternating between them meets one counter — the default 10 tries a
    minute per address and name — and the 11th try, on either process, is 429 with
    Retry-After."""
    import os
    import re
    import subprocess
    import sys
    import time

    import httpx
    import redis

    from api.accounts import Accounts
    from api.settings import Settings
    from recommender.store.database import Store

    _redis_or_skip()
    redis.Redis.from_url(REDIS_URL).flushdb()
    home = tmp_path / "home"
    home.mkdir()
    with Store(Settings(home=home).db_url) as store:
        store.upgrade()
        Accounts(store).add_user("guessed", "admin", "the-right-password-1")
    environ = {
        **os.environ,
        "PEYVAND_RATELIMIT_URL": REDIS_URL,
        "PEYVAND_FOLLOW_INTERVAL": "0",
        "PYTHONUNBUFFERED": "1",
    }
    environ.pop("PEYVAND_DATABASE_URL", None)
    peyvand = str(Path(sys.executable).parent / "peyvand")
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [peyvand, "--home", str(home), "serve", "--port", str(port)],
            env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30) for p in ports]
        deadline = time.monotonic() + 120
        for client, server in zip(clients, servers, strict=True):
            while True:
                assert server.poll() is None, "a server process stopped"
                assert time.monotonic() < deadline, "the servers did not start"
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
        codes, retry_after = [], []
        for attempt in range(12):
            client = clients[attempt % 2]
            page = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            response = client.post(
                "/login",
                data={"name": "guessed", "password": "wrong", "csrf_token": token.group(1)},
                follow_redirects=False,
            )
            codes.append(response.status_code)
            retry_after.append(response.headers.get("Retry-After"))
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)
    assert codes == [401] * 10 + [429, 429], codes
    assert retry_after[-1] and int(retry_after[-1]) > 0 and retry_after[-2]


def test_rate_store_down_is_a_clear_start_error_and_a_503_during_requests(
    sqlite_env: Env, monkeypatch: pytest.MonkeyPatch
):
    from api.ratelimit import RateStoreUnavailable
    from recommender.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="پاسخ نمی‌دهد"):
        RateLimiter(url="redis://127.0.0.1:1/0")

    def down(rule: str, key: str) -> float | None:
        raise RateStoreUnavailable("ConnectionError")

    monkeypatch.setattr(sqlite_env.client.app.state.limiter, "hit", down)
    csrf = _csrf(sqlite_env.client)
    response = sqlite_env.client.post(
        "/login",
        data={"name": "staff", "password": "wrong-password", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "Traceback" not in response.text


def _csrf(client: TestClient) -> str:
    import re

    page = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_plan_text_never_reaches_logs_audit_or_jobs(web_env: Env, caplog: pytest.LogCaptureFixture):
    env = web_env
    caplog.set_level(logging.DEBUG)
    # API: submit, edit, read as staff, suggestions, staff match by text and by id, a 422.
    app_id = env.client.post(
        "/v1/applications", json=application_body(), headers=env.auth("applicant")
    ).json()["id"]
    env.client.put(
        f"/v1/applications/{app_id}", json=application_body(), headers=env.auth("applicant")
    )
    env.client.get(f"/v1/applications/{app_id}", headers=env.auth("staff"))
    env.client.get(f"/v1/applications/{app_id}/suggestions", headers=env.auth("applicant"))
    env.client.post("/v1/staff/match", json={"text": PLAN}, headers=env.auth("staff"))
    env.client.post("/v1/staff/match", json={"application_id": app_id}, headers=env.auth("staff"))
    bad = env.client.post(
        "/v1/staff/match", json={"text": PLAN, "top": 0}, headers=env.auth("staff")
    )
    assert bad.status_code == 422 and SECRET not in bad.text
    # Web: sign in, submit the plan through the form, search as staff.
    csrf = _csrf(env.client)
    env.client.post(
        "/login", data={"name": "applicant", "password": "applicant-password-1", "csrf_token": csrf}
    )
    csrf = _csrf(env.client)
    form = {k: str(v) for k, v in application_body().items() if k not in ("sectors",)}
    env.client.post("/me/applications/new", data={**form, "csrf_token": csrf})
    # A round job over the application.
    env.client.post(
        "/v1/rounds",
        json={
            "id": "r1",
            "name": "دوره یک",
            "opens_on": "2026-01-01",
            "closes_on": "2026-02-01",
            "programs": [{"program_id": "fin-teh"}],
        },
        headers=env.auth("staff"),
    )
    env.client.put(
        f"/v1/applications/{app_id}",
        json=application_body(round_id="r1"),
        headers=env.auth("staff"),
    )
    job = env.client.post("/v1/rounds/r1/score", headers=env.auth("staff")).json()
    assert env.wait_job(job["job_id"])["status"] == "succeeded"

    assert len(caplog.records) > 10  # the access log did run
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert SECRET not in text, record.name
        assert PLAN[:40] not in text, record.name
    with env.store.engine.connect() as connection:
        for table in ("audit_log", "jobs"):
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).all()
            assert rows and SECRET not in repr(rows)


class _LeakyRecommender:
    """Fails with the plan in its message, as a careless library might."""

    def recommend(self, text=None, application=None, filters=None, top=None, facts=None):
        raise RuntimeError(f"could not embed {text}")


def test_unexpected_errors_log_no_message(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    from api.accounts import Accounts
    from api.main import create_app
    from api.settings import Settings

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    app = create_app(settings, recommender=_LeakyRecommender())
    caplog.set_level(logging.DEBUG)
    with TestClient(app, raise_server_exceptions=False) as client:
        _, token = Accounts(app.state.store).add_user("sara", "staff")
        response = client.post(
            "/v1/staff/match", json={"text": PLAN}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 500
    assert SECRET not in response.text
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "builtins.RuntimeError" in logged  # the type and the frames are there
    assert "in recommend" in logged
    assert SECRET not in logged
