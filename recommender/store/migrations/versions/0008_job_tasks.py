"""Job tasks (`api.job_tasks`): the parts of a job that queue workers run (a job's start,
each chunk of a round's applications, its finish), who ran them and their state; on
PostgreSQL a row-level-security policy per house like the jobs' (`tenancy.job_tasks_visible`:
the row repeats its job's house, so the policy needs no look into `jobs`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TENANT_ROLE = "peyvand_tenant"  # recommender.store.tenancy.TENANT_ROLE
_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_ORG = "coalesce(current_setting('peyvand.org_id', true), '')"

# Frozen here (the rule of recommender.store.tenancy): a later change needs its own migration.
POLICIES: dict[str, str] = {"job_tasks": f"{_ORG} <> '' AND org_id = {_ORG}"}


def _sibling(name: str) -> ModuleType:
    """An earlier migration of this chain (for its shared SQL helpers)."""
    spec = importlib.util.spec_from_file_location(
        f"_peyvand_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.create_table(
        "job_tasks",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("workers", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", _JSON, nullable=True),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_tasks_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "task", name=op.f("pk_job_tasks")),
    )
    op.create_index(op.f("ix_job_tasks_org_id"), "job_tasks", ["org_id"])
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
    op.drop_table("job_tasks")
