"""Fixtures shared by the whole suite (keep this small; put area fixtures in subfolders).

`db_url` is an empty database, once as a SQLite file and once on the PostgreSQL server at
127.0.0.1:5432 (trust auth, user `postgres`). The PostgreSQL run uses a fresh database made
for this test session (dropped at the end) and resets its schema before each test; it is
skipped only when the server cannot be reached. `PEYVAND_TEST_PG` overrides the server URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_SERVER = os.environ.get("PEYVAND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for servers a test starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_connect(dbname: str | None = None) -> Any:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(PG_SERVER)
    if dbname is not None:
        params["dbname"] = dbname
    return psycopg.connect(make_conninfo(**params), autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this session (SQLAlchemy URL)."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    try:
        admin = _pg_connect()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {str(exc).strip()[:120]}")
    name = f"peyvand_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = make_url(PG_SERVER).set(drivername="postgresql+psycopg", database=name)
            yield url.render_as_string(hide_password=False)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: a SQLite file in tmp_path, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'peyvand.db'}"
    url: str = request.getfixturevalue("postgres_database")
    with _pg_connect(url.rsplit("/", 1)[1].split("?", 1)[0]) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Any]:
    """A migrated `recommender.store.database.Store` on `db_url`, closed after the test."""
    from recommender.store.database import Store

    with Store(db_url) as opened:
        opened.upgrade()
        yield opened
