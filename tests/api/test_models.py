"""Migration 0002 (accounts, tokens, sessions, owners, jobs) matches `api/models.py`, and goes
down to 0001 and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from recommender.store.database import Store
from recommender.store.tables import Base

SERVICE_TABLES = {"users", "api_tokens", "web_sessions", "application_owners", "jobs"}


def _ours(diff: object) -> bool:
    """Whether an autogenerate diff touches a service table (other engineers' tables are
    checked by their own tests)."""
    text = repr(diff)
    return any(f"'{table}'" in text for table in SERVICE_TABLES)


def test_migration_matches_the_models_and_round_trips(db_url: str):
    with Store(db_url) as store:
        store.upgrade()
        assert SERVICE_TABLES <= set(sa.inspect(store.engine).get_table_names())
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(context, Base.metadata) if _ours(d)]
        assert diffs == []
        store.upgrade()  # idempotent

        from alembic import command

        config = store.alembic_config()
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        tables = set(sa.inspect(store.engine).get_table_names())
        assert not tables & SERVICE_TABLES and "applications" in tables
        store.upgrade()
        assert SERVICE_TABLES <= set(sa.inspect(store.engine).get_table_names())
