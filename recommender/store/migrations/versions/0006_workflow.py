"""The decision workflow: applied programs, shortlists, private staff notes and every decision
(the outcome keeps the latest, now with `decided_by` and `note`).

The house of a program may now read an application that applied to it: the applications
policy is replaced (`tenancy.applications_visible`), and the new tables get their own
policies (PostgreSQL only; SQLite relies on the store).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TENANT_ROLE = "peyvand_tenant"  # recommender.store.tenancy.TENANT_ROLE
_ORG = "coalesce(current_setting('peyvand.org_id', true), '')"
_USER = "coalesce(current_setting('peyvand.user_id', true), '')"
_HOUSE = f"{_ORG} <> ''"
_OWNED = (
    "SELECT o.application_id FROM application_owners o "
    f"WHERE {_USER} <> '' AND o.user_id::text = {_USER}"
)
_REFERRED = (
    "SELECT r.application_id FROM referrals r "
    f"WHERE r.to_org = {_ORG} AND r.status IN ('open', 'accepted')"
)
_HOUSE_PROGRAMS = f"SELECT p.id FROM programs p WHERE p.org_id = {_ORG}"
_APPLIED = (
    f"SELECT ap.application_id FROM applied_programs ap WHERE ap.program_id IN ({_HOUSE_PROGRAMS})"
)

# Frozen here (the rules of recommender.store.tenancy): a later change needs its own migration.
APPLICATIONS_0004 = f"({_HOUSE} AND (org_id = {_ORG} OR id IN ({_REFERRED}))) OR id IN ({_OWNED})"
APPLICATIONS = (
    f"({_HOUSE} AND (org_id = {_ORG} OR id IN ({_REFERRED}) OR id IN ({_APPLIED}))) "
    f"OR id IN ({_OWNED})"
)
NEW_POLICIES: dict[str, str] = {
    "applied_programs": (
        f"({_HOUSE} AND program_id IN ({_HOUSE_PROGRAMS})) OR application_id IN ({_OWNED})"
    ),
    "shortlist_entries": f"({_HOUSE} AND org_id = {_ORG}) OR application_id IN ({_OWNED})",
    "decisions": f"({_HOUSE} AND org_id = {_ORG}) OR application_id IN ({_OWNED})",
    # The applications the house reads (their own policy applies inside); applicants none.
    "application_notes": f"{_HOUSE} AND application_id IN (SELECT a.id FROM applications a)",
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


def _app_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["application_id"],
        ["applications.id"],
        name=op.f(f"fk_{table}_application_id_applications"),
        ondelete="CASCADE",
    )


def _program_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["program_id"], ["programs.id"], name=op.f(f"fk_{table}_program_id_programs")
    )


def upgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "applied_programs",
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("round_id", sa.String(64), nullable=True),
        _ts("applied_at"),
        _app_fk("applied_programs"),
        _program_fk("applied_programs"),
        sa.PrimaryKeyConstraint("application_id", "program_id", name=op.f("pk_applied_programs")),
    )
    op.create_index(op.f("ix_applied_programs_program_id"), "applied_programs", ["program_id"])
    op.create_index(op.f("ix_applied_programs_round_id"), "applied_programs", ["round_id"])
    op.create_table(
        "shortlist_entries",
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("added_by", sa.String(200), nullable=False),
        _ts("added_at"),
        _app_fk("shortlist_entries"),
        _program_fk("shortlist_entries"),
        sa.PrimaryKeyConstraint("application_id", "program_id", name=op.f("pk_shortlist_entries")),
    )
    op.create_index(op.f("ix_shortlist_entries_program_id"), "shortlist_entries", ["program_id"])
    op.create_index(op.f("ix_shortlist_entries_org_id"), "shortlist_entries", ["org_id"])
    op.create_table(
        "application_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("created_at"),
        _app_fk("application_notes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_notes")),
    )
    op.create_index(
        op.f("ix_application_notes_application_id"), "application_notes", ["application_id"]
    )
    op.create_index(op.f("ix_application_notes_org_id"), "application_notes", ["org_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("round_id", sa.String(64), nullable=True),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("residency_granted", sa.Boolean(), nullable=False),
        sa.Column("funded_amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        _ts("decided_at"),
        _app_fk("decisions"),
        _program_fk("decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    for column in ("application_id", "program_id", "round_id", "org_id"):
        op.create_index(op.f(f"ix_decisions_{column}"), "decisions", [column])

    if op.get_bind().dialect.name == "postgresql":
        rls_0004 = _sibling("0004_organizations")
        rls_0004.grant_tenant_rights()  # the new tables and the decisions' sequence
        rls_0005 = _sibling("0005_rls_corrections")
        rls_0005._replace_policy("applications", APPLICATIONS)
        for table, condition in NEW_POLICIES.items():
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            rls_0005._replace_policy(table, condition)
            op.execute(
                f"CREATE POLICY tenant_insert ON {table} FOR INSERT TO {TENANT_ROLE} "
                "WITH CHECK (true)"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        rls_0005 = _sibling("0005_rls_corrections")
        rls_0005._replace_policy("applications", APPLICATIONS_0004)
    for table in ("decisions", "application_notes", "shortlist_entries", "applied_programs"):
        op.drop_table(table)
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("note")
        batch.drop_column("decided_by")
