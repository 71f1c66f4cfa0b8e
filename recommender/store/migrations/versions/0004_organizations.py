"""A network of houses: organizations, `org_id` on programs, rounds, applications, users,
jobs and audit entries, the applicant's consent to be referred, referrals between houses,
and (PostgreSQL) row-level security on the tenant tables.

Existing data moves into one implicit organization (`main`): a single-house install keeps
working with no `org_id` in its files.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from recommender.constants import DEFAULT_ORG_ID, DEFAULT_ORG_NAME_FA

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TENANT_ROLE = "peyvand_tenant"  # recommender.store.tenancy.TENANT_ROLE
_ORG_TABLES = ("programs", "intake_rounds", "applications", "users")
_PLAIN_ORG_TABLES = ("jobs", "audit_log")


# The rules of recommender.store.tenancy in SQL (frozen here: a later change needs its own
# migration), read from the transaction's settings ('' when unset). Only scoped
# transactions run as the tenant role, and they always set one of the two; a tenant-role
# transaction that set neither sees nothing (deny by default). Plain connections (the CLI,
# jobs, admin and network scopes) run as the owner of the tables and never meet them.
_ORG = "coalesce(current_setting('peyvand.org_id', true), '')"
_USER = "coalesce(current_setting('peyvand.user_id', true), '')"
_HOUSE = f"{_ORG} <> ''"
_OWNED = (
    "SELECT o.application_id FROM application_owners o "
    # Compared as text: SQL may evaluate either side of AND first, and ''::integer fails.
    f"WHERE {_USER} <> '' AND o.user_id::text = {_USER}"
)
_REFERRED = (
    "SELECT r.application_id FROM referrals r "
    f"WHERE r.to_org = {_ORG} AND r.status IN ('open', 'accepted')"
)

RLS_POLICIES: dict[str, str] = {
    "applications": (
        f"({_HOUSE} AND (org_id = {_ORG} OR id IN ({_REFERRED}))) OR id IN ({_OWNED})"
    ),
    "intake_rounds": f"({_HOUSE} AND org_id = {_ORG}) OR ({_ORG} = '' AND {_USER} <> '')",
    "outcomes": (
        f"({_HOUSE} AND program_id IN (SELECT p.id FROM programs p WHERE p.org_id = {_ORG})) "
        f"OR application_id IN ({_OWNED})"
    ),
    "referrals": (
        f"({_HOUSE} AND (from_org = {_ORG} OR to_org = {_ORG})) OR application_id IN ({_OWNED})"
    ),
    # An applicant's transaction writes audit entries (INSERT ... RETURNING must see them);
    # the store never reads audit for applicants.
    "audit_log": f"({_HOUSE} AND org_id = {_ORG}) OR ({_ORG} = '' AND {_USER} <> '')",
    "jobs": f"{_HOUSE} AND org_id = {_ORG}",
}
"""Table -> the SQL condition of its policy (USING for reads, updates and deletes). New rows
are checked by the store (an applicant's new application has no owner row yet when it is
inserted), so the INSERT policies admit every row."""


def _org_column() -> sa.Column:
    return sa.Column("org_id", sa.String(64), nullable=True)


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    for table in _ORG_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_org_column())
            batch.create_index(op.f(f"ix_{table}_org_id"), ["org_id"])
            batch.create_foreign_key(
                op.f(f"fk_{table}_org_id_organizations"), "organizations", ["org_id"], ["id"]
            )
    with op.batch_alter_table("applications") as batch:
        batch.add_column(
            sa.Column("share_with_network", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    for table in _PLAIN_ORG_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_org_column())
            batch.create_index(op.f(f"ix_{table}_org_id"), ["org_id"])

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("from_org", sa.String(64), nullable=True),
        sa.Column("to_org", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_referrals_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_org"], ["organizations.id"], name=op.f("fk_referrals_from_org_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["to_org"], ["organizations.id"], name=op.f("fk_referrals_to_org_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_referrals_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_application_id"), "referrals", ["application_id"])
    op.create_index(op.f("ix_referrals_to_org"), "referrals", ["to_org"])
    op.create_index(op.f("ix_referrals_status"), "referrals", ["status"])

    _move_existing_data_into_one_house()
    if op.get_bind().dialect.name == "postgresql":
        _row_level_security()


def _move_existing_data_into_one_house() -> None:
    bind = op.get_bind()
    has_data = (
        any(
            bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
            for table in ("programs", "intake_rounds", "applications")
        )
        or bind.execute(sa.text("SELECT 1 FROM users WHERE role = 'staff' LIMIT 1")).first()
    )
    if not has_data:
        return
    now = dt.datetime.now(dt.UTC)
    bind.execute(
        sa.text(
            "INSERT INTO organizations (id, name, kind, province, city, active, created_at, "
            "updated_at) VALUES (:id, :name, 'creative_house', '', '', :yes, :now, :now)"
        ),
        {"id": DEFAULT_ORG_ID, "name": DEFAULT_ORG_NAME_FA, "yes": True, "now": now},
    )
    for table in ("programs", "intake_rounds", "applications"):
        bind.execute(sa.text(f"UPDATE {table} SET org_id = :org"), {"org": DEFAULT_ORG_ID})
    bind.execute(
        sa.text("UPDATE users SET org_id = :org WHERE role = 'staff'"), {"org": DEFAULT_ORG_ID}
    )


def _row_level_security() -> None:
    """The tenant role (created once per server when this user may create roles), its rights
    on every table, and one policy per tenant table (tenancy.RLS_POLICIES)."""
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{TENANT_ROLE}') THEN
                CREATE ROLE {TENANT_ROLE} NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END
        $$;
        """
    )
    grant_tenant_rights()
    for table, condition in RLS_POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_read ON {table} FOR SELECT TO {TENANT_ROLE} USING ({condition})"
        )
        op.execute(
            f"CREATE POLICY tenant_change ON {table} FOR UPDATE TO {TENANT_ROLE} "
            f"USING ({condition}) WITH CHECK (true)"
        )
        op.execute(
            f"CREATE POLICY tenant_delete ON {table} FOR DELETE TO {TENANT_ROLE} "
            f"USING ({condition})"
        )
        op.execute(
            f"CREATE POLICY tenant_insert ON {table} FOR INSERT TO {TENANT_ROLE} WITH CHECK (true)"
        )


def grant_tenant_rights() -> None:
    """Let the tenant role use the schema's tables and sequences (later migrations that add
    tables call this again)."""
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{TENANT_ROLE}') THEN
                EXECUTE 'GRANT USAGE ON SCHEMA ' || quote_ident(current_schema())
                    || ' TO {TENANT_ROLE}';
                EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA '
                    || quote_ident(current_schema()) || ' TO {TENANT_ROLE}';
                EXECUTE 'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA '
                    || quote_ident(current_schema()) || ' TO {TENANT_ROLE}';
            END IF;
        END
        $$;
        """
    )
    # A table owner that is not a superuser needs membership to SET ROLE to it.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE 'GRANT {TENANT_ROLE} TO ' || quote_ident(current_user);
            END IF;
        EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN NULL;
        END
        $$;
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in RLS_POLICIES:
            for policy in ("tenant_read", "tenant_change", "tenant_delete", "tenant_insert"):
                op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.drop_table("referrals")
    for table in _PLAIN_ORG_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_org_id"))
            batch.drop_column("org_id")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("share_with_network")
    for table in _ORG_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"fk_{table}_org_id_organizations"), type_="foreignkey")
            batch.drop_index(op.f(f"ix_{table}_org_id"))
            batch.drop_column("org_id")
    op.drop_table("organizations")
