"""An unexpected error is logged once, as one line without the exception's message; the server
(uvicorn) logs no "Exception in ASGI application" traceback after it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import free_port

SECRET = "رمز-محرمانه-۴۲۷۱"
PLAN = f"طرح ما کیف پول است؛ {SECRET}"

SERVER = textwrap.dedent(
    """
    import sys
    import uvicorn
    from api.accounts import Accounts
    from api.main import create_app
    from api.settings import Settings

    class Leaky:
        def recommend(self, text=None, application=None, filters=None, top=None, facts=None):
            raise RuntimeError(f"could not embed {text}")

    home, port = sys.argv[1], int(sys.argv[2])
    settings = Settings(home=home, database_url=f"sqlite:///{home}/p.db")
    app = create_app(settings, recommender=Leaky(), start_worker=False)
    app.state.store.upgrade()
    _, token = Accounts(app.state.store).add_user("sara", "staff")
    (settings.resolved_home / "token").write_text(token)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="info")
    """
)


class _Leaky:
    def recommend(self, text=None, application=None, filters=None, top=None, facts=None):
        raise RuntimeError(f"could not embed {text}")


def test_unexpected_error_is_one_line_and_not_reraised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    from api.accounts import Accounts
    from api.main import create_app
    from api.settings import Settings

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    app = create_app(settings, recommender=_Leaky(), start_worker=False)
    caplog.set_level(logging.DEBUG)
    # raise_server_exceptions=True: an exception re-raised to the server fails the call.
    with TestClient(app) as client:
        _, token = Accounts(app.state.store).add_user("sara", "staff")
        response = client.post(
            "/v1/staff/match", json={"text": PLAN}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    line = errors[0].getMessage()
    assert "\n" not in line and errors[0].exc_info is None
    assert "builtins.RuntimeError" in line and "/v1/staff/match" in line
    assert SECRET not in line and "could not embed" not in line


def test_uvicorn_logs_no_traceback_for_a_500(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    script = tmp_path / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    log = (tmp_path / "server.log").open("w+", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, str(script), str(home), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not (home / "token").exists() or _down(port):
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        token = (home / "token").read_text()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/staff/match",
            data=f'{{"text": "{PLAN}"}}'.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(request, timeout=30)
        assert failed.value.code == 500
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    text = log.read()
    assert "unexpected error on POST /v1/staff/match" in text
    assert "Exception in ASGI application" not in text
    assert "Traceback" not in text
    assert SECRET not in text and "could not embed" not in text


def _down(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        return False
    except (urllib.error.URLError, OSError):
        return True
