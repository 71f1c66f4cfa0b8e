"""Row-level security corrections found by the access matrix (tests/security): the audit log
and referrals policies of 0004 become the store's rules (`recommender.store.tenancy`).

- audit_log: 0004 let any transaction with a user id and no house (an applicant's) read every
  entry of every house, so that the ORM's `INSERT ... RETURNING id` of an applicant's entry
  would pass. The store now writes audit entries without reading them back
  (`AuditLog.audit`), and a house reads the entries its staff made; applicants none.
- referrals: 0004 let the receiving house read a referral in any state, including one still
  waiting for the applicant's consent (with its note about the application) and one the
  applicant refused. Now the referring house sees its referrals, the receiving house those
  opened to it (open, accepted, declined), the owning applicant those of their applications.

(PostgreSQL only; SQLite relies on the store.)

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
_OWNED = (
    "SELECT o.application_id FROM application_owners o "
    f"WHERE {_USER} <> '' AND o.user_id::text = {_USER}"
)

# Frozen here: a later change of a rule needs its own migration. Table -> (new, 0004's).
POLICIES: dict[str, tuple[str, str]] = {
    "audit_log": (
        f"({_ORG} <> '' AND org_id = {_ORG})",
        f"({_ORG} <> '' AND org_id = {_ORG}) OR ({_ORG} = '' AND {_USER} <> '')",
    ),
    "referrals": (
        f"({_ORG} <> '' AND (from_org = {_ORG} OR "
        f"(to_org = {_ORG} AND status IN ('open', 'accepted', 'declined')))) "
        f"OR application_id IN ({_OWNED})",
        f"({_ORG} <> '' AND (from_org = {_ORG} OR to_org = {_ORG})) "
        f"OR application_id IN ({_OWNED})",
    ),
}


def _replace_policy(table: str, condition: str) -> None:
    for policy in ("tenant_read", "tenant_change", "tenant_delete"):
        op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
    op.execute(
        f"CREATE POLICY tenant_read ON {table} FOR SELECT TO {TENANT_ROLE} USING ({condition})"
    )
    op.execute(
        f"CREATE POLICY tenant_change ON {table} FOR UPDATE TO {TENANT_ROLE} "
        f"USING ({condition}) WITH CHECK (true)"
    )
    op.execute(
        f"CREATE POLICY tenant_delete ON {table} FOR DELETE TO {TENANT_ROLE} USING ({condition})"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, (condition, _) in POLICIES.items():
            _replace_policy(table, condition)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, (_, condition_0004) in POLICIES.items():
            _replace_policy(table, condition_0004)
