"""Row-level security: an applicant's transaction no longer reads the audit log.

0004's policy on `audit_log` let any transaction with a user id and no house (an applicant's)
read every entry of every house, so that the ORM's `INSERT ... RETURNING id` of an
applicant's entry would pass. The store now writes audit entries without reading them back
(`AuditLog.audit`), and the policy is the store's rule (`tenancy.audit_visible`): a house reads
the entries its staff made; applicants none. (PostgreSQL only; SQLite relies on the store.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TENANT_ROLE = "peyvand_tenant"  # recommender.store.tenancy.TENANT_ROLE
_ORG = "coalesce(current_setting('peyvand.org_id', true), '')"
_USER = "coalesce(current_setting('peyvand.user_id', true), '')"

# Frozen here: a later change of the rule needs its own migration.
AUDIT_POLICY = f"({_ORG} <> '' AND org_id = {_ORG})"
_AUDIT_POLICY_0004 = f"({_ORG} <> '' AND org_id = {_ORG}) OR ({_ORG} = '' AND {_USER} <> '')"


def _replace_audit_policy(condition: str) -> None:
    for policy in ("tenant_read", "tenant_change", "tenant_delete"):
        op.execute(f"DROP POLICY IF EXISTS {policy} ON audit_log")
    op.execute(
        f"CREATE POLICY tenant_read ON audit_log FOR SELECT TO {TENANT_ROLE} USING ({condition})"
    )
    op.execute(
        f"CREATE POLICY tenant_change ON audit_log FOR UPDATE TO {TENANT_ROLE} "
        f"USING ({condition}) WITH CHECK (true)"
    )
    op.execute(
        f"CREATE POLICY tenant_delete ON audit_log FOR DELETE TO {TENANT_ROLE} USING ({condition})"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_audit_policy(AUDIT_POLICY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_audit_policy(_AUDIT_POLICY_0004)
