"""Events and their participants (recommender.events): tables, indexes and, on PostgreSQL,
row-level-security policies per house (`tenancy.events_visible`, `participants_visible`).

A participant row repeats its event's house (`org_id`), so the participants' policy needs no
look into `events`; the events' policy may then look into `event_participants` (an applicant
sees the events their applications take part in) without the two policies recursing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TENANT_ROLE = "peyvand_tenant"  # recommender.store.tenancy.TENANT_ROLE
_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_ORG = "coalesce(current_setting('peyvand.org_id', true), '')"
_USER = "coalesce(current_setting('peyvand.user_id', true), '')"
_HOUSE = f"{_ORG} <> ''"
_OWNED = (
    "SELECT o.application_id FROM application_owners o "
    f"WHERE {_USER} <> '' AND o.user_id::text = {_USER}"
)

# Frozen here (the rules of recommender.store.tenancy): a later change needs its own migration.
POLICIES: dict[str, str] = {
    "event_participants": f"({_HOUSE} AND org_id = {_ORG}) OR application_id IN ({_OWNED})",
    "events": (
        f"({_HOUSE} AND org_id = {_ORG}) OR id IN (SELECT ep.event_id FROM event_participants ep "
        f"WHERE ep.application_id IN ({_OWNED}))"
    ),
}


def _sibling(name: str) -> ModuleType:
    """An earlier migration of this chain (for its shared SQL helpers)."""
    spec = importlib.util.spec_from_file_location(
        f"_peyvand_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("slots", _JSON, nullable=False),
        sa.Column("tables", sa.Integer(), nullable=False),
        sa.Column("max_meetings_per_participant", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_events_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_org_id"), "events", ["org_id"])
    op.create_table(
        "event_participants",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=True),
        sa.Column("program_id", sa.String(64), nullable=True),
        sa.Column("availability", _JSON, nullable=False),
        sa.Column("requests", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_participants_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "id", name=op.f("pk_event_participants")),
    )
    op.create_index(op.f("ix_event_participants_org_id"), "event_participants", ["org_id"])
    op.create_index(
        op.f("ix_event_participants_application_id"), "event_participants", ["application_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        _sibling("0004_organizations").grant_tenant_rights()
        rls_0005 = _sibling("0005_rls_corrections")
        for table, condition in POLICIES.items():
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            rls_0005._replace_policy(table, condition)
            op.execute(
                f"CREATE POLICY tenant_insert ON {table} FOR INSERT TO {TENANT_ROLE} "
                "WITH CHECK (true)"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The events' policies read event_participants: they go before that table does.
        for policy in ("tenant_read", "tenant_change", "tenant_delete", "tenant_insert"):
            op.execute(f"DROP POLICY IF EXISTS {policy} ON events")
    op.drop_table("event_participants")
    op.drop_table("events")
