"""The one migration chain creates exactly the tables `recommender/store/tables.py` declares
(every table: the store's, a round's scores and the service's accounts, tokens, sessions,
owners and jobs), and goes down step by step and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from recommender.store.database import Store
from recommender.store.tables import Base

ALL_TABLES = set(Base.metadata.tables)
STORE_TABLES = {"programs", "applications", "intake_rounds", "round_programs", "outcomes",
                "audit_log"}
SERVICE_TABLES = {"users", "api_tokens", "web_sessions", "application_owners", "jobs"}
ROUND_TABLES = {"round_scores", "round_runs"}
NETWORK_TABLES = {"organizations", "referrals"}
WORKFLOW_TABLES = {"applied_programs", "shortlist_entries", "application_notes", "decisions"}
EVENT_TABLES = {"events", "event_participants"}
QUEUE_TABLES = {"job_tasks"}
VECTOR_TABLES = {"document_vectors"}
# The tables each revision has once it is applied (the chain is 0001 -> ... -> 0009).
TABLES_AT = {
    "0001": STORE_TABLES,
    "0002": STORE_TABLES | SERVICE_TABLES,
    "0003": STORE_TABLES | SERVICE_TABLES | ROUND_TABLES,
    "0004": STORE_TABLES | SERVICE_TABLES | ROUND_TABLES | NETWORK_TABLES,
    "0005": STORE_TABLES | SERVICE_TABLES | ROUND_TABLES | NETWORK_TABLES,  # RLS corrections
    "0006": STORE_TABLES | SERVICE_TABLES | ROUND_TABLES | NETWORK_TABLES | WORKFLOW_TABLES,
    "0007": STORE_TABLES | SERVICE_TABLES | ROUND_TABLES | NETWORK_TABLES | WORKFLOW_TABLES
    | EVENT_TABLES,
    "0008": STORE_TABLES | SERVICE_TABLES | ROUND_TABLES | NETWORK_TABLES | WORKFLOW_TABLES
    | EVENT_TABLES | QUEUE_TABLES,
    "0009": STORE_TABLES | SERVICE_TABLES | ROUND_TABLES | NETWORK_TABLES | WORKFLOW_TABLES
    | EVENT_TABLES | QUEUE_TABLES | VECTOR_TABLES,
}


def _tables(store: Store) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names()) - {"alembic_version"}


def _downgrade(store: Store, revision: str) -> None:
    config = store.alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_every_table_is_in_the_one_chain() -> None:
    assert (
        STORE_TABLES | SERVICE_TABLES | ROUND_TABLES | NETWORK_TABLES | WORKFLOW_TABLES
        | EVENT_TABLES | QUEUE_TABLES | VECTOR_TABLES
        == ALL_TABLES
    )
    assert TABLES_AT[max(TABLES_AT)] == ALL_TABLES


def test_migrations_match_every_model_and_round_trip(db_url: str):
    with Store(db_url) as store:
        store.upgrade()
        assert store.schema_revision() == store.head_revision() == max(TABLES_AT)
        assert _tables(store) == ALL_TABLES
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
        assert diffs == []  # autogenerate finds nothing to add, drop or change
        store.upgrade()  # idempotent

        for revision in sorted(TABLES_AT, reverse=True)[1:]:
            _downgrade(store, revision)
            assert _tables(store) == TABLES_AT[revision]
        _downgrade(store, "base")
        assert _tables(store) == set()
        store.upgrade()
        assert _tables(store) == ALL_TABLES
