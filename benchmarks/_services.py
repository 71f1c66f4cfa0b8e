"""What the benchmarks that run the production deployment share: a fresh PostgreSQL
database per run (dropped at the end), so a run never sees another run's rows; the
environment of the worker processes they start; the queue's keys removed after a run; the
report printed and written as JSON."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


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


def worker_environ(settings: Any, **extra: str) -> dict[str, str]:
    """This process's environment plus what a `peyvand worker` of `settings` reads (home,
    database, queue, chunk size) and `extra` (PEYVAND_... names)."""
    environ = dict(os.environ)
    environ.update(
        PYTHONPATH=str(ROOT),
        PEYVAND_HOME=str(settings.resolved_home),
        PEYVAND_DATABASE_URL=settings.db_url,
        PEYVAND_QUEUE_URL=str(settings.queue_url),
        PEYVAND_QUEUE_NAMESPACE=settings.queue_namespace,
        PEYVAND_QUEUE_CHUNK_SIZE=str(settings.queue_chunk_size),
        **extra,
    )
    return environ


def clear_queue(redis_url: str, namespace: str) -> None:
    """Delete the run's queue keys (`namespace:*`) from Redis."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Print the report and write it as JSON to `path`."""
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
