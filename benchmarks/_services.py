"""What the benchmarks that run the production deployment share: a fresh PostgreSQL
database per run (dropped at the end), so a run never sees another run's rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable


def fresh_database(server: str) -> tuple[str, Callable[[], None]]:
    """Create a uniquely named database on `server`; its SQLAlchemy URL and a `drop()`."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"peyvand_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg.connect(server, autocommit=True, connect_timeout=3)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)

    def drop() -> None:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()

    return url.render_as_string(hide_password=False), drop
