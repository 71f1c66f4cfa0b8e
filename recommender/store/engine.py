"""The database connection of the store: reading a database URL (`normalize_url`, and
`display_url` for messages with the password masked) and building the SQLAlchemy engine with
the settings each backend needs (SQLite pragmas and write lock, PostgreSQL pre-ping).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from recommender.errors import ConfigurationError, bilingual


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 (the driver we ship), not psycopg2.

    Raises:
        ConfigurationError: when the text is not a database URL.
    """
    text = str(url).strip()
    for prefix in ("postgres://", "postgresql://"):
        if text.startswith(prefix):
            text = "postgresql+psycopg://" + text[len(prefix) :]
    try:
        make_url(text)
    except ArgumentError as exc:
        raise ConfigurationError(f"'{url}' is not a database URL") from exc
    return text


def display_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def make_engine(url: str, echo: bool) -> Engine:
    parsed = make_url(url)
    # hide_parameters: bound values (business-plan text among them) never reach SQL error
    # messages or debug logs.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        kwargs["connect_args"] = {"check_same_thread": False}
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool  # one shared in-memory database
        else:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(url, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise ConfigurationError(f"cannot use database URL {display_url(url)}: {exc}") from exc
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # SQLAlchemy emits BEGIN itself (below) so DDL and SAVEPOINTs are transactional.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: sa.Connection) -> None:
            # IMMEDIATE takes the write lock up front: a read-then-write transaction (an
            # upsert) then waits on busy_timeout for another writer (the job worker)
            # instead of failing at once with "database is locked" when it upgrades.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def unreachable(url: str, exc: OperationalError) -> ConfigurationError:
    """The one-line error for a database that cannot be reached (password masked)."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown error"
    return ConfigurationError(
        bilingual(
            f"cannot use the database at {display_url(url)}: {reason}",
            f"پایگاه داده در {display_url(url)} در دسترس نیست؛ روشن بودن آن و "
            "PEYVAND_DATABASE_URL را بررسی کنید",
        )
    )
